"""The console's routes and forms: signed in by session only, every form's CSRF token
checked, sign-ins rate limited, and each page showing what the API's services hold."""

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from services.gateway.console import auth
from tests.stack import GUIDE_MESSAGES, Stack

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """The stack's client as a browser that starts with no cookie and shows redirects (a
    client of its own would run on another event loop than the app's Redis connections)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookies = client.cookies
        client.cookies.clear()

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.client.get(path, follow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.client.post(path, follow_redirects=False, **kwargs)


def console(stack: Stack) -> Browser:
    return Browser(stack.client)


def sign_in(stack: Stack, password: str = PASSWORD) -> tuple[Browser, str]:
    """A client signed in, and its session's CSRF token."""
    auth.set_password(stack.runtime.db, PASSWORD)
    client = console(stack)
    form = client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    answer = client.post("/console/login", data={"password": password, "login_token": token[1]})
    assert answer.status_code == 303, answer.text
    csrf = CSRF.search(client.get("/console/projects").text)
    assert csrf
    return client, csrf[1]


def test_every_page_needs_a_session_and_api_keys_are_no_session(stack: Stack) -> None:
    client = console(stack)
    for path in (
        "/console",
        "/console/projects",
        "/console/projects/test-project",
        "/console/projects/test-project/user?id=u",
        "/console/projects/test-project/conversation?user=u&id=c",
        "/console/projects/test-project/playground",
        "/console/projects/test-project/jobs",
        "/console/projects/test-project/usage",
        "/console/projects/test-project/webhooks",
        "/console/projects/test-project/export?user=u",
        f"/console/projects/test-project/memories/{uuid.uuid4()}",
    ):
        # An API key is not a session.
        answer = client.get(path, headers={"Authorization": f"Token {stack.key}"})
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login?next="), path
    for path in ("/console/projects", "/console/projects/test-project/keys", "/console/logout"):
        assert client.post(path, data={"csrf_token": "x"}).status_code in (303, 403), path
    assert client.post("/console/projects", data={"project_id": "p"}).status_code in (303, 403)
    assert "p" not in [p for p in _projects(stack)]
    # A session is not an API key.
    signed, _ = sign_in(stack)
    api = signed.post("/api/openmem/v1/search/memory", json={"user_id": "u", "query": "q"})
    assert api.json()["code"] != 0


def fresh_buckets(stack: Stack) -> None:
    """The console's sign-in limit counted in buckets of this test alone (the stacks share
    one Redis, and every test signs in from the same address)."""
    from services.gateway.console.routes import SIGN_IN_BURST, SIGN_IN_RATE
    from shared.limits import FailedAuthLimit

    stack.client.app.state.console_sign_ins = FailedAuthLimit(  # type: ignore[attr-defined]
        stack.gateway.rate_limiter, SIGN_IN_RATE, SIGN_IN_BURST, counted=uuid.uuid4().hex
    )


def unblock(stack: Stack) -> None:
    """Forget which addresses the console refuses (every test signs in from the same one);
    a right password counts nothing against the address's failures."""
    stack.client.app.state.console_sign_ins = None  # type: ignore[attr-defined]


def _projects(stack: Stack) -> list[str]:
    from services.gateway.console.data import projects

    return [p.id for p in projects(stack.runtime.db)]


