"""Deletes are final: a job accepted before a delete and finishing after it brings nothing
back (by user, by id, by filter), a delete takes the archived versions of what it deletes, and
a user can be erased entirely (API and CLI), checked in every SQL table and the index."""

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from services.cli import main
from services.extractor import service as extractor
from shared.db.models import Job
from tests.stack import Stack

PROJECT = "test-project"  # the project of the stack's key


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def said(text_: str) -> list[dict]:
    return [{"role": "user", "content": text_}]


class HeldJobs:
    """Jobs wait in the worker until released: before they start ("queued") or after they
    read their messages ("extracting"). Every run's result is kept by task id."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.released = threading.Event()
        self.arrived: list[str] = []
        self.results: dict[str, list[bool]] = {}
        self._changed = threading.Condition()

    def arrive(self, key: str) -> None:
        with self._changed:
            self.arrived.append(key)
            self._changed.notify_all()
        self.released.wait(60)

    def wait_for(self, needle: str) -> None:
        with self._changed:
            assert self._changed.wait_for(
                lambda: any(needle in key for key in self.arrived), timeout=30
            ), f"no job with {needle!r} reached the worker"


@contextmanager
def held_jobs(monkeypatch: pytest.MonkeyPatch, where: str) -> Iterator[HeldJobs]:
    gate = HeldJobs(where)
    run, extract = extractor.Extractor.run, extractor.extract

    def held_run(self: extractor.Extractor, task_id: str) -> bool:
        if where == "queued":
            gate.arrive(task_id)
        wrote = run(self, task_id)
        gate.results.setdefault(task_id, []).append(wrote)
        return wrote

    def held_extract(turns, llm):
        gate.arrive(" ".join(t.content for t in turns))
        return extract(turns, llm)

    monkeypatch.setattr(extractor.Extractor, "run", held_run)
    if where == "extracting":
        monkeypatch.setattr(extractor, "extract", held_extract)
    try:
        yield gate
    finally:
        gate.released.set()


def memory_ids(stack: Stack, user: str) -> list[str]:
    return [
        m["id"]
        for m in stack.ok("/get/memory", {"user_id": user, "size": 50})["memory_detail_list"]
    ]


def index_points(stack: Stack, project: str, user: str) -> int:
    """The user's points, counted in the index itself (any status)."""
    index = stack.runtime.index
    if hasattr(index, "_shard"):
        import qdrant_edge as edge

        from shared.vector_store.edge import DIALECT

        return index._shard.count(edge.CountRequest(filter=DIALECT.user_filter(project, user)))
    from shared.vector_store.qdrant_client_index import DIALECT

    return index._client.count(
        index.collection, count_filter=DIALECT.user_filter(project, user), exact=True
    ).count


def found_anywhere(stack: Stack, needles: list[str], project: str, user: str) -> list[str]:
    """Every SQL table row (all tables of the database, read directly) that mentions a
    needle, and the user's points in the index."""
    hits = []
    with stack.runtime.db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                line = " ".join(str(value) for value in row)
                hits += [f"{table}: {line[:120]}" for n in needles if n in line]
    points = index_points(stack, project, user)
    return hits + ([f"index: {points} point(s)"] if points else [])


@pytest.mark.parametrize("where", ["queued", "extracting"])
def test_delete_by_user_wins_over_a_pending_job(stack: Stack, monkeypatch, where) -> None:
    user = unique("u")
    facts = said("I have a dog named Max. I work as a nurse at the city hospital.")
    with held_jobs(monkeypatch, where) as gate:
        task = stack.add(user, "c1", facts)["task_id"]
        gate.wait_for(task if where == "queued" else "dog named Max")
        stack.ok("/delete/memory", {"user_id": user})
        assert stack.ok("/get/status", {"task_id": task})["status"] == "running"
        gate.released.set()
        assert stack.wait(task) == "completed"
    assert memory_ids(stack, user) == []
    assert stack.search(user, "What is my dog called?")["memory_detail_list"] == []
    assert index_points(stack, PROJECT, user) == 0
    # The delete holds back only jobs accepted before it: the same words said again are kept.
    stack.wait(stack.add(user, "c2", facts)["task_id"])
    found = stack.search(user, "What is my dog called?")["memory_detail_list"]
    assert "Max" in found[0]["memory_value"]


