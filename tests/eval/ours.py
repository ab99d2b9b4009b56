"""The `ours` suite of `make eval`: how well the service finds the memories that answer a
question, on our own dialogues.

Starts `memos serve` as a real process on a fresh data directory, sends the dialogues of
tests/eval/data.py through `add/message` (one call per session, in time order, asynchronous, as
a client would), waits for extraction, then asks every question through `search/memory` and
scores the answer by the messages each returned memory came from: evidence recall@1/5/10, MRR,
for changed facts how often the outdated one ranks first, the memory tokens a query returns and
the client-side search latency. Results are printed and written to bench-results/eval.json.

    python -m tests.eval --suite ours [--env KEY=VALUE ...] [--llm-judge] [--out PATH]

`--env` passes settings to the service (e.g. `--env LLM_BASE_URL=... --env LLM_MODEL=...` to
evaluate LLM extraction). `--llm-judge` additionally has that LLM answer each question from
the returned memories and grade the answer against the reference, reporting accuracy.
"""

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.eval import metrics
from tests.eval.common import (
    MEMORY_LIMIT,
    RECALL_AT,
    Client,
    failed,
    fmt,
    fresh_service,
    run_info,
    summarize,
    wait_for_tasks,
)
from tests.eval.data import LANGUAGE, QUESTIONS, USERS

CATEGORIES = ("single", "multi_hop", "time", "updated")


def sessions_in_time_order(users: dict[str, list[dict]]) -> list[tuple[str, dict]]:
    """Every (user, session), ordered by when the session began, so memories are written in
    the order a live deployment would have seen the dialogue."""
    sessions = [(user, session) for user, items in users.items() for session in items]
    return sorted(sessions, key=lambda pair: pair[1]["messages"][0]["chat_time"])


def ingest(client: Client, timeout: float, users: dict[str, list[dict]] = USERS) -> dict:
    """Adds every session, waits for every extraction job, and maps the service's message ids
    back to the dataset's local ids (by position in `get/message`, which keeps order)."""
    started = time.perf_counter()
    tasks = []
    for user, session in sessions_in_time_order(users):
        data = client.call(
            "/add/message",
            {
                "user_id": user,
                "conversation_id": session["conversation_id"],
                "async_mode": True,
                "messages": [
                    {key: m[key] for key in ("role", "content", "chat_time")}
                    for m in session["messages"]
                ],
            },
        )
        tasks.append(data["task_id"])
    accepted = time.perf_counter() - started
    statuses = wait_for_tasks(client, tasks, timeout)
    seconds = time.perf_counter() - started

    local_ids: dict[str, str] = {}
    for user, session in sessions_in_time_order(users):
        stored = client.call(
            "/get/message", {"user_id": user, "conversation_id": session["conversation_id"]}
        )
        stored = stored["message_detail_list"]
        expected = session["messages"]
        if [m["role"] for m in stored] != [m["role"] for m in expected]:
            raise RuntimeError(
                f"{session['conversation_id']}: the stored messages do not match the ones sent"
            )
        local_ids.update({m["id"]: local["id"] for m, local in zip(stored, expected, strict=True)})
    return {
        "sessions": len(tasks),
        "messages": len(local_ids),
        "failed_jobs": failed(statuses),
        "add_seconds": round(accepted, 2),
        "seconds": round(seconds, 2),
        "local_ids": local_ids,
    }


