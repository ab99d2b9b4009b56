"""The SDK's scoping fields: `agent_id` (one or a list) and `app_id` narrow search and get to
the memories their adds carried; an add's `source` is kept as `info.source`; tags stay on the
memories an add produced."""

import uuid

from tests.stack import Stack


def test_agent_and_app_scope_search_and_get(stack: Stack) -> None:
    who = f"u-{uuid.uuid4().hex[:8]}"
    for conversation, agent, app, text in (
        ("c1", "travel-bot", "web", "I am planning a trip to Lisbon in May."),
        ("c2", "cooking-bot", "web", "I am planning a dinner party with Lisbon-style food."),
        ("c3", "travel-bot", "mobile", "I am planning a hike near Lisbon."),
    ):
        task = stack.add(
            who,
            conversation,
            [{"role": "user", "content": text}],
            agent_id=agent,
            app_id=app,
            source="sdk-test",
            tags=["planning"],
        )["task_id"]
        assert stack.wait(task) == "completed"

    def searched(**scope) -> set[str]:
        found = stack.search(who, "What is the user planning in Lisbon?", **scope)
        return {m["conversation_id"] for m in found["memory_detail_list"]}

    assert searched() == {"c1", "c2", "c3"}
    assert searched(agent_id="travel-bot") == {"c1", "c3"}
    assert searched(agent_id=["travel-bot", "cooking-bot"]) == {"c1", "c2", "c3"}
    assert searched(agent_id="travel-bot", app_id="web") == {"c1"}
    assert searched(app_id=["mobile"]) == {"c3"}
    assert searched(agent_id="nobody") == set()
    # Scope and a client's `or` filter together: both hold.
    either = {"or": [{"app_id": "web"}, {"app_id": "mobile"}]}
    assert searched(agent_id="cooking-bot", filter=either) == {"c2"}

    page = stack.ok("/get/memory", {"user_id": who, "agent_id": ["cooking-bot"]})
    assert [m["conversation_id"] for m in page["memory_detail_list"]] == ["c2"]
    assert page["total"] == 1
    memory = page["memory_detail_list"][0]
    assert memory["info"] == {"source": "sdk-test"} and "planning" in memory["tags"]
    assert memory["agent_id"] == "cooking-bot" and memory["app_id"] == "web"
    by_source = stack.ok(
        "/get/memory", {"user_id": who, "filter": {"and": [{"info.source": "sdk-test"}]}}
    )
    assert by_source["total"] == 3


def test_scoping_fields_are_checked(stack: Stack) -> None:
    for scope in ({"agent_id": ["a"] * 101}, {"agent_id": "a\x00b"}, {"app_id": ["x" * 101]}):
        response = stack.post("/search/memory", {"user_id": "u", "query": "q", **scope})
        assert response.json()["code"] == 40000, scope
        assert next(iter(scope)) in response.json()["message"]
    info, who = {"source": "explicit"}, f"u-{uuid.uuid4().hex[:8]}"
    added = stack.add(
        who,
        "c",
        [{"role": "user", "content": "I live in Porto."}],
        source="ignored-when-info-has-one",
        info=info,
        async_mode=False,
    )
    assert added["status"] == "completed"
    (memory,) = stack.ok("/get/memory", {"user_id": who})["memory_detail_list"]
    assert memory["info"] == info  # an info.source sent wins over the deprecated source
