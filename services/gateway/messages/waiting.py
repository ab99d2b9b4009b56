"""Sync adds (`async_mode: false`) wait for their jobs on the event loop. One poller per loop
reads the status of every job waited for in one query a tick, on a pool thread for the few
milliseconds of that query: sixty waiting adds hold no thread, and cost one query a tick
instead of sixty pool threads sleeping between their own (which starved key lookups and
every sync endpoint of anyio's forty)."""

import asyncio
import logging

from anyio import to_thread
from sqlalchemy import select

from shared.db.models import Job
from shared.db.session import Database
from shared.errors import TaskNotFound

log = logging.getLogger(__name__)
POLL_INTERVAL = 0.05  # seconds between two reads: what a sync add may wait past its job


def _statuses(db: Database, task_ids: list[str]) -> dict[str, str]:
    with db.session() as session:
        return dict(
            session.execute(select(Job.id, Job.status).where(Job.id.in_(task_ids))).tuples().all()
        )


class JobWaiter:
    """The jobs waited for on the gateway's event loop, and the task that polls them."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[str, list[asyncio.Future[str]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def wait(self, task_id: str, timeout: float) -> str:
        """The job's status once it is no longer running, or "running" after `timeout`."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(task_id, []).append(future)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            return "running"
        finally:
            self._forget(task_id, future)

    def _forget(self, task_id: str, future: asyncio.Future[str]) -> None:
        futures = self._waiting.get(task_id, [])
        if future in futures:
            futures.remove(future)
        if not futures:
            self._waiting.pop(task_id, None)

    async def _poll(self) -> None:
        while self._waiting:
            await asyncio.sleep(POLL_INTERVAL)
            task_ids = list(self._waiting)
            if not task_ids:
                continue
            try:
                statuses = await to_thread.run_sync(_statuses, self._db, task_ids)
            except Exception:
                log.exception("could not read job statuses", extra={"jobs": len(task_ids)})
                continue
            for task_id in task_ids:
                status = statuses.get(task_id)
                if status != "running":
                    self._answer(task_id, status)

    def _answer(self, task_id: str, status: str | None) -> None:
        for future in self._waiting.pop(task_id, []):
            if future.done():
                continue
            if status is None:  # erased while its add waited
                future.set_exception(TaskNotFound(f"task '{task_id}' not found"))
            else:
                future.set_result(status)
