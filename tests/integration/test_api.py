"""The openmem v1 contract against the whole in-process pipeline (real SQL, Redis, Qdrant)."""

import time
import uuid

import orjson
from fastapi.testclient import TestClient

from tests.integration.test_adds import TOOL_DIALOGUE
from tests.integration.test_knowledge import data_url, knowledgebase, settle
from tests.stack import GUIDE_MESSAGES, Stack


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_guide_example_family_trip_comes_first(stack: Stack) -> None:
    user, conversation = unique("memos_user_123"), "memos_conversation_123"
    started = time.monotonic()
    task = stack.add(user, conversation, GUIDE_MESSAGES)
    assert task["success"] is True and task["status"] == "running"
    # Searchable within 2 s of the add: poll search itself, as a client would.
    memories = []
    while time.monotonic() - started < 2.0 and not memories:
        memories = stack.search(user, "国庆去哪玩", conversation_id=conversation)[
            "memory_detail_list"
        ]
    assert memories, "no memory searchable within 2 s"
    first = memories[0]
    assert first["memory_value"].startswith("[user观点]")
    assert "暑假" in first["memory_value"] and "全家" in first["memory_value"]
    assert "孩子" in first["memory_value"] and "老人" in first["memory_value"]
    relativities = [m["relativity"] for m in memories]
    assert relativities == sorted(relativities, reverse=True)
    assert all(0 <= r <= 1 for r in relativities)
    # A fact about the user's family: a profile fact.
    assert first["status"] == "activated" and first["memory_type"] == "UserMemory"
    assert first["conversation_id"] == conversation
    assert isinstance(first["create_time"], int) and first["create_time"] > 1_700_000_000_000
    # The user's three turns, with the assistant's around them as context.
    assert [s["content"] for s in first["sources"]] == [m["content"] for m in GUIDE_MESSAGES]
    # Relativity is a probability: a client keeping memories above 0.5 keeps this one.
    assert first["relativity"] >= 0.5

    messages = stack.ok("/get/message", {"user_id": user, "conversation_id": conversation})[
        "message_detail_list"
    ]
    assert [(m["role"], m["content"]) for m in messages] == [
        (m["role"], m["content"]) for m in GUIDE_MESSAGES
    ]
    assert all(len(m["createTime"]) == 19 and isinstance(m["create_time"], int) for m in messages)


def test_instruction_and_full_instruction_follow_the_query_language(stack: Stack) -> None:
    user = unique("u")
    stack.wait(stack.add(user, "c1", GUIDE_MESSAGES)["task_id"])
    data = stack.search(
        user,
        "国庆去哪玩好？",
        return_instruction=True,
        return_full_instruction=True,
        return_matches=False,
    )
    assert data["memory_detail_list"] == []
    assert data["instruction"].startswith("任务：回答用户“国庆去哪玩好？”")
    assert "全家" in data["instruction"] and "备注" in data["instruction"]
    assert "国庆去哪玩好？" in data["full_instruction"]
    assert "澄清" in data["full_instruction"] and "全家" in data["full_instruction"]

    english = stack.search(user, "Where should we travel?", return_instruction=True)
    assert english["instruction"].startswith("Task: answer the user's question")
    assert english["full_instruction"] is None


def test_english_dialogue_and_time_from_chat_time(stack: Stack) -> None:
    user = unique("en")
    messages = [
        {
            "role": "user",
            "content": "I moved to Berlin last year and my daughter started school there.",
            "chat_time": "2025-03-02 10:00:00",
        },
        {
            "role": "assistant",
            "content": "That sounds exciting! Berlin has great family activities.",
            "chat_time": "2025-03-02 10:00:05",
        },
    ]
    stack.wait(stack.add(user, "c-en", messages)["task_id"])
    found = stack.search(user, "Which city does my kid go to school in?")["memory_detail_list"]
    assert found[0]["memory_value"] == (
        "The user moved to Berlin last year (2024) and the user's daughter started school there."
    )
    assert found[0]["memory_time"] == "2025-03-02 10:00:00"
    assert "berlin" in found[0]["tags"]


