"""Prometheus metrics: request counts and latency per route and code, at /metrics."""

import os
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("memos_http_requests_total", "HTTP requests", ["service", "route", "code"])
LATENCY = Histogram("memos_http_request_seconds", "HTTP request latency", ["service", "route"],
                    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def metrics_payload() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def install_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        LATENCY.labels(service, path).observe(time.perf_counter() - started)
        REQUESTS.labels(service, path, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(metrics_payload(), media_type=CONTENT_TYPE_LATEST)
