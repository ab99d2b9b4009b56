"""Profiles: templates (the built-in `default`, a project's own from the CLI) bound to users
or agents; a user's values filled from their memories as extraction writes them, edited values
kept, and profiles shown by get/memory and search, deleted, and erased with the user."""

import uuid

from services.cli import main
from tests.stack import Stack


def user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def told(stack: Stack, who: str, text: str, when: str) -> None:
    messages = [{"role": "user", "content": text, "chat_time": when}]
    assert stack.wait(stack.add(who, f"c-{uuid.uuid4().hex[:6]}", messages)["task_id"]) == (
        "completed"
    )


def profile(stack: Stack, who: str, template: str = "default") -> dict:
    (found,) = [
        p
        for p in stack.ok("/get/memory", {"user_id": who})["profile_detail_list"]
        if p["profile_template_id"] == template
    ]
    return found


def test_a_bound_profile_fills_from_memories_and_keeps_edits(stack: Stack) -> None:
    who = user()
    bound = stack.ok(
        "/bind/profile_template",
        {"bind_list": [{"user_id": who, "profile_template_id": "default"}]},
    )
    assert bound["bound"][0]["fields"] == {} and bound["bound"][0]["user_id"] == who
    told(stack, who, "I live in Denver and I work as a nurse.", "2026-01-05 09:00:00")
    told(
        stack, who, "My daughter Emma started piano. I'm vegetarian and I love jazz.", "2026-01-06"
    )
    filled = profile(stack, who)
    assert filled["fields"]["city"] == "Denver" and filled["fields"]["job"] == "nurse"
    assert filled["fields"]["family"] == "daughter Emma"
    assert filled["fields"]["diet"] == "The user is vegetarian"
    assert filled["fields"]["language"] == "English"
    assert "The user loves jazz." in filled["fields"]["preferences"]
    assert filled["sources"]["city"] and filled["sources"]["city"] != "edited"
    found = stack.search(who, "What music does the user like?")["profile_detail_list"]
    assert found[0]["fields"] == filled["fields"]

    edited = stack.ok(
        "/edit/profile",
        {"user_id": who, "profile_template_id": "default", "metadata": {"city": "Boulder"}},
    )
    assert edited["profile"]["fields"]["city"] == "Boulder"
    assert edited["profile"]["sources"]["city"] == "edited"
    told(stack, who, "I moved to Austin last month.", "2026-02-10 09:00:00")
    assert profile(stack, who)["fields"]["city"] == "Boulder"  # an edit stays
    stack.ok(
        "/edit/profile",
        {"user_id": who, "profile_template_id": "default", "remove_fields": ["city"]},
    )
    told(stack, who, "I moved to Seattle this week.", "2026-03-10 09:00:00")
    assert profile(stack, who)["fields"]["city"] == "Seattle"  # removed: filled again

    unknown = stack.post(
        "/edit/profile",
        {"user_id": who, "profile_template_id": "default", "metadata": {"shoe_size": 9}},
    )
    assert unknown.json()["code"] == 40000 and "shoe_size" in unknown.json()["message"]
    assert stack.ok("/delete/profile", {"user_id": who, "profile_template_id": "default"}) == {
        "success": True
    }
    assert stack.ok("/get/memory", {"user_id": who})["profile_detail_list"] == []
    again = stack.post("/delete/profile", {"user_id": who, "profile_template_id": "default"})
    assert again.json()["code"] == 40000 and "not bound" in again.json()["message"]


def test_a_project_template_from_the_cli_and_agents(stack: Stack, capsys, monkeypatch) -> None:
    stack.export_env(monkeypatch)
    project = f"p-{uuid.uuid4().hex[:6]}"
    key = stack.new_key(project)
    assert (
        main(
            [
                "profiles",
                "add-template",
                "--project",
                project,
                "--id",
                "travel",
                "--name",
                "Travel",
                "--field",
                "city=home city",
                "--field",
                "seat",
            ]
        )
        == 0
    )
    assert main(["profiles", "templates", "--project", project]) == 0
    listed = capsys.readouterr().out
    assert "travel  Travel: city, seat" in listed and "default  Default" in listed
    assert (
        main(["profiles", "add-template", "--project", project, "--id", "travel", "--field", "x"])
        == 1
    )

    who = user()
    stack.ok(
        "/bind/profile_template",
        {
            "bind_list": [
                {"user_id": who, "profile_template_id": "travel"},
                {"agent_id": "concierge", "profile_template_id": "travel"},
            ]
        },
        key=key,
    )
    messages = [{"role": "user", "content": "I live in Lisbon and I work as a chef."}]
    assert stack.wait(stack.add(who, "c", messages, key=key)["task_id"], key=key) == "completed"
    (travel,) = stack.ok("/get/memory", {"user_id": who}, key=key)["profile_detail_list"]
    assert travel["fields"] == {"city": "Lisbon"}  # the template has no job field
    agent = stack.ok(
        "/edit/profile",
        {"agent_id": "concierge", "profile_template_id": "travel", "metadata": {"seat": "aisle"}},
        key=key,
    )["profile"]
    assert agent["agent_id"] == "concierge" and agent["fields"] == {"seat": "aisle"}
    # Another project has no such template, nor this user's profile.
    elsewhere = stack.post(
        "/bind/profile_template", {"bind_list": [{"user_id": who, "profile_template_id": "travel"}]}
    )
    assert elsewhere.json()["code"] == 40000 and "no template" in elsewhere.json()["message"]
    assert stack.ok("/get/memory", {"user_id": who})["profile_detail_list"] == []
    both = stack.post(
        "/bind/profile_template",
        {"bind_list": [{"user_id": who, "agent_id": "a", "profile_template_id": "default"}]},
    )
    assert both.json()["code"] == 40000
    stack.ok("/delete/user", {"user_id": who}, key=key)
    assert stack.ok("/get/memory", {"user_id": who}, key=key)["profile_detail_list"] == []