def delete_waits_for_the_lock(stack: Stack) -> bool:
    """Whether a delete is waiting for the lock that final writes hold (PostgreSQL; SQLite's
    one writer is a lock of the process, not to be seen from here)."""
    with stack.runtime.db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            return True
        return bool(
            connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        )


def test_a_delete_during_the_final_write_waits_for_it(stack: Stack, monkeypatch) -> None:
    user = unique("u")
    gate, apply = HeldJobs("writing"), extractor._apply

    def held_apply(session, rows, *args):
        gate.arrive(" ".join(m.memory_value for m in rows))
        return apply(session, rows, *args)

    monkeypatch.setattr(extractor, "_apply", held_apply)
    try:
        task = stack.add(user, "c1", said("I have a dog named Max."))["task_id"]
        gate.wait_for("dog named Max")  # inside the job's final transaction, rows unwritten
        delete = threading.Thread(target=stack.ok, args=("/delete/memory", {"user_id": user}))
        delete.start()
        for _ in range(100):  # until the delete waits for the job (5 s at most)
            if delete_waits_for_the_lock(stack):
                break
            time.sleep(0.05)
    finally:
        gate.released.set()
    delete.join(30)
    assert stack.wait(task) == "completed"
    assert memory_ids(stack, user) == [] and index_points(stack, PROJECT, user) == 0


def test_delete_by_id_wins_over_a_job_run_again(stack: Stack, monkeypatch) -> None:
    user = unique("u")
    task = stack.add(user, "c", said("I have a dog named Max."))["task_id"]
    stack.wait(task)
    stack.wait(stack.add(user, "c2", said("I work as a nurse at the city hospital."))["task_id"])
    (dog,) = [
        m["id"]
        for m in stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
        if "dog" in m["memory_value"]
    ]
    with held_jobs(monkeypatch, "queued") as gate:
        with stack.runtime.db.transaction() as session:  # the broker delivers it again
            session.get(Job, task).status = "running"
        stack.runtime.queue.send([task])
        gate.wait_for(task)
        stack.ok("/delete/memory", {"memory_ids": [dog]})
        gate.released.set()
        assert stack.wait(task) == "completed"
    assert gate.results[task][0] is True  # the job ran and wrote, all but the deleted
    assert dog not in memory_ids(stack, user) and len(memory_ids(stack, user)) == 1
    found = stack.search(user, "What is my dog called?", memory_limit_number=25)
    assert all("dog" not in m["memory_value"] for m in found["memory_detail_list"])


def test_delete_by_filter_wins_over_a_pending_job(stack: Stack, monkeypatch) -> None:
    user, tag = unique("u"), unique("secret")
    with held_jobs(monkeypatch, "queued") as gate:
        hidden = stack.add(user, "c1", said("I have a dog named Max."), tags=[tag])["task_id"]
        kept = stack.add(user, "c2", said("I work as a nurse at the city hospital."))["task_id"]
        gate.wait_for(hidden)
        stack.ok("/delete/memory", {"filter": {"and": [{"tags": {"contains": tag}}]}})
        gate.released.set()
        assert stack.wait(hidden) == "completed" and stack.wait(kept) == "completed"
    left = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    assert [m["memory_value"] for m in left] == ["The user works as a nurse at the city hospital."]
    assert (
        stack.search(user, "dog", filter={"and": [{"tags": {"contains": tag}}]})[
            "memory_detail_list"
        ]
        == []
    )


def test_deleting_the_current_memory_takes_its_history(stack: Stack) -> None:
    user = unique("u")
    for conversation, words, when in (
        ("c1", "我住在杭州，离西湖很近。", "2025-01-05 10:00:00"),
        ("c2", "我上个月搬到了上海。", "2025-06-05 10:00:00"),
    ):
        stack.wait(
            stack.add(user, conversation, [{"role": "user", "content": words, "chat_time": when}])[
                "task_id"
            ]
        )
    by_status = {
        m["status"]: m for m in stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    }
    current, old = by_status["activated"], by_status["archived"]
    assert old["superseded_by"] == current["id"]
    stack.ok("/delete/memory", {"memory_ids": [current["id"]]})
    assert stack.ok("/get/memory", {"user_id": user})["total"] == 0
    # Nothing names them but the record of the delete (the ids a late job must not write),
    # and that only until the relay finds no unfinished job older than it.
    assert {
        hit.split(":")[0]
        for hit in found_anywhere(stack, [old["id"], current["id"]], PROJECT, user)
    } <= {"deletions"}
    # The raw messages stay: erasing them is /delete/user.
    assert stack.ok("/get/message", {"user_id": user, "conversation_id": "c1"})[
        "message_detail_list"
    ]


