"""`memos`: run the service and administer keys and jobs.

memos serve                      the whole pipeline in one process (embedded default)
memos gateway | retriever        one HTTP service (distributed mode)
memos worker [celery args]       an extractor worker (distributed mode)
memos migrate                    apply the SQL migrations
memos mcp                        the memory's tools for agents over MCP on stdin/stdout:
                                 calling MEMOS_BASE_URL with MEMOS_API_KEY, or without it
                                 the pipeline over DATA_DIR in-process (README, "Agents")
memos keys create --project P    create an API key (printed once)
memos keys list [--project P]    list keys, with when each was last used
memos keys revoke KEY_ID         revoke a key (id or its prefix)
memos jobs failed                list dead-lettered jobs
memos jobs replay TASK_ID|--all  send failed jobs to the queue again
memos erase-user --project P --user U
                                 erase everything held for a user (messages, memories,
                                 history, jobs, dead letters, index points)
memos webhooks add --project P --url U [--event E]...
                                 register a webhook endpoint (its secret printed once);
                                 also list, remove, deliveries, replay
memos admin set-password         set the console's admin password (asked twice, or one
                                 line on stdin with --stdin); signs every session out
"""

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.runtime import Runtime


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"


@contextmanager
def _runtime(settings: "Settings") -> Iterator["Runtime"]:
    """The command's runtime, its database migrated, closed when the command ends."""
    from shared.db.migrate import upgrade_database
    from shared.runtime import Runtime

    runtime = Runtime(settings)
    try:
        upgrade_database(runtime.db)
        yield runtime
    finally:
        runtime.close()


def _keys(runtime: "Runtime", args: argparse.Namespace) -> int:
    from services.gateway.keys import repository, service

    with runtime.db.transaction() as session:
        if args.keys_command == "create":
            row, key = service.create_key(session, args.project, args.name)
            print(
                f"project : {row.project_id}\nkey id  : {row.id}\napi key : {key}\n"
                "(shown once: store it now)"
            )
        elif args.keys_command == "list":
            for row in repository.list_keys(session, args.project):
                state = f"revoked {_when(row.revoke_time)}" if row.revoke_time else "active"
                print(
                    f"{row.id}  {row.prefix}…  project={row.project_id}  "
                    f"name={row.name or '-'}  created={_when(row.create_time)}  "
                    f"last used={_when(row.last_use_time)}  {state}"
                )
        else:
            try:
                rows = service.revoke_key(session, args.key_id)
            except LookupError as exc:
                print(exc, file=sys.stderr)
                return 1
            print(f"revoked {rows[0].id} ({rows[0].prefix}…)")
    return 0


def _profiles(runtime: "Runtime", args: argparse.Namespace) -> int:
    """Profile templates of a project: list them (with the built-in `default`), add one."""
    from shared.clock import now_ms
    from shared.db.models import ProfileTemplate
    from shared.profiles import DEFAULT_FIELDS, DEFAULT_ID

    with runtime.db.transaction() as session:
        if args.profiles_command == "add-template":
            fields = []
            for spec in args.field:
                name, _, description = spec.partition("=")
                if not name.strip():
                    print(f"--field {spec!r}: give NAME or NAME=description", file=sys.stderr)
                    return 1
                fields.append({"name": name.strip(), "description": description.strip()})
            if args.id == DEFAULT_ID or session.get(ProfileTemplate, (args.project, args.id)):
                print(f"template {args.id} exists in project {args.project}", file=sys.stderr)
                return 1
            session.add(
                ProfileTemplate(
                    project_id=args.project,
                    id=args.id,
                    name=args.name or args.id,
                    fields=fields,
                    create_time=now_ms(),
                )
            )
            print(f"template {args.id}: {', '.join(f['name'] for f in fields)}")
            return 0
        rows = session.query(ProfileTemplate).filter_by(project_id=args.project).all()
        for template_id, name, fields in [
            (DEFAULT_ID, "Default (built in)", DEFAULT_FIELDS),
            *((t.id, t.name, t.fields) for t in rows),
        ]:
            print(f"{template_id}  {name}: {', '.join(f['name'] for f in fields)}")
    return 0


def _jobs(runtime: "Runtime", args: argparse.Namespace) -> int:
    from shared.dead_letters import failed_jobs, replay

    if args.jobs_command == "failed":
        for job in failed_jobs(runtime.db):
            print(
                f"{job.task_id}  project={job.project_id}  user={job.user_id}  "
                f"attempts={job.attempts}  at={_when(job.fail_time)}  {job.error}"
            )
        return 0
    if not args.all and not args.task_id:
        print("give a TASK_ID or --all", file=sys.stderr)
        return 2
    count = replay(runtime.db, runtime.queue, None if args.all else args.task_id)
    print(f"replayed {count} job(s)")
    return 0


