"""One memory by id, edits (content, title, status) that keep history and reach the index
through a job, and extraction that stores nothing."""

import uuid

from shared.db.models import Memory
from shared.vector_store import Query
from tests.stack import API, Stack


def user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def remembered(stack: Stack, who: str, text: str) -> dict:
    task = stack.add(who, "c1", [{"role": "user", "content": text}])["task_id"]
    assert stack.wait(task) == "completed"
    (memory,) = stack.ok("/get/memory", {"user_id": who})["memory_detail_list"]
    return memory


def by_id(stack: Stack, memory_id: str, key: str | None = None):
    auth = {"Authorization": f"Token {key or stack.key}"} if key != "" else {}
    return stack.client.get(f"{API}/get/memory/{memory_id}", headers=auth)


def test_one_memory_by_id_with_its_sources(stack: Stack) -> None:
    who = user()
    memory = remembered(stack, who, "我对花生过敏，女儿Emma在学钢琴。")
    response = by_id(stack, memory["id"])
    assert response.status_code == 200
    found = response.json()["data"]
    assert found == memory  # the same item get/memory lists, history included
    assert found["sources"][0]["content"] == "我对花生过敏，女儿Emma在学钢琴。"
    missing = by_id(stack, "no-such-memory")
    assert (missing.status_code, missing.json()["code"]) == (404, 40307)
    other = by_id(stack, memory["id"], key=stack.new_key(f"p-{uuid.uuid4().hex[:6]}"))
    assert other.status_code == 404  # another project's memory does not exist for it
    assert by_id(stack, memory["id"], key="").status_code == 401


def test_an_edit_keeps_the_id_and_history_and_search_follows_it(stack: Stack) -> None:
    who = user()
    memory = remembered(stack, who, "I go rock climbing every Saturday morning.")
    edited = stack.ok(
        "/update/memory",
        {"memory_id": memory["id"], "content": "The user swims at the lake on Sundays."},
    )
    assert edited["success"] is True
    assert edited["memory"]["id"] == memory["id"]
    assert edited["memory"]["memory_value"] == "The user swims at the lake on Sundays."
    assert [h["memory_value"] for h in edited["memory"]["history"]] == [memory["memory_value"]]
    assert stack.wait(edited["task_id"]) == "completed"
    (first, *_) = stack.search(who, "Where does the user swim?")["memory_detail_list"]
    assert (first["id"], first["memory_value"]) == (memory["id"], edited["memory"]["memory_value"])
    expected = stack.runtime.embedder.embed_passages([edited["memory"]["memory_value"]])[0]
    with stack.runtime.db.session() as session:
        project = session.get(Memory, memory["id"]).project_id
    (point,) = stack.runtime.index.query([Query(expected, 1)], project, who, None)[0]
    assert point.id == memory["id"] and float(point.vector @ expected) > 0.999  # embedded anew
    listed = stack.ok("/get/memory", {"user_id": who})["memory_detail_list"]
    assert sorted((m["status"], m["superseded_by"]) for m in listed) == [
        ("activated", None),
        ("archived", memory["id"]),  # listed as archived history, as an update's is
    ]
    titled = stack.ok("/update/memory", {"memory_id": memory["id"], "title": "Swimming"})
    assert titled["memory"]["memory_key"] == "Swimming"
    assert len(titled["memory"]["history"]) == 2


def test_archiving_hides_a_memory_from_search_until_it_is_activated(stack: Stack) -> None:
    who = user()
    memory = remembered(stack, who, "我每周三晚上去游泳。")
    archived = stack.ok("/update/memory", {"memory_id": memory["id"], "status": "archived"})
    assert archived["memory"]["status"] == "archived" and archived["memory"]["history"] == []
    assert stack.wait(archived["task_id"]) == "completed"
    assert stack.search(who, "游泳")["memory_detail_list"] == []
    assert by_id(stack, memory["id"]).json()["data"]["status"] == "archived"
    back = stack.ok("/update/memory", {"memory_id": memory["id"], "status": "activated"})
    assert stack.wait(back["task_id"]) == "completed"
    assert [m["id"] for m in stack.search(who, "游泳")["memory_detail_list"]] == [memory["id"]]