def test_an_english_question_finds_the_english_fact_before_a_chinese_trip(stack: Stack) -> None:
    user = unique("mixed")
    stack.wait(stack.add(user, "trip", GUIDE_MESSAGES)["task_id"])
    stack.wait(
        stack.add(
            user,
            "family",
            [
                {
                    "role": "user",
                    "content": "I am allergic to peanuts, and my daughter Emma just "
                    "started learning piano.",
                },
                {"role": "assistant", "content": "That's lovely! How old is she?"},
                {
                    "role": "user",
                    "content": "She is 7. We live in Hangzhou now, moved from Beijing last year.",
                },
            ],
        )["task_id"]
    )
    found = stack.search(user, "What should I cook for dinner for my kid?")["memory_detail_list"]
    assert "peanuts" in found[0]["memory_value"]
    assert any(m["memory_value"].startswith("Emma is 7.") for m in found)


def test_conversation_memories_rank_higher(stack: Stack) -> None:
    user = unique("u")
    for conversation, drink in (
        ("conv-a", "我喜欢喝美式咖啡，不加糖。"),
        ("conv-b", "我喜欢喝拿铁咖啡，加燕麦奶。"),
    ):
        stack.wait(stack.add(user, conversation, [{"role": "user", "content": drink}])["task_id"])
    for conversation in ("conv-a", "conv-b"):
        found = stack.search(user, "推荐一款咖啡", conversation_id=conversation)[
            "memory_detail_list"
        ]
        assert found[0]["conversation_id"] == conversation
        assert found[0]["relativity"] > found[1]["relativity"]


def test_near_identical_memories_are_shown_once(stack: Stack) -> None:
    user = unique("u")
    same = [{"role": "user", "content": "我喜欢喝美式咖啡，不加糖。"}]
    stack.wait(stack.add(user, "conv-a", same)["task_id"])
    stack.wait(stack.add(user, "conv-b", same)["task_id"])
    found = stack.search(user, "推荐一款咖啡")["memory_detail_list"]
    assert len(found) == 1


def test_limit_and_relativity_threshold(stack: Stack) -> None:
    user = unique("u")
    facts = [
        "我对花生过敏。",
        "我在学钢琴。",
        "我养了一只猫。",
        "我下个月去上海出差。",
        "我喜欢爬山。",
        "我女儿上小学三年级。",
        "我在互联网公司做产品经理。",
    ]
    for i, fact in enumerate(facts):
        stack.wait(stack.add(user, f"c{i}", [{"role": "user", "content": fact}])["task_id"])
    assert len(stack.search(user, "我的生活")["memory_detail_list"]) == 6  # default limit
    assert len(stack.search(user, "我的生活", memory_limit_number=3)["memory_detail_list"]) == 3
    everything = stack.search(user, "花生过敏", memory_limit_number=25)["memory_detail_list"]
    assert everything[0]["memory_value"] == "[user观点]用户对花生过敏。"
    threshold = everything[1]["relativity"] + 0.0001
    strict = stack.search(user, "花生过敏", relativity=threshold)["memory_detail_list"]
    assert [m["id"] for m in strict] == [everything[0]["id"]]


EVIDENCE = [
    "cosine",
    "meaning",
    "bm25",
    "word_share",
    "named",
    "probability",
    "model_relativity",
    "conversation_boost",
    "recency_boost",
    "confidence",
    "relativity",
]
LISTS = ("memory_detail_list", "preference_detail_list", "tool_memory_detail_list")
FLIGHT = [
    {"role": "user", "content": "I prefer window seats when I fly, and I don't like spicy food."},
    {"role": "assistant", "content": "Got it."},
    {"role": "user", "content": "We are flying to Tokyo in March for a conference."},
]
DESK = [{"role": "user", "content": "Flights to Tokyo are booked through the travel desk."}]
FLIGHT_SKILL = b"""---
name: book-a-flight
description: How to book a flight for a trip through the booking tool
---
1. Search the flight, 2. choose the seat, 3. pay with the company card.
"""