def _admin(runtime: "Runtime", args: argparse.Namespace) -> int:
    import getpass

    from services.gateway.console.auth import set_password

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("new console password: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 2
    try:
        set_password(runtime.db, password)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    # The password `memos serve` printed on a fresh data dir is no longer the password.
    (runtime.settings.data_dir / "console-password").unlink(missing_ok=True)
    print("console password set; every console session is signed out")
    return 0


def _webhooks(runtime: "Runtime", args: argparse.Namespace) -> int:
    from services.gateway.webhooks import service
    from services.gateway.webhooks.schemas import (
        CreateWebhookRequest,
        GetDeliveriesRequest,
        ReplayDeliveriesRequest,
    )
    from shared.errors import APIError

    db, project = runtime.db, args.project
    try:
        if args.webhooks_command == "add":
            request = CreateWebhookRequest(
                url=args.url, events=args.event or None, description=args.description
            )
            made = service.create(db, project, request, runtime.settings.allow_private_urls)
            print(
                f"webhook id : {made['id']}\nurl        : {made['url']}\n"
                f"events     : {', '.join(made['events'])}\nsecret     : {made['secret']}\n"
                "(the secret signs every delivery; shown once: store it now)"
            )
        elif args.webhooks_command == "list":
            for hook in service.listed(db, project):
                print(f"{hook['id']}  {hook['url']}  events={','.join(hook['events'])}")
        elif args.webhooks_command == "remove":
            service.remove(db, project, args.webhook_id)
            print(f"removed {args.webhook_id}")
        elif args.webhooks_command == "deliveries":
            found = service.deliveries(
                db, project, GetDeliveriesRequest(status=args.status, size=100)
            )
            for d in found["delivery_list"]:
                print(
                    f"{d['id']}  {d['event_type']}  {d['status']}  attempts={d['attempts']}  "
                    f"event={d['event_id']}  {d['last_error'] or ''}"
                )
        else:
            replay = ReplayDeliveriesRequest(
                delivery_ids=args.delivery_ids or None, webhook_id=args.webhook
            )
            print(f"replayed {service.replay(db, project, replay)} delivery(ies)")
    except (APIError, ValueError) as exc:
        print(getattr(exc, "message", str(exc)), file=sys.stderr)
        return 2
    return 0


def _erase_user(runtime: "Runtime", args: argparse.Namespace) -> int:
    from services.gateway.memories.search_client import retriever_for
    from services.gateway.memories.service import erase_user

    retriever = retriever_for(runtime)
    try:
        erased = erase_user(runtime.db, retriever, args.project, args.user)
    except RuntimeError as exc:  # the embedded index is open in a running `memos serve`
        print(
            f"{exc}\nnothing was erased: stop `memos serve`, or call POST "
            "/api/openmem/v1/delete/user on it",
            file=sys.stderr,
        )
        return 1
    finally:
        retriever.close()
    print(
        f"erased user {args.user} of project {args.project}: {erased.messages} message(s), "
        f"{erased.memories} memory(ies), {erased.jobs} job(s), "
        f"{erased.dead_letters} dead letter(s)"
    )
    return 0


def _size_math_thread_pools(settings: "Settings") -> None:
    """BLAS and OpenMP pools of EMBEDDING_THREADS threads (1 by default), set before numpy
    loads: the service multiplies small matrices, and pool threads spinning on a busy machine
    made a worker's embeddings six times slower (measured: 300 jobs took 16.4 s, 10.2 s with
    one thread). An explicit OPENBLAS_NUM_THREADS (or OMP_, MKL_) wins."""
    threads = str(max(1, settings.embedding_threads))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, threads)