def test_sign_in_cookie_csrf_rate_limit_and_sign_out(stack: Stack) -> None:
    auth.set_password(stack.runtime.db, PASSWORD)
    client = console(stack)
    token = re.search(r'name="login_token" value="([^"]+)"', client.get("/console/login").text)
    assert token
    answer = client.post("/console/login", data={"password": PASSWORD, "login_token": token[1]})
    cookie = answer.headers["set-cookie"].lower()
    assert "memos_console=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/console" in cookie
    csrf_found = CSRF.search(client.get("/console/projects").text)
    assert csrf_found
    csrf = csrf_found[1]
    project = f"p-{uuid.uuid4().hex[:6]}"
    # Forms without the session's token, or from another origin, change nothing.
    assert client.post("/console/projects", data={"project_id": project}).status_code == 403
    refused = client.post("/console/projects", data={"project_id": project, "csrf_token": "no"})
    assert refused.status_code == 403
    foreign = client.post(
        "/console/projects",
        data={"project_id": project, "csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and project not in _projects(stack)
    made = client.post("/console/projects", data={"project_id": project, "csrf_token": csrf})
    assert made.headers["location"] == f"/console/projects/{project}"
    assert project in _projects(stack)
    # Signing out ends the session.
    assert client.post("/console/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/console/projects").status_code == 303
    # A sign-in form must carry the token its page set.
    fresh_buckets(stack)
    other = console(stack)
    assert other.post("/console/login", data={"password": PASSWORD}).status_code == 403
    # Wrong passwords: 401, then 429 past the limit, even with the right one.
    page = other.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    codes = [
        other.post(
            "/console/login", data={"password": "wrong", "login_token": token[1]}
        ).status_code
        for _ in range(6)
    ]
    assert codes[0] == 401 and codes[-1] == 429, codes
    late = other.post("/console/login", data={"password": PASSWORD, "login_token": token[1]})
    assert late.status_code == 429 and "Too many" in late.text
    # A new password ends every session.
    unblock(stack)
    again, _ = sign_in(stack)
    auth.set_password(stack.runtime.db, PASSWORD + "!")
    assert again.get("/console/projects").status_code == 303


def test_keys_users_memories_and_erasure(stack: Stack) -> None:
    client, csrf = sign_in(stack)
    project = f"c-{uuid.uuid4().hex[:6]}"
    client.post("/console/projects", data={"project_id": project, "csrf_token": csrf})
    shown = client.post(
        f"/console/projects/{project}/keys", data={"name": "app", "csrf_token": csrf}
    )
    key = re.search(r'id="new-key">(mpg-[^<]+)<', shown.text)
    assert key and "curl" in shown.text and "MemOSClient" in shown.text
    overview = client.get(f"/console/projects/{project}").text
    assert "app" in overview and key[1][:12] in overview and key[1] not in overview  # once

    user = f"u-{uuid.uuid4().hex[:6]}"
    task = stack.add(user, "trip", GUIDE_MESSAGES, key=key[1])["task_id"]
    assert stack.wait(task, key=key[1]) == "completed"
    overview = client.get(f"/console/projects/{project}").text
    assert user in overview
    # The key's use shows before the usage counts are flushed to SQL.
    assert re.search(r"<td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d</td>\s*<td>active", overview)
    page = client.get(f"/console/projects/{project}/user", params={"id": user}).text
    assert "trip" in page and "全家" in page
    memory_id = re.search(r"/memories/([0-9a-f-]{36})", page)
    assert memory_id
    detail = client.get(f"/console/projects/{project}/memories/{memory_id[1]}").text
    assert "Sources" in detail and "#m-" in detail
    conversation = client.get(
        f"/console/projects/{project}/conversation", params={"user": user, "id": "trip"}
    ).text
    assert conversation.index("我想暑假出去玩") < conversation.index("带上孩子和老人")

    # Filters: archived memories only, then none of a tag nobody has.
    edited = client.post(
        f"/console/projects/{project}/memories/{memory_id[1]}",
        data={"csrf_token": csrf, "action": "archive"},
    )
    assert edited.status_code == 303
    archived = client.get(
        f"/console/projects/{project}/user", params={"id": user, "status": "archived"}
    ).text
    assert memory_id[1] in archived
    tagged = client.get(
        f"/console/projects/{project}/user", params={"id": user, "tag": "nothing-here"}
    ).text
    assert memory_id[1] not in tagged and "No memory matches." in tagged
    renamed = client.post(
        f"/console/projects/{project}/memories/{memory_id[1]}",
        data={
            "csrf_token": csrf,
            "action": "edit",
            "title": "出行",
            "content": "全家出游",
            "status": "activated",
        },
    )
    assert renamed.status_code == 303
    detail = client.get(f"/console/projects/{project}/memories/{memory_id[1]}").text
    assert "全家出游" in detail and "It replaced nothing." not in detail  # history kept

    exported = client.get(f"/console/projects/{project}/export", params={"user": user})
    body = exported.json()
    assert body["user_id"] == user and len(body["conversations"]["trip"]) == len(GUIDE_MESSAGES)
    assert any(m["id"] == memory_id[1] for m in body["memories"])

    kept = client.post(
        f"/console/projects/{project}/erase",
        data={"csrf_token": csrf, "user_id": user, "confirm": "not the id"},
    )
    assert "Not+erased" in kept.headers["location"] or "Not%20erased" in kept.headers["location"]
    erased = client.post(
        f"/console/projects/{project}/erase",
        data={"csrf_token": csrf, "user_id": user, "confirm": user},
    )
    assert erased.status_code == 303
    page = client.get(erased.headers["location"]).text
    assert "Erased:" in page and "No memory matches." in page and "No messages." in page

    # A key of another project is not revoked through this one's page.
    from services.gateway.console.data import keys

    theirs = keys(stack.runtime.db, "test-project")[0]
    client.post(f"/console/projects/{project}/keys/{theirs.id}/revoke", data={"csrf_token": csrf})
    assert keys(stack.runtime.db, "test-project")[0].revoke_time is None
    key_id = re.search(rf"/console/projects/{project}/keys/([0-9a-f-]+)/revoke", overview)
    assert key_id
    client.post(f"/console/projects/{project}/keys/{key_id[1]}/revoke", data={"csrf_token": csrf})
    assert "revoked" in client.get(f"/console/projects/{project}").text


def test_jobs_page_lists_and_replays_dead_letters(stack: Stack) -> None:
    from shared.db.models import Job
    from shared.dead_letters import record_failure

    client, csrf = sign_in(stack)
    user = f"j-{uuid.uuid4().hex[:6]}"
    task = stack.add(user, "c", [{"role": "user", "content": "我住在杭州。"}])["task_id"]
    assert stack.wait(task) == "completed"
    with stack.runtime.db.transaction() as session:
        job = session.get(Job, task)
        assert job is not None
        record_failure(session, job, "the model timed out")
    page = client.get("/console/projects/test-project/jobs").text
    assert "the model timed out" in page and task in page
    replayed = client.post(
        "/console/projects/test-project/jobs/replay", data={"csrf_token": csrf, "task_id": task}
    )
    assert (
        "Replayed+1" in replayed.headers["location"]
        or "Replayed%201" in replayed.headers["location"]
    )
    assert stack.wait(task) == "completed"


@pytest.mark.parametrize("path", ["/console/projects/nope", "/console/projects/bad%20id"])
def test_unknown_projects_lead_back_to_the_list(stack: Stack, path: str) -> None:
    client, _ = sign_in(stack)
    answer = client.get(path)
    assert answer.status_code == 303 and "/console/" in answer.headers["location"]


def test_webhooks_are_added_listed_and_removed_in_the_console(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.runtime.settings, "allow_private_urls", True)
    client, csrf = sign_in(stack)
    page = "/console/projects/test-project/webhooks"
    url = f"http://127.0.0.1:9/{uuid.uuid4().hex}"
    refused = client.post(page, data={"url": url, "events": ["user.erased"]})
    assert refused.status_code == 403
    made = client.post(
        page, data={"url": url, "events": ["user.erased"], "description": "crm", "csrf_token": csrf}
    )
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', made.text)
    assert made.status_code == 200 and secret and url in made.text
    listed = client.get(page).text
    assert url in listed and "user.erased" in listed and secret[1] not in listed  # once
    hook_id = re.search(r"/webhooks/([0-9a-f-]{36})/delete", listed)
    assert hook_id
    removed = client.post(f"{page}/{hook_id[1]}/delete", data={"csrf_token": csrf})
    assert removed.status_code == 303 and url not in client.get(page).text
    bad = client.post(page, data={"url": "ftp://x", "csrf_token": csrf})
    assert bad.status_code == 400 and "only http and https" in bad.text