def a_user_with_everything(stack: Stack, monkeypatch) -> tuple[str, str, list[str]]:
    """A user with memories, raw messages, a deletion naming them and a job that failed for
    good (a dead letter); returns (user, phone, every string that identifies their data)."""
    user, phone = unique("erase"), f"555-{uuid.uuid4().int % 10_000:04d}"
    stack.wait(stack.add(user, "c0", said("I have a dog named Max."))["task_id"])

    def unreachable(texts: list[str]) -> None:
        raise ConnectionError("the embedding endpoint does not answer")

    with monkeypatch.context() as broken:
        broken.setattr(stack.runtime.embedder, "embed_passages", unreachable)
        broken.setattr(stack.settings, "job_max_attempts", 1)
        failed = stack.add(user, "c2", said(f"Call me at {phone} after six."))["task_id"]
        assert stack.wait(failed) == "failed"
    # After the failed job, which may be replayed: the relay keeps the deletion for it.
    stack.ok("/delete/memory", {"user_id": user})
    stack.wait(stack.add(user, "c1", said(f"My phone number is {phone}."))["task_id"])
    (memory,) = stack.ok("/get/memory", {"user_id": user})["memory_detail_list"]
    assert phone in memory["memory_value"]
    needles = [user, phone, failed, memory["id"], *(s["id"] for s in memory["sources"])]
    return user, phone, needles


def hold_a_job(stack: Stack, gate: HeldJobs, user: str, phone: str) -> str:
    held = stack.add(user, "c3", said(f"My office number is {phone}-2."))["task_id"]
    gate.wait_for(held if gate.where == "queued" else f"office number is {phone}-2")
    return held


def nothing_left(
    stack: Stack, user: str, phone: str, needles: list[str], held: str, gate: HeldJobs
) -> None:
    gate.released.set()
    assert stack.post("/get/status", {"task_id": held}).json()["code"] == 50131
    for _ in range(600):
        if gate.results.get(held):
            break
        time.sleep(0.05)
    assert gate.results[held] == [False]  # the held job found no task and wrote nothing
    assert found_anywhere(stack, needles, PROJECT, user) == []
    for conversation in ("c0", "c1", "c2", "c3"):
        assert (
            stack.ok("/get/message", {"user_id": user, "conversation_id": conversation})[
                "message_detail_list"
            ]
            == []
        )
    assert stack.search(user, "What is my phone number?")["memory_detail_list"] == []


EVERYWHERE = {
    "messages",
    "memories",
    "memory_sources",
    "memory_tags",
    "jobs",
    "dead_letters",
    "deletions",
    "index",
}


def tables_holding(stack: Stack, needles: list[str], user: str) -> set[str]:
    return {hit.split(":")[0] for hit in found_anywhere(stack, needles, PROJECT, user)}


@pytest.mark.parametrize("where", ["queued", "extracting"])
def test_erase_user_through_the_api_leaves_nothing(stack: Stack, monkeypatch, where) -> None:
    user, phone, needles = a_user_with_everything(stack, monkeypatch)
    with held_jobs(monkeypatch, where) as gate:
        held = hold_a_job(stack, gate, user, phone)
        # The probe sees every place the user is kept, so finding nothing later means something.
        assert not EVERYWHERE - tables_holding(stack, needles, user)
        erased = stack.ok("/delete/user", {"user_id": user})
        assert erased == {"success": True, "messages": 4, "memories": 1, "jobs": 4}
        nothing_left(stack, user, phone, needles, held, gate)
    assert stack.ok("/delete/user", {"user_id": user})["messages"] == 0  # idempotent


