from fastapi import APIRouter

from services.gateway.deps import CurrentGateway, CurrentProject
from services.gateway.webhooks import service
from services.gateway.webhooks.schemas import (
    CreateWebhookRequest,
    GetDeliveriesRequest,
    ReplayDeliveriesRequest,
    WebhookIdRequest,
)
from shared.http import JSONBytes, ok

router = APIRouter()


@router.post("/create/webhook")
def create_webhook(
    body: CreateWebhookRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """An endpoint that hears of the project's changes: `events` (all when absent), its
    signing `secret` shown once (README, "Webhooks")."""
    settings = gateway.runtime.settings
    return ok(
        service.create(gateway.runtime.db, project.project_id, body, settings.allow_private_urls)
    )


@router.post("/get/webhooks")
def get_webhooks(project: CurrentProject, gateway: CurrentGateway) -> JSONBytes:
    """The project's endpoints (without their secrets)."""
    return ok({"webhook_list": service.listed(gateway.runtime.db, project.project_id)})


@router.post("/delete/webhook")
def delete_webhook(
    body: WebhookIdRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """The endpoint and its deliveries."""
    service.remove(gateway.runtime.db, project.project_id, body.webhook_id)
    return ok({"success": True})


@router.post("/get/webhook-deliveries")
def get_deliveries(
    body: GetDeliveriesRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """The project's deliveries, newest first: pending, delivered or failed (with the last
    error)."""
    return ok(service.deliveries(gateway.runtime.db, project.project_id, body))


@router.post("/replay/webhook-deliveries")
def replay_deliveries(
    body: ReplayDeliveriesRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Failed deliveries sent again (`delivery_ids`, else every failed one, of `webhook_id`
    when given)."""
    return ok({"replayed": service.replay(gateway.runtime.db, project.project_id, body)})