def ask(client: Client, local_ids: dict[str, str], question: dict) -> dict:
    """Searches once, times it from the client, and scores the ranking."""
    started = time.perf_counter()
    data = client.call(
        "/search/memory",
        {
            "user_id": question["user"],
            "query": question["question"],
            "memory_limit_number": MEMORY_LIMIT,
        },
    )
    latency = (time.perf_counter() - started) * 1000
    memories = data["memory_detail_list"][:MEMORY_LIMIT]
    ranking = [{local_ids.get(s["id"], s["id"]) for s in m["sources"]} for m in memories]
    evidence = question["evidence"]
    record = {
        "id": question["id"],
        "user": question["user"],
        "language": LANGUAGE[question["user"]],
        "category": question["category"],
        "question": question["question"],
        "answer": question["answer"],
        "evidence": evidence,
        **{f"recall@{k}": metrics.recall_at(ranking, evidence, k) for k in RECALL_AT},
        "rr": metrics.reciprocal_rank(ranking, evidence),
        "first_evidence_rank": metrics.first_rank(ranking, evidence),
        "tokens": sum(metrics.count_tokens(m["memory_value"]) for m in memories),
        "latency_ms": round(latency, 2),
        "memories": [
            {
                "value": m["memory_value"],
                "memory_time": m.get("memory_time"),
                "relativity": m.get("relativity"),
                "sources": sorted(sources),
            }
            for m, sources in zip(memories, ranking, strict=True)
        ],
    }
    if "stale" in question:
        record["stale"] = question["stale"]
        record["stale_first"] = metrics.stale_first(ranking, evidence, question["stale"])
    return record


def groups(records: list[dict]) -> dict[str, list[dict]]:
    """all, then each category, each language, and each category in each language."""
    languages = sorted({r["language"] for r in records}, reverse=True)
    out = {"all": records}
    out |= {c: [r for r in records if r["category"] == c] for c in CATEGORIES}
    out |= {lang: [r for r in records if r["language"] == lang] for lang in languages}
    out |= {
        f"{c}/{lang}": [r for r in records if r["category"] == c and r["language"] == lang]
        for c in CATEGORIES
        for lang in languages
    }
    return out


# --- LLM judge ---------------------------------------------------------------------------

ANSWER_SYSTEM = (
    "You answer a question about a user using only the memories stored about them. Each memory "
    "starts with the time it was said in brackets; resolve relative times such as 'yesterday', "
    "'last Saturday', '前天' or '上周六' against that time and answer with the calendar date. "
    "When memories disagree, the more recent one is true. Answer in one short sentence, in the "
    "language of the question. If the memories do not hold the answer, say you do not know."
)
JUDGE_SYSTEM = (
    "You grade answers. Given a question, a reference answer and a candidate answer, decide "
    "whether the candidate states the same facts the reference gives for what was asked "
    "(wording, language and extra detail do not matter; a different date, place, number or an "
    "outdated fact is wrong; 'I do not know' is wrong). Reply with JSON only: "
    '{"verdict": "correct"} or {"verdict": "wrong"}.'
)


def memory_lines(record: dict) -> str:
    lines = [f"[{m['memory_time'] or 'time unknown'}] {m['value']}" for m in record["memories"]]
    return "\n".join(lines) or "(no memories)"


