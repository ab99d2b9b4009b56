"""The gateway: auth, validation, the openmem v1 routes, enqueueing, search proxy."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.gateway.chat.endpoints import router as chat_router
from services.gateway.console.routes import install_console
from services.gateway.deps import Gateway
from services.gateway.docs import install_docs
from services.gateway.keys.service import KeyCache
from services.gateway.knowledge.endpoints import router as knowledge_router
from services.gateway.mcp.server import install_mcp, running_mcp
from services.gateway.memories.endpoints import router as memories_router
from services.gateway.memories.search_client import retriever_for
from services.gateway.messages.endpoints import router as messages_router
from services.gateway.messages.ingest import Ingest
from services.gateway.messages.waiting import JobWaiter
from services.gateway.profiles.endpoints import router as profiles_router
from services.gateway.usage import UsageFlusher
from services.gateway.webhooks.endpoints import router as webhooks_router
from shared.db.migrate import upgrade_database
from shared.http import install_error_handlers
from shared.limits import BodySizeLimit, FailedAuthLimit, make_rate_limiter
from shared.metrics import ServiceState, install_metrics
from shared.outbox import OutboxRelay
from shared.runtime import Runtime
from shared.usage import UsageCounts

API_PREFIX = "/api/openmem/v1"


def create_app(runtime: Runtime, run_relay: bool = True) -> FastAPI:
    """The gateway's app over a runtime its caller built (and closes); the gateway's own
    parts are built in the lifespan and stopped at its end."""
    settings = runtime.settings
    # The requests this process counted for each project, until its flusher writes them.
    usage = UsageCounts()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade_database(runtime.db)
        limiter = make_rate_limiter(settings.redis_url)
        gateway = Gateway(
            runtime=runtime,
            keys=KeyCache(),
            ingest=Ingest(runtime),
            waiter=JobWaiter(runtime.db),
            retriever=retriever_for(runtime),
            rate_limiter=limiter,
            auth_failures=FailedAuthLimit(
                limiter, settings.auth_failures_per_second, settings.auth_failure_burst
            ),
        )
        app.state.gateway = gateway
        relay = OutboxRelay(runtime) if run_relay else None
        if relay:
            relay.start()
        flusher = UsageFlusher(runtime.db, usage, settings.usage_flush_seconds)
        flusher.start()
        async with running_mcp(app):  # /mcp's server: its sessions live within the app's
            yield
        gateway.ingest.stop()  # answers the adds already taken before the process exits
        flusher.stop()  # writes the last counts
        if relay:
            relay.stop()
        await limiter.close()
        gateway.retriever.close()

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
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        larger={f"{API_PREFIX}/add/knowledgebase-file": settings.max_kb_request_bytes},
    )
    install_metrics(
        app,
        "gateway",
        ServiceState(runtime.db, runtime.queue, settings.metrics_project_labels),
        usage=usage,
        by_project=settings.metrics_project_labels,
    )
    app.include_router(messages_router, prefix=API_PREFIX)
    app.include_router(memories_router, prefix=API_PREFIX)
    app.include_router(chat_router, prefix=API_PREFIX)
    app.include_router(profiles_router, prefix=API_PREFIX)
    app.include_router(knowledge_router, prefix=API_PREFIX)
    app.include_router(webhooks_router, prefix=API_PREFIX)
    app.state.usage = usage
    install_console(app)
    install_mcp(app)  # /mcp: the memory's tools for agents (README, "Agents (MCP)")

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
