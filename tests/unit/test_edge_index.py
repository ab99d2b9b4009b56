"""The embedded index: hybrid candidates, deletes, and the HNSW build at start."""

import uuid
from pathlib import Path

import numpy as np

from shared.lexical import document_terms, query_terms
from shared.vector_store.base import IndexedMemory, Query, candidates
from shared.vector_store.edge import INDEX_BACKLOG, EdgeIndex


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


def test_words_score_the_memories_asked_for(tmp_path: Path) -> None:
    """Search asks BM25 scores of the candidates the embedding found and the words did not:
    a query restricted to ids scores exactly those, and scores by how well the words match."""
    index = EdgeIndex(tmp_path / "index", 8)
    vector = np.ones(8, dtype=np.float32)
    painting = point(vector, "Caroline painted a sunset by the lake")
    paint_twice = point(vector, "painting and painting: she paints every day")
    unrelated = point(vector, "the weather was cold")
    index.upsert([painting, paint_twice, unrelated])
    terms = query_terms("What did she paint?")
    (scored,) = index.query([Query(terms, 3, [painting.id, unrelated.id])], "p", "u", None)
    assert [c.id for c in scored] == [painting.id]  # a memory without the words is no hit
    (both,) = index.query([Query(terms, 3)], "p", "u", None)
    assert [c.id for c in both] == [paint_twice.id, painting.id]
    assert both[0].score > both[1].score > 0
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