def parse_verdict(text: str) -> str:
    """`correct` or `wrong` from the judge's reply; anything unreadable counts as wrong, so a
    misbehaving judge can only lower the score."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            verdict = str(json.loads(match.group(0)).get("verdict", "")).lower()
        except (json.JSONDecodeError, AttributeError):
            verdict = ""
        if verdict in ("correct", "wrong"):
            return verdict
    lowered = text.lower()
    return "correct" if "correct" in lowered and "wrong" not in lowered else "wrong"


def llm_judge(records: list[dict], env: dict[str, str]) -> None:
    """Adds `llm_answer` and `judge` to every record, with the endpoint the service used."""
    from openai import OpenAI

    client = OpenAI(
        base_url=env["LLM_BASE_URL"],
        api_key=env.get("LLM_API_KEY") or os.environ.get("LLM_API_KEY") or "none",
        timeout=float(env.get("LLM_TIMEOUT", "60")),
        max_retries=2,
    )
    model = env["LLM_MODEL"]

    def chat(system: str, user: str) -> str:
        reply = client.chat.completions.create(
            model=model,
            temperature=0,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        )
        return reply.choices[0].message.content or ""

    for done, record in enumerate(records, start=1):
        record["llm_answer"] = chat(
            ANSWER_SYSTEM, f"Memories:\n{memory_lines(record)}\n\nQuestion: {record['question']}"
        ).strip()
        verdict = chat(
            JUDGE_SYSTEM,
            f"Question: {record['question']}\n"
            f"Reference answer: {record['answer']}\n"
            f"Candidate answer: {record['llm_answer']}",
        )
        record["judge"] = parse_verdict(verdict)
        if done % 10 == 0:
            print(f"  judged {done}/{len(records)}", file=sys.stderr)


# --- report --------------------------------------------------------------------------------


def table(
    summaries: dict[str, dict], names: Iterable[str], extra: Callable[[dict], str] | None = None
) -> list[str]:
    head = (
        f"{'group':16} {'n':>3} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6} "
        f"{'stale_first':>11} {'tokens/q':>9}" + (f" {'LLM acc':>8}" if extra else "")
    )
    lines = [head, "-" * len(head)]
    for name in names:
        s = summaries[name]
        lines.append(
            f"{name:16} {s['questions']:>3} {fmt(s['recall@1']):>6} "
            f"{fmt(s['recall@5']):>6} {fmt(s['recall@10']):>6} {fmt(s['mrr']):>6} "
            f"{fmt(s['stale_first']):>11} {s['tokens_per_query']:>9.1f}"
            + (f" {extra(s):>8}" if extra else "")
        )
    return lines


def report(results: dict) -> str:
    summaries = results["summary"]
    ingestion = results["ingestion"]
    judged = "llm_accuracy" in summaries["all"]
    extra = (lambda s: fmt(s.get("llm_accuracy"))) if judged else None
    names = ["all", *CATEGORIES, *sorted((n for n in summaries if n in ("zh", "en")), reverse=True)]
    latency = summaries["all"]["latency_ms"]
    lines = [
        f"\nevaluation: {results['questions']} questions over {len(USERS)} users, "
        f"{ingestion['sessions']} sessions, {ingestion['messages']} messages; "
        f"search/memory with memory_limit_number {MEMORY_LIMIT}, no conversation_id",
        f"ingestion + extraction: {ingestion['seconds']} s ({ingestion['sessions']} adds "
        f"accepted in {ingestion['add_seconds']} s, {ingestion['failed_jobs']} jobs failed)",
        "",
        *table(summaries, names, extra),
        "",
        "by category and language:",
        *table(summaries, [n for n in summaries if "/" in n], extra),
        "",
        f"search latency (client-measured, ms): p50 {latency['p50']}  p95 {latency['p95']}  "
        f"p99 {latency['p99']}",
        "R@k: fraction of the question's evidence messages among the sources of the top k "
        "memories; MRR: 1/rank of the first memory sourced from the evidence (0 if not in the "
        f"top {MEMORY_LIMIT});",
        "stale_first (updated only): fraction where a memory from the outdated message ranks "
        "above the newer evidence, or the evidence is missing (lower is better);",
        f"tokens/q: tokens of the memory_value of the returned memories ({metrics.TOKEN_RULE}).",
    ]
    if judged:
        lines.append(
            "LLM acc: the LLM answered from the returned memories and judged its answer "
            "against the reference (correct/wrong)."
        )
    return "\n".join(lines)


def run(env: dict[str, str], *, judge: bool, timeout: float, out: Path) -> dict:
    """The whole suite on its own fresh service: ingest, ask, (judge,) report, write `out`."""
    with fresh_service(env) as client:
        print(f"ingesting {sum(len(s) for s in USERS.values())} sessions ...", file=sys.stderr)
        ingestion = ingest(client, timeout)
        local_ids = ingestion.pop("local_ids")
        for warm_up in ("warm up", "预热"):  # first queries pay one-off costs
            client.call("/search/memory", {"user_id": "zh1", "query": warm_up})
        print(f"asking {len(QUESTIONS)} questions ...", file=sys.stderr)
        records = [ask(client, local_ids, q) for q in QUESTIONS]
    if judge:
        print(f"judging with {env['LLM_MODEL']} ...", file=sys.stderr)
        llm_judge(records, env)

    results = {
        **run_info(env),
        "questions": len(records),
        "ingestion": ingestion,
        "summary": {name: summarize(group) for name, group in groups(records).items()},
        "per_question": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(report(results))
    print(f"\nwritten to {out}")
    return results
