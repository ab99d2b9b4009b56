"""Fits the relativity model (services/retriever/ranking.py) on the evaluation dialogues.

For every question, the candidates the retriever would rank are labelled relevant when one of
their source messages is evidence for the question; a logistic regression of the candidates'
evidence (mapped cosine, word coverage, confidence) on those labels gives the weights, so
relativity reads as a probability. Leave-one-user-out predictions show how well that
probability holds on users the fit has not seen.

    python -m tests.eval.calibrate          (prints the weights to put in shared/config.py)
"""

import tempfile
from pathlib import Path

import numpy as np

from services.embedded import EmbeddedRedis
from services.retriever.ranking import cosine_span, features
from shared.embeddings import get_embedder
from shared.lexical import query_terms
from shared.memories import load_memories
from tests.eval.data import QUESTIONS
from tests.eval.ours import ingest
from tests.stack import running_stack

NAMES = ("bias", "dense", "lexical", "confidence")


class StackClient:
    def __init__(self, stack) -> None:
        self.call = stack.ok


def collect(stack) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from shared.db.session import new_session
    from shared.vector_store import get_memory_index

    local_ids = ingest(StackClient(stack), timeout=600)["local_ids"]
    embedder, index = get_embedder(), get_memory_index()
    rows, labels, users = [], [], []
    with new_session() as session:
        for question in QUESTIONS:
            vector = embedder.embed_queries([question["question"]])[0]
            terms, weights = query_terms(question["question"])
            found = index.candidates(vector, terms, "test-project", question["user"], None, 40)
            memories = load_memories(session, "test-project", [c.id for c in found])
            for candidate in found:
                sources = {local_ids.get(s.message_id) for s in memories[candidate.id].sources}
                rows.append(features(candidate, float(candidate.vector @ vector), weights,
                                     cosine_span(embedder)))
                labels.append(float(bool(sources & set(question["evidence"]))))
                users.append(question["user"])
    return np.array(rows), np.array(labels), users


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Logistic regression by Newton's method (a tiny ridge keeps it well-posed)."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weights = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + l2 * weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + l2 * np.eye(len(weights))
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return weights


def predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(weights[0] + x @ weights[1:])))


def reliability(p: np.ndarray, y: np.ndarray) -> list[tuple[str, int, float, float]]:
    bins = [(0, .1), (.1, .3), (.3, .5), (.5, .7), (.7, .9), (.9, 1.01)]
    table = []
    for low, high in bins:
        chosen = (p >= low) & (p < high)
        if chosen.any():
            table.append((f"{low:.1f}-{min(high, 1):.1f}", int(chosen.sum()),
                          float(p[chosen].mean()), float(y[chosen].mean())))
    return table


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis")
        try:
            with running_stack(Path(tmp) / "data", "", redis.url) as stack:
                x, y, users = collect(stack)
        finally:
            redis.stop()
    weights = fit(x, y)
    held_out = np.zeros(len(y))
    for user in sorted(set(users)):
        mask = np.array([u == user for u in users])
        held_out[mask] = predict(fit(x[~mask], y[~mask]), x[mask])
    loss = -np.mean(y * np.log(held_out + 1e-9) + (1 - y) * np.log(1 - held_out + 1e-9))
    print(f"{len(y)} candidates, {int(y.sum())} relevant, over {len(QUESTIONS)} questions")
    print("weights: " + ", ".join(f"{n}={w:.3f}" for n, w in zip(NAMES, weights, strict=True)))
    print(f"leave-one-user-out log loss {loss:.3f} (always guessing the base rate: "
          f"{-np.mean(y * np.log(y.mean()) + (1 - y) * np.log(1 - y.mean())):.3f})")
    print("predicted   n    mean predicted  observed relevant (leave-one-user-out)")
    for band, n, mean_p, observed in reliability(held_out, y):
        print(f"{band:9} {n:4}   {mean_p:14.3f}  {observed:8.3f}")


if __name__ == "__main__":
    main()
