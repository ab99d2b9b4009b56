"""The gateway: auth, validation, the openmem v1 routes, enqueueing, search proxy."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.gateway.docs import install_docs
from services.gateway.memories.endpoints import router as memories_router
from services.gateway.messages.endpoints import router as messages_router
from services.gateway.messages.ingest import stop_ingest
from shared.config import get_settings
from shared.db.migrate import upgrade_database
from shared.http import install_error_handlers
from shared.limits import BodySizeLimit, FailedAuthLimit, make_rate_limiter
from shared.logs import configure_logging
from shared.metrics import ServiceState, install_metrics
from shared.outbox import OutboxRelay

API_PREFIX = "/api/openmem/v1"


def create_app(run_relay: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        upgrade_database()
        settings = get_settings()
        app.state.rate_limiter = make_rate_limiter(settings.redis_url)
        app.state.auth_failures = FailedAuthLimit(
            app.state.rate_limiter, settings.auth_failures_per_second, settings.auth_failure_burst
        )
        relay = OutboxRelay() if run_relay else None
        if relay:
            relay.start()
        yield
        stop_ingest()  # answers the adds already taken before the process exits
        if relay:
            relay.stop()
        await app.state.rate_limiter.close()

    app = FastAPI(
        title="MemOS-compatible memory service",
        description="Send raw dialogue, get back the memories that matter. Speaks the MemOS "
        "openmem v1 API: every operation is a POST with a JSON body, every answer "
        "is {code, data, message}.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local assets by install_docs
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_request_bytes)
    install_metrics(app, "gateway", ServiceState())
    app.include_router(messages_router, prefix=API_PREFIX)
    app.include_router(memories_router, prefix=API_PREFIX)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
