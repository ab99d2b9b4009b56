"""The embedded index: hybrid candidates, deletes, scores of given memories, and the HNSW build
at start."""

import uuid
from pathlib import Path

import numpy as np
import pytest

from shared.config import Settings
from shared.lexical import document_terms, query_terms
from shared.vector_store.base import IndexedMemory, MemoryIndex, Query, candidates
from shared.vector_store.edge import INDEX_BACKLOG, EdgeIndex
from shared.vector_store.qdrant_client_index import QdrantClientIndex


def point(vector: np.ndarray, text: str, user: str = "u") -> IndexedMemory:
    return IndexedMemory(
        str(uuid.uuid4()),
        vector / np.linalg.norm(vector),
        document_terms(text),
        {
            "project_id": "p",
            "user_id": user,
            "status": "activated",
            "conversation_id": "c",
            "confidence": 0.8,
            "create_time": 1,
        },
    )


def test_candidates_come_from_words_and_embedding(tmp_path: Path) -> None:
    index = EdgeIndex(tmp_path / "index", 8)
    rng = np.random.default_rng(0)
    by_words = point(rng.normal(size=8).astype(np.float32), "我对花生过敏")
    by_vector = point(np.ones(8, dtype=np.float32), "unrelated words")
    someone_else = point(np.ones(8, dtype=np.float32), "我对花生过敏", user="v")
    index.upsert([by_words, by_vector, someone_else])
    terms = query_terms("花生")
    found = {
        c.id
        for c in candidates(
            index, np.ones(8, dtype=np.float32) / np.sqrt(8), terms, "p", "u", None, limit=1
        )
    }
    assert found == {by_words.id, by_vector.id}
    index.delete([by_words.id])
    assert by_words.id not in {
        c.id
        for c in candidates(index, np.ones(8, dtype=np.float32), terms, "p", "u", None, limit=5)
    }
    index.close()


@pytest.mark.parametrize("kind", ["edge", "qdrant-local"])
def test_words_score_the_memories_asked_for(tmp_path: Path, kind: str) -> None:
    """Search asks BM25 scores of the candidates the embedding found and the words did not:
    scores restricted to ids score exactly those, as the full query scores them."""
    index: MemoryIndex = (
        EdgeIndex(tmp_path / "index", 8)
        if kind == "edge"
        else QdrantClientIndex(Settings(data_dir=tmp_path), 8)
    )
    vector = np.ones(8, dtype=np.float32)
    painting = point(vector, "Caroline painted a sunset by the lake")
    paint_twice = point(vector, "painting and painting: she paints every day")
    unrelated = point(vector, "the weather was cold")
    index.upsert([painting, paint_twice, unrelated])
    terms = query_terms("What did she paint?")
    (scored,) = index.scores([Query(terms, 3, [painting.id, unrelated.id])], "p", "u", None)
    assert list(scored) == [painting.id]  # a memory without the words is no hit
    (both,) = index.query([Query(terms, 3)], "p", "u", None)
    assert [c.id for c in both] == [paint_twice.id, painting.id]
    assert both[0].score > both[1].score > 0
    assert scored[painting.id] == pytest.approx(both[1].score)
    index.close()


def test_graph_is_built_at_start_for_what_came_in_since(tmp_path: Path) -> None:
    path = tmp_path / "index"
    index = EdgeIndex(path, 8)
    rng = np.random.default_rng(1)
    index.upsert([point(rng.normal(size=8).astype(np.float32), "x") for _ in range(INDEX_BACKLOG)])
    index.close()
    assert not (path / "indexed-points").exists()
    EdgeIndex(path, 8).close()  # the start that builds it
    assert (path / "indexed-points").read_text() == str(INDEX_BACKLOG)