def test_erase_user_through_the_cli_leaves_nothing(stack: Stack, monkeypatch, capsys) -> None:
    user, phone, needles = a_user_with_everything(stack, monkeypatch)
    with held_jobs(monkeypatch, "queued") as gate:
        held = hold_a_job(stack, gate, user, phone)
        assert not EVERYWHERE - tables_holding(stack, needles, user)
        stack.export_env(monkeypatch)  # the CLI reads the stack's settings
        stack.runtime.close_index()  # one opener: the CLI's runtime opens it (reopened after)
        assert main(["erase-user", "--project", PROJECT, "--user", user]) == 0
        assert "4 message(s), 1 memory(ies), 4 job(s), 1 dead letter(s)" in capsys.readouterr().out
        nothing_left(stack, user, phone, needles, held, gate)


def test_cli_erasure_refuses_while_a_server_holds_the_embedded_index(tmp_path: Path) -> None:
    """The in-process index has one opener: the CLI says so and erases nothing, rather than
    erase the rows and leave the points."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "QDRANT_URL": "",
        "VECTOR_STORE": "edge",
        "LOG_LEVEL": "WARNING",
    }
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from shared.config import Settings; from shared.runtime import Runtime; "
            "Runtime(Settings()).index; print('open', flush=True); sys.stdin.read()",
        ],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"open"
        erase = subprocess.run(
            [sys.executable, "-m", "services.cli", "erase-user", "--project", "p", "--user", "u"],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=300,
        )
    finally:
        holder.stdin.close()
        holder.wait(60)
    assert erase.returncode == 1, erase.stderr
    assert b"nothing was erased" in erase.stderr


def test_erase_user_needs_a_user_id(stack: Stack) -> None:
    response = stack.post("/delete/user", {})
    assert response.status_code == 400 and response.json()["code"] in (40000, 40002)


def test_what_a_deletion_covers() -> None:
    """The rules a late job's memories are held to, one scope at a time."""
    from shared.db.models import Deletion, Memory
    from shared.memories import deletion_covers

    memory = Memory(
        id="m1",
        user_id="u1",
        agent_id="a1",
        app_id=None,
        tags=["trip", "kids"],
        info={"score": 1, "flag": True, "city": "杭州"},
        create_time=9_000,
    )
    accepted = 1_000  # the job came long before it wrote the memory (at 9 000)

    def covers(**scope) -> bool:
        return deletion_covers(
            Deletion(project_id="p", delete_time=2_000, **scope), memory, accepted
        )

    assert covers(memory_ids=["m0", "m1"]) and not covers(memory_ids=["m0"])
    assert covers(user_id="u1") and not covers(user_id="u2")
    assert covers(filter={"and": [{"tags": {"contains": "kids"}}, {"agent_id": "a1"}]})
    assert not covers(filter={"and": [{"tags": {"contains": "kids"}}, {"agent_id": "a2"}]})
    assert covers(filter={"or": [{"tags": {"contains": "x"}}, {"info.city": "杭州"}]})
    # info as SQL matches it: numbers by value, true only to true, text only to text.
    assert covers(filter={"and": [{"info.score": 1.0}]})
    assert not covers(filter={"and": [{"info.score": True}]})
    assert not covers(filter={"and": [{"info.score": "1"}]})
    assert covers(filter={"and": [{"info.flag": True}]})
    # Time conditions read the memory as of the job's acceptance, before the delete.
    assert covers(filter={"and": [{"create_time": {"lt": 2_000}}]})
    assert not covers(filter={"and": [{"create_time": {"gte": 2_000}}]})
    assert not covers()


def test_deletions_no_job_can_meet_are_forgotten(stack: Stack, monkeypatch) -> None:
    """A deletion matters only to jobs accepted before it: once none is unfinished, the relay
    drops it; while one is held back, the deletions after it stay."""
    from shared.db.models import Deletion
    from shared.memories import forget_spent_deletions

    user = unique("u")
    with held_jobs(monkeypatch, "queued") as gate:
        task = stack.add(user, "c1", said("I have a cat named Tom."))["task_id"]
        gate.wait_for(task)
        stack.ok("/delete/memory", {"user_id": user})
        with stack.runtime.db.transaction() as session:
            forget_spent_deletions(session)
            kept = session.scalars(
                text("SELECT count(*) FROM deletions WHERE user_id = :u"), {"u": user}
            ).one()
        assert kept == 1
        gate.released.set()
        assert stack.wait(task) == "completed"
    with stack.runtime.db.transaction() as session:
        forget_spent_deletions(session)
        assert session.query(Deletion).filter(Deletion.user_id == user).count() == 0