def test_explain_shows_the_evidence_behind_every_relativity(stack: Stack) -> None:
    """`explain`: every item of every list found (the user's facts, preferences, tool
    memories, a memory another user shared, a knowledge base's chunk and skill) says why it
    got its relativity; without it, no item does. A retriever process answers the same."""
    user, sharer = unique("u"), unique("sharer")
    kb = knowledgebase(stack)
    try:
        for who, conversation, messages, sharing in (
            (user, "c1", FLIGHT, {}),
            (user, "c2", TOOL_DIALOGUE, {}),
            (sharer, "shared", DESK, {"allow_public": True}),
        ):
            task = stack.add(who, conversation, messages, **sharing)["task_id"]
            assert stack.wait(task) == "completed"
        files = [
            {"name": "flights.txt", "content": data_url(b"Flights over six hours fly business.")},
            {"name": "flight.md", "type": "skill", "content": data_url(FLIGHT_SKILL)},
        ]
        settle(stack, stack.ok("/add/knowledgebase-file", {"knowledgebase_id": kb, "file": files}))
        body = {
            "user_id": user,
            "query": "Book me a flight to Tokyo",
            "conversation_id": "c1",
            "memory_limit_number": 25,
            "include_tool_memory": True,
            "include_skill": True,
            "knowledgebase_ids": [kb],
        }

        explained = stack.search(**body, explain=True)
        items = [m for key in (*LISTS, "skill_detail_list") for m in explained[key]]
        assert all(explained[key] for key in (*LISTS, "skill_detail_list"))
        scopes = {m["scope"] for m in explained["memory_detail_list"]}
        assert scopes == {"user", "public", "knowledgebase"}
        for m in items:
            evidence = m["evidence"]
            assert list(evidence) == EVIDENCE, m["memory_value"]
            assert evidence["relativity"] == m["relativity"]
            total = evidence["model_relativity"] + evidence["conversation_boost"]
            assert m["relativity"] == round(min(1.0, total + evidence["recency_boost"]), 4)
            assert evidence["recency_boost"] == 0  # the query asks for nothing recent
            boosted = m["conversation_id"] == "c1"
            assert evidence["conversation_boost"] == (
                stack.settings.conversation_boost if boosted else 0
            )
            assert evidence["confidence"] == m["confidence"]
            assert 0 <= evidence["word_share"] <= 1 and evidence["bm25"] >= 0
            assert 0 < evidence["probability"] < 1 and isinstance(evidence["named"], bool)
            assert -1 <= evidence["cosine"] <= 1

        plain = stack.search(**body)
        assert all("evidence" not in m for key in (*LISTS, "skill_detail_list") for m in plain[key])
        assert [(m["id"], m["relativity"]) for m in plain["memory_detail_list"]] == [
            (m["id"], m["relativity"]) for m in explained["memory_detail_list"]
        ]

        # The gateway's request, as it sends it to a retriever process (RetrieverClient.search).
        from services.retriever.app import create_app
        from shared.schemas import SearchMemoryRequest, SearchQuery

        query = SearchQuery(
            project_id="test-project", request=SearchMemoryRequest(**body, explain=True)
        )
        answer = TestClient(create_app(stack.runtime)).post(
            "/internal/search",
            content=orjson.dumps(query.model_dump()),
            headers={
                "X-Internal-Token": stack.settings.internal_token,
                "Content-Type": "application/json",
            },
        )
        assert answer.status_code == 200, answer.text
        remote = answer.json()["data"]
        for key in (*LISTS, "skill_detail_list"):
            assert [m["evidence"] for m in remote[key]] == [m["evidence"] for m in explained[key]]
    finally:  # what this test shares, other tests' searches would find
        stack.ok("/delete/user", {"user_id": sharer})
        stack.ok("/delete/knowledgebase", {"knowledgebase_id": kb})


def test_same_add_twice_creates_nothing_twice(stack: Stack) -> None:
    user = unique("u")
    first = stack.add(user, "c", GUIDE_MESSAGES)
    stack.wait(first["task_id"])
    again = stack.add(user, "c", GUIDE_MESSAGES)
    assert again["task_id"] == first["task_id"] and again["status"] == "completed"
    messages = stack.ok("/get/message", {"user_id": user, "conversation_id": "c"})
    assert len(messages["message_detail_list"]) == 6
    page = stack.ok("/get/memory", {"user_id": user, "size": 50})
    assert page["total"] == 1
    assert page["memory_detail_list"][0]["memory_type"] == "UserMemory"


