"""The retriever as its own process: search for gateways, behind a shared token."""

from typing import Annotated

from fastapi import FastAPI, Header

from services.retriever.service import search_memories
from shared.config import get_settings
from shared.errors import InvalidApiKey
from shared.http import install_error_handlers, ok
from shared.logs import configure_logging
from shared.metrics import install_metrics
from shared.schemas import SearchQuery


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(title="memory retriever",
                  docs_url=None, redoc_url=None)
    install_error_handlers(app)
    install_metrics(app, "retriever")

    @app.post("/internal/search")
    def search(body: SearchQuery,
               x_internal_token: Annotated[str | None, Header()] = None) -> dict:
        if x_internal_token != get_settings().internal_token:
            raise InvalidApiKey("invalid internal token")
        return ok(search_memories(body.project_id, body.request))

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    return app
