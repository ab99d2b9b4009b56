"""Prometheus metrics of every process, at /metrics.

Counters and histograms are multiprocess-safe: with PROMETHEUS_MULTIPROC_DIR set (Celery's
prefork children), every process writes its samples there and the collector sums them.
State that is cheaper to read than to track (queue depth, pending jobs, memories per
project) is read at scrape time by the gateway."""

import logging
import os
import threading
import time
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import now_ms
from shared.db.session import Database
from shared.queue import JobQueue
from shared.usage import UsageCounts, kinds_of

log = logging.getLogger(__name__)
FAST = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SLOW = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)

REQUESTS = Counter("memos_http_requests_total", "HTTP requests", ["service", "route", "code"])
LATENCY = Histogram(
    "memos_http_request_seconds", "HTTP request latency", ["service", "route"], buckets=FAST
)
JOBS = Counter("memos_jobs_total", "Extraction jobs by outcome", ["outcome"])
JOB_SECONDS = Histogram(
    "memos_job_seconds", "Time a worker spends on one extraction job", buckets=SLOW
)
LAG = Histogram(
    "memos_add_to_searchable_seconds",
    "From add/message accepted to its memories searchable",
    buckets=SLOW,
)


def project_label(project_id: str, by_project: bool) -> str:
    """The `project` label of a series: the project's name (visible to whoever reads
    /metrics), or with METRICS_PROJECT_LABELS=false (by_project False) empty, which Prometheus
    stores as no label, so every project adds up in one series."""
    return project_id if by_project else ""


PROJECT_REQUESTS = Counter(
    "memos_project_requests_total",
    "Authenticated API requests per project, by kind: every request, adds, searches, and "
    "errors (HTTP status 400 or more)",
    ["project", "kind"],
)
MEMORIES_WRITTEN = Counter("memos_memories_written_total", "Memories written by jobs", ["project"])
EMBEDDING_SECONDS = Histogram(
    "memos_embedding_seconds", "Embedding latency per call", ["kind"], buckets=FAST
)
ADDS_PER_COMMIT = Histogram(
    "memos_adds_per_commit",
    "Adds written together in one transaction by a gateway",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
LLM_SECONDS = Histogram(
    "memos_llm_seconds", "LLM call latency", ["purpose", "outcome"], buckets=SLOW
)


def registry_for_scrape() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated
        return registry
    return REGISTRY


class ServiceState:
    """Gauges read from the queue and the database, at most every `ttl` seconds."""

    def __init__(self, db: Database, queue: JobQueue, by_project: bool, ttl: float = 10.0) -> None:
        self._db, self._queue, self._by_project = db, queue, by_project
        self._ttl = ttl
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._families: list[GaugeMetricFamily] = []

    def _read(self) -> list[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from shared.db.models import DeadLetter, Job, Memory

        families = []
        depth = GaugeMetricFamily("memos_queue_depth", "Extraction jobs waiting in the broker")
        try:
            depth.add_metric([], self._queue.depth())
            families.append(depth)
        except Exception as exc:  # the broker being down must not break the scrape
            log.warning("queue depth unavailable", extra={"error": str(exc)})
        with self._db.session() as session:
            pending = (
                session.scalar(select(func.count()).select_from(Job).where(Job.status == "running"))
                or 0
            )
            failed = (
                session.scalar(
                    select(func.count())
                    .select_from(DeadLetter)
                    .where(DeadLetter.replay_time.is_(None))
                )
                or 0
            )
            per_project = session.execute(
                select(Memory.project_id, func.count())
                .where(Memory.status == "activated")
                .group_by(Memory.project_id)
            ).all()
        families.append(
            GaugeMetricFamily(
                "memos_jobs_pending", "Accepted jobs not finished yet (the outbox)", value=pending
            )
        )
        families.append(
            GaugeMetricFamily(
                "memos_jobs_dead_letter", "Failed jobs waiting for a replay", value=failed
            )
        )
        memories = GaugeMetricFamily(
            "memos_memories", "Activated memories per project", labels=["project"]
        )
        by_label: dict[str, int] = {}
        for project, count in per_project:
            label = project_label(project, self._by_project)
            by_label[label] = by_label.get(label, 0) + count
        for label, count in by_label.items():
            memories.add_metric([label], count)
        families.append(memories)
        return families

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._read_at > self._ttl:
                try:
                    self._families = self._read()
                except Exception as exc:
                    log.warning("service state unavailable", extra={"error": str(exc)})
                self._read_at = time.monotonic()
            yield from self._families


class RequestMetrics:
    """ASGI middleware: latency and answers by route (plain ASGI, which costs a fraction of
    Starlette's BaseHTTPMiddleware per request); and, for a request the auth dependency
    attributed to a project (`request.state.project_id`, `key_id`), its kinds in
    memos_project_requests_total and in `usage`, the counts its process writes to SQL."""

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        usage: UsageCounts | None = None,
        by_project: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        self.usage = usage
        self.by_project = by_project

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        # The request's state, shared with the handlers that read scope["state"] (a Request's
        # `state`), which the auth dependency writes the project to.
        state = scope.setdefault("state", {})

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(self.service, route).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, route, str(status)).inc()
            project_id = state.get("project_id")
            if project_id is not None:
                self._count_for_project(project_id, state.get("key_id"), scope["path"], status)

    def _count_for_project(
        self, project_id: str, key_id: str | None, path: str, status: int
    ) -> None:
        kinds = kinds_of(path, status)
        label = project_label(project_id, self.by_project)
        for kind in kinds:
            PROJECT_REQUESTS.labels(label, kind).inc()
        if self.usage is not None:
            self.usage.record(project_id, key_id, kinds, now_ms())


def install_metrics(
    app: FastAPI,
    service: str,
    state: ServiceState | None = None,
    usage: UsageCounts | None = None,
    by_project: bool = False,
) -> None:
    """/metrics and the request metrics; `usage`: where the requests attributed to a project
    are counted for SQL, `by_project`: METRICS_PROJECT_LABELS (see `project_label`)."""
    app.add_middleware(RequestMetrics, service=service, usage=usage, by_project=by_project)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        payload = generate_latest(registry_for_scrape())
        if state is not None:
            extra = CollectorRegistry(auto_describe=False)
            extra.register(state)
            payload += generate_latest(extra)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)


def start_worker_metrics_server(port: int, host: str) -> WSGIServer:
    """The worker's /metrics, served by its main process for all of its pool's children, on
    HOST like the HTTP services (loopback unless set otherwise). Returns the server."""
    from prometheus_client import start_http_server

    server, _ = start_http_server(port, addr=host, registry=registry_for_scrape())
    return server
