"""The console's pages under /console: signed in by session cookie (never by API key), every
form checked for its CSRF token, every write through the services the API routes use."""

import hmac
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from services.gateway.console import auth, data
from services.gateway.deps import Gateway, gateway_of
from services.gateway.memories import service as memories
from services.gateway.memories.schemas import DeleteMemoryRequest, UpdateMemoryRequest
from services.gateway.messages.service import get_messages
from services.gateway.usage import last_day
from services.gateway.webhooks import service as webhooks
from services.gateway.webhooks.schemas import (
    CreateWebhookRequest,
    GetDeliveriesRequest,
    ReplayDeliveriesRequest,
)
from shared.clock import now_ms
from shared.db.models import ApiKey
from shared.dead_letters import failed_jobs, replay
from shared.errors import APIError, RateLimited
from shared.limits import FailedAuthLimit
from shared.memories import to_item
from shared.schemas import SearchMemoryRequest
from shared.webhooks import EVENTS

HERE = Path(__file__).parent
COOKIE = "memos_console"
LOGIN_COOKIE = "memos_console_login"  # the sign-in form's CSRF token (no session yet)
PROJECT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
API_PREFIX = "/api/openmem/v1"
SIGN_IN_RATE, SIGN_IN_BURST = 0.05, 5  # failed sign-ins per address: 5, then one per 20 s

templates = Jinja2Templates(directory=HERE / "templates")


def _when(ms: int | None) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters["when"] = _when
templates.env.filters["q"] = lambda value: quote(str(value), safe="")