def test_edits_that_cannot_be_made(stack: Stack) -> None:
    who = user()
    memory = remembered(stack, who, "I live in Seattle.")
    nothing = stack.post("/update/memory", {"memory_id": memory["id"]})
    assert (nothing.status_code, nothing.json()["code"]) == (400, 40000)
    bad = stack.post("/update/memory", {"memory_id": memory["id"], "status": "deleted"})
    assert bad.status_code == 400
    missing = stack.post("/update/memory", {"memory_id": "nope", "content": "x"})
    assert (missing.status_code, missing.json()["code"]) == (404, 40307)
    edited = stack.ok("/update/memory", {"memory_id": memory["id"], "content": "Lives in Denver."})
    (old,) = edited["memory"]["history"]
    earlier = stack.post("/update/memory", {"memory_id": old["id"], "content": "Lives in Austin."})
    assert earlier.status_code == 400 and memory["id"] in earlier.json()["message"]
    stack.ok("/delete/memory", {"memory_ids": [memory["id"]]})
    with stack.runtime.db.session() as session:  # a delete takes the history with it
        assert session.get(Memory, old["id"]) is None


def test_extraction_without_storing(stack: Stack) -> None:
    with stack.runtime.db.session() as session:
        before = session.query(Memory).count()
    extracted = stack.ok(
        "/extract/memory",
        {
            "messages": [
                {"role": "user", "content": "I am allergic to peanuts."},
                {"role": "assistant", "content": "Noted, no peanuts."},
                {"role": "user", "content": "我下个月搬到上海。"},
            ]
        },
    )
    found = extracted["memory_detail_list"]
    (preference,) = extracted["preference_detail_list"]
    assert (preference["preference_type"], preference["preference"]) == (
        "explicit_preference",
        "The user is allergic to peanuts.",
    )
    assert [m["memory_value"] for m in found] == [
        "The user is allergic to peanuts.",
        "[user观点]用户下个月搬到上海。",
    ]
    assert found[0]["memory_type"] == "UserMemory" and found[0]["sources"] == [0, 1]
    with stack.runtime.db.session() as session:
        assert session.query(Memory).count() == before
    too_many = stack.post(
        "/extract/memory",
        {"messages": [{"role": "user", "content": "x" * (stack.settings.max_message_chars + 1)}]},
    )
    assert (too_many.status_code, too_many.json()["code"]) == (413, 40305)


def test_rerank_orders_documents_by_the_search_model(stack: Stack) -> None:
    documents = [
        "The Eiffel Tower is in Paris.",
        "Peanut allergies can cause anaphylaxis; avoid peanuts entirely.",
        "我们全家国庆节去三亚度假。",
        "A recipe for peanut-free cookies with oats and raisins.",
    ]
    ranked = stack.ok(
        "/rerank", {"query": "What snacks are safe with a peanut allergy?", "documents": documents}
    )["results"]
    assert sorted(r["index"] for r in ranked) == [0, 1, 2, 3]
    assert {ranked[0]["index"], ranked[1]["index"]} == {1, 3}
    assert ranked[-1]["index"] in (0, 2)
    scores = [r["relevance_score"] for r in ranked]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert all(documents[r["index"]] == r["document"] for r in ranked)
    (first,) = stack.ok("/rerank", {"query": "国庆去哪玩", "documents": documents, "top_n": 1})[
        "results"
    ]
    assert first["index"] == 2
    too_many = stack.post(
        "/rerank", {"query": "q", "documents": ["d"] * (stack.settings.max_rerank_documents + 1)}
    )
    assert (too_many.status_code, too_many.json()["code"]) == (413, 40305)
    assert stack.post("/rerank", {"query": "q", "documents": []}).status_code == 400