def main(argv: list[str] | None = None) -> int:
    from shared.config import Settings

    settings = Settings()  # the one read of the environment; everything below is given it
    _size_math_thread_pools(settings)
    parser = argparse.ArgumentParser(
        prog="memos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run everything in one process (embedded default)")
    sub.add_parser("gateway", help="run the gateway HTTP service")
    sub.add_parser("retriever", help="run the retriever HTTP service")
    sub.add_parser("worker", help="run an extractor worker; other options go to Celery")
    sub.add_parser("migrate", help="apply the SQL migrations")
    sub.add_parser("mcp", help="serve the memory's tools to an agent over MCP (stdio)")
    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create")
    create.add_argument("--project", required=True)
    create.add_argument("--name")
    listing = keys_sub.add_parser("list")
    listing.add_argument("--project")
    revoke = keys_sub.add_parser("revoke")
    revoke.add_argument("key_id")
    jobs = sub.add_parser("jobs", help="inspect and replay failed extraction jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_sub.add_parser("failed")
    replay_cmd = jobs_sub.add_parser("replay")
    replay_cmd.add_argument("task_id", nargs="?")
    replay_cmd.add_argument("--all", action="store_true")
    profiles = sub.add_parser("profiles", help="a project's profile templates")
    profiles_sub = profiles.add_subparsers(dest="profiles_command", required=True)
    templates = profiles_sub.add_parser("templates", help="list the templates")
    templates.add_argument("--project", default="default")
    template = profiles_sub.add_parser("add-template", help="add a template")
    template.add_argument("--project", default="default")
    template.add_argument("--id", required=True)
    template.add_argument("--name")
    template.add_argument(
        "--field", action="append", required=True, help="NAME or NAME=description (repeat)"
    )
    erase = sub.add_parser("erase-user", help="erase everything held for one user")
    erase.add_argument("--project", required=True)
    erase.add_argument("--user", required=True)
    webhooks = sub.add_parser("webhooks", help="a project's webhook endpoints")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    hook_add = webhooks_sub.add_parser("add", help="register an endpoint")
    hook_add.add_argument("--project", required=True)
    hook_add.add_argument("--url", required=True)
    hook_add.add_argument("--event", action="append", help="an event type (repeat; default all)")
    hook_add.add_argument("--description")
    hook_list = webhooks_sub.add_parser("list", help="list the endpoints")
    hook_list.add_argument("--project", required=True)
    hook_remove = webhooks_sub.add_parser("remove", help="remove an endpoint")
    hook_remove.add_argument("--project", required=True)
    hook_remove.add_argument("webhook_id")
    hook_deliveries = webhooks_sub.add_parser("deliveries", help="the latest deliveries")
    hook_deliveries.add_argument("--project", required=True)
    hook_deliveries.add_argument("--status", choices=["pending", "delivered", "failed"])
    hook_replay = webhooks_sub.add_parser("replay", help="send failed deliveries again")
    hook_replay.add_argument("--project", required=True)
    hook_replay.add_argument("--webhook")
    hook_replay.add_argument("delivery_ids", nargs="*", type=int)
    admin = sub.add_parser("admin", help="the console's admin")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    password = admin_sub.add_parser("set-password", help="set the admin's password")
    password.add_argument("--stdin", action="store_true", help="read it from standard input")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "worker":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    # What the service writes (SQLite, the queue's AOF, the index, the key file) is for its
    # own user only.
    os.umask(0o077)
    if args.command in ("gateway", "retriever", "worker"):
        from shared.internal_http import unsafe_token_reason

        reason = unsafe_token_reason(args.command, settings)
        if reason:
            print(reason, file=sys.stderr)
            return 2
    if args.command in ("serve", "gateway", "retriever", "worker", "mcp"):
        from shared.logs import configure_logging

        configure_logging(settings)  # to stderr: stdout is `memos mcp`'s protocol
    if args.command == "mcp":
        from services.gateway.mcp.server import run_stdio

        return run_stdio(settings)
    if args.command == "serve":
        from services.embedded import serve

        serve(settings)
        return 0
    if args.command in ("gateway", "retriever"):
        return _run_http(args.command, settings)
    if args.command == "worker":
        if not settings.qdrant_url and settings.vector_store != "remote":
            parser.error(
                "a worker process needs a shared index: QDRANT_URL (a Qdrant server) "
                "or VECTOR_STORE=remote with INDEX_URL (a retriever that owns one); "
                "the embedded mode runs its worker inside `memos serve`"
            )
        return _run_worker(settings, extra)
    with _runtime(settings) as runtime:
        if args.command == "migrate":
            print("database is at the latest migration")
            return 0
        if args.command == "erase-user":
            return _erase_user(runtime, args)
        if args.command == "profiles":
            return _profiles(runtime, args)
        if args.command == "admin":
            return _admin(runtime, args)
        if args.command == "webhooks":
            return _webhooks(runtime, args)
        return _keys(runtime, args) if args.command == "keys" else _jobs(runtime, args)


def _run_worker(settings: "Settings", celery_args: list[str]) -> int:
    from services.extractor.tasks import prepare_children, register_tasks
    from services.extractor.webhooks import WebhookSender
    from shared.metrics import start_worker_metrics_server
    from shared.runtime import Runtime

    if settings.worker_metrics_port:
        start_worker_metrics_server(settings.worker_metrics_port, settings.host)
    runtime = Runtime(settings)  # before the pool forks; each child loads its own models
    webhooks = WebhookSender(runtime)  # a thread of this process (the pool's children have none)
    try:
        prepare_children(runtime, register_tasks(runtime))
        webhooks.start()
        runtime.queue.app.worker_main(["worker", "--loglevel=INFO", *celery_args])
    finally:
        webhooks.stop()
        runtime.close()
    return 0


def _run_http(name: str, settings: "Settings") -> int:
    from services.embedded import serve_http
    from services.gateway.app import create_app as gateway_app
    from services.retriever.app import create_app as retriever_app
    from shared.runtime import Runtime

    runtime = Runtime(settings)
    try:
        serve_http(gateway_app(runtime) if name == "gateway" else retriever_app(runtime), settings)
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