def test_sliding_window_with_chat_time_stores_each_message_once(stack: Stack) -> None:
    user = unique("u")
    window = [
        {
            "role": "user",
            "content": f"第{i}条：我喜欢第{i}种水果。",
            "chat_time": f"2025-05-01 10:0{i}:00",
        }
        for i in range(4)
    ]
    stack.wait(stack.add(user, "c", window[:2])["task_id"])
    stack.wait(stack.add(user, "c", window)["task_id"])
    messages = stack.ok("/get/message", {"user_id": user, "conversation_id": "c"})[
        "message_detail_list"
    ]
    assert [m["content"] for m in messages] == [m["content"] for m in window]
    assert (
        stack.ok(
            "/get/message", {"user_id": user, "conversation_id": "c", "message_limit_number": 2}
        )["message_detail_list"]
        == (messages[2:])
    )


def test_sync_mode_and_legacy_spelling(stack: Stack) -> None:
    user = unique("u")
    data = stack.add(
        user, "c", [{"role": "user", "content": "我每天早上跑步五公里。"}], asyncMode=False
    )
    assert data["status"] == "completed"
    assert stack.search(user, "运动习惯")["memory_detail_list"]


def test_get_memory_pages_and_filters(stack: Stack) -> None:
    user = unique("u")
    for i in range(5):
        stack.wait(
            stack.add(
                user,
                f"c{i}",
                [{"role": "user", "content": f"我收藏了第{i}本小说。"}],
                agent_id="agent-x" if i % 2 else "agent-y",
                info={"n": i},
                tags=["books"],
            )["task_id"]
        )
    page = stack.ok("/get/memory", {"user_id": user, "page": 2, "size": 2})
    assert (page["total"], page["size"], page["current"], page["pages"]) == (5, 2, 2, 3)
    assert len(page["memory_detail_list"]) == 2
    assert page["memory_detail_list"][0]["sources"][0]["role"] == "user"

    by_agent = stack.ok(
        "/get/memory", {"user_id": user, "filter": {"and": [{"agent_id": "agent-x"}]}}
    )
    assert by_agent["total"] == 2
    by_info = stack.ok(
        "/get/memory", {"user_id": user, "filter": {"or": [{"info.n": 0}, {"info.n": 4}]}}
    )
    assert by_info["total"] == 2
    by_tag = stack.ok(
        "/get/memory",
        {
            "user_id": user,
            "filter": {"and": [{"tags": {"contains": "books"}}, {"create_time": {"gte": 0}}]},
        },
    )
    assert by_tag["total"] == 5
    future = stack.ok(
        "/get/memory", {"user_id": user, "filter": {"and": [{"create_time": {"gt": "2999-01-01"}}]}}
    )
    assert future["total"] == 0
    searched = stack.search(
        user, "小说", filter={"and": [{"agent_id": "agent-y"}]}, memory_limit_number=25
    )["memory_detail_list"]
    assert len(searched) == 3 and all(m["agent_id"] == "agent-y" for m in searched)


def test_delete_by_ids_user_and_filter(stack: Stack) -> None:
    user = unique("u")
    plans = [
        "我计划去云南大理旅行，住在洱海边。",
        "我计划去云南丽江看玉龙雪山。",
        "我计划去云南西双版纳看野生大象。",
    ]
    for i, plan in enumerate(plans):
        stack.wait(
            stack.add(user, "c", [{"role": "user", "content": plan}], info={"trip": i})["task_id"]
        )
    ids = [m["id"] for m in stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]]
    assert stack.ok("/delete/memory", {"memory_ids": ids[:1]}) == {"success": True}
    remaining = stack.search(user, "云南旅行")["memory_detail_list"]
    assert ids[0] not in {m["id"] for m in remaining} and len(remaining) == 2
    stack.ok("/delete/memory", {"filter": {"and": [{"info.trip": 1}]}})
    assert stack.ok("/get/memory", {"user_id": user})["total"] == 1
    stack.ok("/delete/memory", {"user_ids": [user], "memory_ids": ids})  # legacy shape
    assert stack.ok("/get/memory", {"user_id": user})["total"] == 0
    assert stack.search(user, "云南旅行")["memory_detail_list"] == []
    stack.wait(stack.add(user, "c2", [{"role": "user", "content": "我周末去爬黄山。"}])["task_id"])
    stack.ok("/delete/memory", {"user_id": user})
    assert stack.ok("/get/memory", {"user_id": user})["total"] == 0