class SignInRequired(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


class BadForm(Exception):
    """A form without its session's CSRF token (or from another origin)."""


def _gateway(request: Request) -> Gateway:
    return gateway_of(request)


def signed_in(request: Request) -> auth.SignedIn:
    found = auth.signed_in(_gateway(request).runtime.db, request.cookies.get(COOKIE))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return found


Admin = Annotated[auth.SignedIn, Depends(signed_in)]


async def checked_form(request: Request, admin: Admin) -> dict[str, str]:
    """The posted form, refused unless it carries the session's CSRF token and, when the
    browser says where it comes from, comes from this console."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise BadForm()
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not hmac.compare_digest(fields.get("csrf_token", ""), admin.csrf_token):
        raise BadForm()
    return fields


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def page(
    request: Request, template: str, admin: auth.SignedIn | None, status: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {"csrf": admin.csrf_token if admin else "", "signed_in": admin is not None, **context},
        status_code=status,
    )


def _project(request: Request, project_id: str) -> str:
    if not PROJECT_ID.match(project_id) or not data.project_exists(
        _gateway(request).runtime.db, project_id
    ):
        raise SignInRequired("/console/projects")  # an unknown project: back to the list
    return project_id


def to(path: str, **query: str) -> RedirectResponse:
    suffix = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items() if v)
    return RedirectResponse(path + (f"?{suffix}" if suffix else ""), status_code=303)


router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "", error: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, login_token=token, next=next, error=error)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console", max_age=3600
    )
    return response


def _sign_in_limit(request: Request) -> FailedAuthLimit:
    state = request.app.state
    if getattr(state, "console_sign_ins", None) is None:
        state.console_sign_ins = FailedAuthLimit(
            _gateway(request).rate_limiter,
            SIGN_IN_RATE,
            SIGN_IN_BURST,
            counted="console-sign-in",
        )
    limit: FailedAuthLimit = state.console_sign_ins
    return limit


@router.post("/login")
async def login(
    request: Request,
    password: Annotated[str, Form()] = "",
    login_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(login_token, expected):
        raise BadForm()
    limit, db = _sign_in_limit(request), _gateway(request).runtime.db
    address = request.client.host if request.client else "unknown"
    try:
        await limit.refuse_if_blocked(address)
        if not await run_in_threadpool(auth.check_password, db, password):
            await limit.count_failure(address)
            return page(
                request,
                "login.html",
                None,
                login_token=expected,
                next=next,
                error="Wrong password.",
                status=401,
            )
    except RateLimited as exc:
        return page(
            request,
            "login.html",
            None,
            login_token=expected,
            next=next,
            status=429,
            error=f"Too many failed sign-ins from this address; try again in {exc.retry_after}s.",
        )
    token = await run_in_threadpool(auth.open_session, db)
    target = next if next.startswith("/console/") and not next.startswith("//") else ""
    response = to(target or "/console/projects")
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
        max_age=auth.SESSION_HOURS * 3600,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
def logout(request: Request, _: CheckedForm) -> Response:
    auth.close_session(_gateway(request).runtime.db, request.cookies.get(COOKIE))
    response = to("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
@router.get("/")
def home(_: Admin) -> Response:
    return to("/console/projects")


@router.get("/projects")
def projects_page(request: Request, admin: Admin, error: str = "") -> Response:
    rows = data.projects(_gateway(request).runtime.db)
    return page(request, "projects.html", admin, projects=rows, error=error)


@router.post("/projects")
def create_project(request: Request, form: CheckedForm) -> Response:
    project_id = form.get("project_id", "").strip()
    if not PROJECT_ID.match(project_id):
        return to("/console/projects", error="A project id is 1 to 100 letters, digits, _ . -")
    if not data.create_project(_gateway(request).runtime.db, project_id):
        return to("/console/projects", error=f"Project {project_id} exists already.")
    return to(f"/console/projects/{project_id}")


def _api_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + API_PREFIX


@router.get("/projects/{project_id}")
def project_page(
    request: Request, project_id: str, admin: Admin, q: str = "", error: str = ""
) -> Response:
    project_id = _project(request, project_id)
    db = _gateway(request).runtime.db
    keys = data.keys(db, project_id)
    # This process's uses not flushed yet count too (USAGE_FLUSH_SECONDS).
    pending = request.app.state.usage.key_uses()
    return page(
        request,
        "project.html",
        admin,
        project_id=project_id,
        keys=keys,
        last_used={k.id: max(k.last_use_time or 0, pending.get(k.id, 0)) for k in keys},
        users=data.users(db, project_id, q)[:200],
        q=q,
        error=error,
        api_base=_api_base(request),
    )


@router.post("/projects/{project_id}/keys")
def create_key(request: Request, project_id: str, form: CheckedForm, admin: Admin) -> Response:
    from services.gateway.keys.service import create_key as new_key

    project_id = _project(request, project_id)
    name = form.get("name", "").strip()[:100] or None
    with _gateway(request).runtime.db.transaction() as session:
        row, key = new_key(session, project_id, name)
        prefix = row.prefix
    return page(
        request,
        "key_created.html",
        admin,
        project_id=project_id,
        key=key,
        key_name=name,
        prefix=prefix,
        api_base=_api_base(request),
    )


@router.post("/projects/{project_id}/keys/{key_id}/revoke")
def revoke_key(request: Request, project_id: str, key_id: str, _: CheckedForm) -> Response:
    from services.gateway.keys.service import revoke_key as revoke

    project_id = _project(request, project_id)
    with _gateway(request).runtime.db.transaction() as session:
        key = session.get(ApiKey, key_id)
        if key is not None and key.project_id == project_id:  # this project's keys only
            revoke(session, key.id)
    return to(f"/console/projects/{project_id}")


def _epoch(day: str) -> int | None:
    try:
        return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None


@router.get("/projects/{project_id}/user")
def user_page(
    request: Request,
    project_id: str,
    admin: Admin,
    id: str,
    kind: str = "",
    memory_type: str = "",
    status: str = "",
    conversation: str = "",
    tag: str = "",
    since: str = "",
    until: str = "",
    page_number: Annotated[int, Query(alias="page")] = 1,
    notice: str = "",
) -> Response:
    project_id = _project(request, project_id)
    db = _gateway(request).runtime.db
    upto = _epoch(until)
    query = data.MemoryQuery(
        kind=kind,
        memory_type=memory_type,
        status=status,
        conversation_id=conversation,
        tag=tag,
        since=_epoch(since),
        until=upto + 86_399_999 if upto is not None else None,
        page=max(1, page_number),
    )
    rows, total = data.memories(db, project_id, id, query)
    return page(
        request,
        "user.html",
        admin,
        project_id=project_id,
        user_id=id,
        conversations=data.conversations(db, project_id, id),
        memories=rows,
        total=total,
        pages=max(1, -(-total // data.PAGE)),
        query=query,
        since=since,
        until=until,
        tags=data.tags(db, project_id, id),
        notice=notice,
    )


@router.get("/projects/{project_id}/conversation")
def conversation_page(
    request: Request, project_id: str, admin: Admin, user: str, id: str
) -> Response:
    project_id = _project(request, project_id)
    messages = get_messages(_gateway(request).runtime.db, project_id, user, id, None)
    return page(
        request,
        "conversation.html",
        admin,
        project_id=project_id,
        user_id=user,
        conversation_id=id,
        messages=messages,
    )


@router.get("/projects/{project_id}/memories/{memory_id}")
def memory_page(
    request: Request, project_id: str, memory_id: str, admin: Admin, error: str = ""
) -> Response:
    project_id = _project(request, project_id)
    try:
        item = memories.get_memory(_gateway(request).runtime.db, project_id, memory_id)
    except APIError as exc:
        return page(request, "error.html", admin, message=exc.message, status=404)
    owner = data.owner(_gateway(request).runtime.db, project_id, memory_id)
    return page(
        request, "memory.html", admin, project_id=project_id, m=item, owner=owner, error=error
    )


@router.post("/projects/{project_id}/memories/{memory_id}")
def edit_memory(request: Request, project_id: str, memory_id: str, form: CheckedForm) -> Response:
    project_id = _project(request, project_id)
    gateway = _gateway(request)
    here = f"/console/projects/{project_id}/memories/{memory_id}"
    try:
        if form.get("action") == "delete":
            owner = data.owner(gateway.runtime.db, project_id, memory_id)
            memories.delete_memories(
                gateway.runtime.db,
                gateway.retriever,
                project_id,
                DeleteMemoryRequest(memory_ids=[memory_id]),
            )
            return to(
                f"/console/projects/{project_id}/user",
                id=owner or "",
                notice="Memory deleted.",
            )
        change = (
            {"status": "archived"}
            if form.get("action") == "archive"
            else {
                "title": form.get("title") or None,
                "content": form.get("content") or None,
                "status": form.get("status") or None,
            }
        )
        memories.update_memory(
            gateway.runtime.db,
            gateway.runtime.queue,
            project_id,
            UpdateMemoryRequest(memory_id=memory_id, **change),
        )
    except APIError as exc:
        return to(here, error=exc.message)
    except ValueError as exc:  # the request model refused the edit
        return to(here, error=str(exc).splitlines()[-1])
    return to(here)


@router.post("/projects/{project_id}/erase")
def erase(request: Request, project_id: str, form: CheckedForm) -> Response:
    project_id = _project(request, project_id)
    user_id = form.get("user_id", "")
    if not user_id or form.get("confirm") != user_id:
        return to(
            f"/console/projects/{project_id}/user",
            id=user_id,
            notice="Not erased: type the user id to confirm.",
        )
    gateway = _gateway(request)
    erased = memories.erase_user(gateway.runtime.db, gateway.retriever, project_id, user_id)
    return to(
        f"/console/projects/{project_id}/user",
        id=user_id,
        notice=f"Erased: {erased.messages} messages, {erased.memories} memories.",
    )


@router.get("/projects/{project_id}/export")
def export(request: Request, project_id: str, _: Admin, user: str) -> Response:
    """Everything held for the user, as JSON: conversations with their messages, memories
    (archived versions too) with their sources."""
    project_id = _project(request, project_id)
    db = _gateway(request).runtime.db
    conversations = {
        c.conversation_id: [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "chat_time": m.chat_time,
                "create_time": m.create_time,
            }
            for m in get_messages(db, project_id, user, c.conversation_id, None)
        ]
        for c in data.conversations(db, project_id, user)
    }
    found: list[dict[str, Any]] = []
    page_number = 1
    while True:
        rows, total = data.memories(db, project_id, user, data.MemoryQuery(page=page_number))
        found += [to_item(m) | {"kind": m.kind} for m in rows]
        if page_number * data.PAGE >= total:
            break
        page_number += 1
    body = orjson.dumps(
        {
            "project_id": project_id,
            "user_id": user,
            "conversations": conversations,
            "memories": found,
        },
        option=orjson.OPT_INDENT_2,
    )
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", user)[:60] or "user"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


@router.get("/projects/{project_id}/playground")
def playground(
    request: Request,
    project_id: str,
    admin: Admin,
    user: str = "",
    query: str = "",
    conversation: str = "",
) -> Response:
    """What search/memory answers, exactly, with the evidence behind each relativity."""
    project_id = _project(request, project_id)
    gateway = _gateway(request)
    answer, error = None, ""
    if user and query:
        try:
            request_model = SearchMemoryRequest(
                user_id=user,
                query=query,
                conversation_id=conversation or None,
                include_tool_memory=True,
                return_instruction=True,
                return_full_instruction=True,
                explain=True,
            )
            answer = memories.search(
                gateway.retriever,
                gateway.runtime.settings.max_query_chars,
                project_id,
                request_model,
            )
        except APIError as exc:
            error = exc.message
        except ValueError as exc:
            error = str(exc).splitlines()[-1]
    return page(
        request,
        "playground.html",
        admin,
        project_id=project_id,
        user=user,
        query=query,
        conversation=conversation,
        answer=answer,
        raw=orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode() if answer else "",
        error=error,
        users=[u.user_id for u in data.users(gateway.runtime.db, project_id)[:50]],
    )


@router.get("/projects/{project_id}/jobs")
def jobs_page(request: Request, project_id: str, admin: Admin, notice: str = "") -> Response:
    project_id = _project(request, project_id)
    runtime = _gateway(request).runtime
    return page(
        request,
        "jobs.html",
        admin,
        project_id=project_id,
        view=data.jobs(runtime.db, runtime.queue, project_id),
        letters=failed_jobs(runtime.db, project_id),
        notice=notice,
    )


@router.post("/projects/{project_id}/jobs/replay")
def replay_jobs(request: Request, project_id: str, form: CheckedForm) -> Response:
    project_id = _project(request, project_id)
    runtime = _gateway(request).runtime
    count = replay(runtime.db, runtime.queue, form.get("task_id") or None, project_id)
    return to(f"/console/projects/{project_id}/jobs", notice=f"Replayed {count} job(s).")


@router.get("/projects/{project_id}/usage")
def usage_page(request: Request, project_id: str, admin: Admin) -> Response:
    project_id = _project(request, project_id)
    usage = last_day(_gateway(request).runtime.db, request.app.state.usage, project_id, now_ms())
    peak = max([h["requests"] for h in usage["hours"]] + [1])
    return page(request, "usage.html", admin, project_id=project_id, usage=usage, peak=peak)


def _webhooks_page(
    request: Request, project_id: str, admin: auth.SignedIn, **context: Any
) -> Response:
    db = _gateway(request).runtime.db
    found = webhooks.deliveries(db, project_id, GetDeliveriesRequest(size=50))
    failed = webhooks.deliveries(db, project_id, GetDeliveriesRequest(status="failed", size=1))
    return page(
        request,
        "webhooks.html",
        admin,
        project_id=project_id,
        hooks=webhooks.listed(db, project_id),
        deliveries=found["delivery_list"],
        failed=failed["total"],
        events=EVENTS,
        **context,
    )


@router.get("/projects/{project_id}/webhooks")
def webhooks_page(request: Request, project_id: str, admin: Admin, notice: str = "") -> Response:
    return _webhooks_page(request, _project(request, project_id), admin, notice=notice)


@router.post("/projects/{project_id}/webhooks")
async def add_webhook(request: Request, project_id: str, admin: Admin) -> Response:
    project_id = _project(request, project_id)
    form = await request.form()
    await checked_form(request, admin)
    gateway = _gateway(request)
    try:
        made = webhooks.create(
            gateway.runtime.db,
            project_id,
            CreateWebhookRequest(
                url=str(form.get("url", "")),
                events=[str(e) for e in form.getlist("events")] or None,
                description=str(form.get("description", "")) or None,
            ),
            gateway.runtime.settings.allow_private_urls,
        )
    except APIError as exc:
        return _webhooks_page(request, project_id, admin, error=exc.message, status=400)
    except ValueError as exc:
        return _webhooks_page(request, project_id, admin, error=str(exc), status=400)
    return _webhooks_page(request, project_id, admin, created=made)


@router.post("/projects/{project_id}/webhooks/{webhook_id}/delete")
def delete_webhook(request: Request, project_id: str, webhook_id: str, _: CheckedForm) -> Response:
    project_id = _project(request, project_id)
    try:
        webhooks.remove(_gateway(request).runtime.db, project_id, webhook_id)
    except APIError as exc:
        return to(f"/console/projects/{project_id}/webhooks", notice=exc.message)
    return to(f"/console/projects/{project_id}/webhooks", notice="Endpoint removed.")


@router.post("/projects/{project_id}/webhooks/replay")
def replay_webhooks(request: Request, project_id: str, _: CheckedForm) -> Response:
    project_id = _project(request, project_id)
    count = webhooks.replay(_gateway(request).runtime.db, project_id, ReplayDeliveriesRequest())
    return to(f"/console/projects/{project_id}/webhooks", notice=f"Replayed {count} delivery(ies).")


def install_console(app: FastAPI) -> None:
    """The console's pages, assets and the answers to a signed-out visit or a bad form."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> Response:
        return to("/console/login", next=exc.target)

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, _: BadForm) -> Response:
        return page(
            request,
            "error.html",
            None,
            message="This form has expired or did not come from the console: reload the page "
            "and send it again.",
            status=403,
        )