def test_projects_are_isolated(stack: Stack) -> None:
    other = stack.new_key(unique("other-project"))
    user = unique("shared-user-name")
    task = stack.add(user, "c", GUIDE_MESSAGES)
    stack.wait(task["task_id"])
    mine = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    assert mine

    assert stack.search(user, "国庆去哪玩", key=other)["memory_detail_list"] == []
    assert stack.ok("/get/memory", {"user_id": user}, key=other)["total"] == 0
    assert (
        stack.ok("/get/message", {"user_id": user, "conversation_id": "c"}, key=other)[
            "message_detail_list"
        ]
        == []
    )
    status = stack.post("/get/status", {"task_id": task["task_id"]}, key=other)
    assert status.json()["code"] == 50131
    denied = stack.post("/delete/memory", {"memory_ids": [mine[0]["id"]]}, key=other)
    assert denied.status_code == 404 and denied.json()["code"] == 40307
    stack.ok("/delete/memory", {"user_id": user}, key=other)
    stack.ok("/delete/memory", {"filter": {"and": [{"create_time": {"gte": 0}}]}}, key=other)
    assert stack.ok("/get/memory", {"user_id": user})["total"] == len(mine)

    # The same messages in another project are that project's own.
    theirs = stack.add(user, "c", GUIDE_MESSAGES, key=other)
    assert theirs["task_id"] != task["task_id"]


def test_sdk_style_nulls_and_unknown_fields_are_accepted(stack: Stack) -> None:
    user = unique("u")
    body = {
        "messages": [{"role": "user", "content": "我住在杭州。"}],
        "user_id": user,
        "conversation_id": "c",
        "info": None,
        "source": None,
        "app_id": None,
        "agent_id": None,
        "allow_public": False,
        "allow_knowledgebase_ids": None,
        "allow_memory_view": None,
        "tags": None,
        "async_mode": True,
    }
    stack.wait(stack.ok("/add/message", body)["task_id"])
    search = {
        "query": "我住哪",
        "user_id": user,
        "conversation_id": None,
        "agent_id": None,
        "memory_limit_number": 6,
        "include_preference": True,
        "knowledgebase_ids": None,
        "filter": None,
        "relativity": None,
        "include_skill": False,
        "context_format": "memory",
        "source": None,
    }
    assert stack.ok("/search/memory", search)["memory_detail_list"]
    assert (
        stack.ok(
            "/get/memory",
            {
                "user_id": user,
                "include_preference": True,
                "page": 1,
                "size": 10,
                "agent_id": None,
                "filter": None,
            },
        )["total"]
        == 1
    )


def test_feedback_is_stored_and_extracted(stack: Stack) -> None:
    user = unique("u")
    data = stack.ok(
        "/add/feedback",
        {"user_id": user, "conversation_id": "c", "feedback_content": "我其实不喜欢吃辣，请记住。"},
    )
    assert stack.wait(data["task_id"]) == "completed"
    found = stack.search(user, "口味偏好")["memory_detail_list"]
    assert "不喜欢吃辣" in found[0]["memory_value"]


def test_bearer_and_token_schemes(stack: Stack) -> None:
    body = {"task_id": "nope"}
    for header in (f"Token {stack.key}", f"Bearer {stack.key}", f"bearer {stack.key}"):
        response = stack.client.post(
            "/api/openmem/v1/get/status", json=body, headers={"Authorization": header}
        )
        assert response.json()["code"] == 50131  # authenticated, task unknown


def test_openapi_docs(stack: Stack) -> None:
    assert stack.client.get("/docs").status_code == 200
    spec = stack.client.get("/openapi.json").json()
    for path in (
        "add/message",
        "search/memory",
        "get/message",
        "get/memory",
        "delete/memory",
        "get/status",
        "chat",
    ):
        assert f"/api/openmem/v1/{path}" in spec["paths"]
