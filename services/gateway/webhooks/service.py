"""A project's webhook endpoints and their deliveries: registered, listed, removed, and
failed deliveries sent again."""

import secrets
import uuid
from typing import Any

from sqlalchemy import delete, func, select, update

from services.gateway.webhooks.schemas import (
    CreateWebhookRequest,
    GetDeliveriesRequest,
    ReplayDeliveriesRequest,
)
from shared.clock import now_ms
from shared.db.models import Webhook, WebhookDelivery
from shared.db.session import Database
from shared.errors import InvalidParameter, echo
from shared.urls import RefusedUrl, check_url
from shared.webhooks import EVENTS

MAX_WEBHOOKS = 20  # endpoints of one project


def _shown(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "description": hook.description,
        "create_time": hook.create_time,
    }


def create(
    db: Database, project_id: str, request: CreateWebhookRequest, allow_private: bool
) -> dict[str, Any]:
    """The endpoint and its signing secret (shown once here, as a key is)."""
    try:
        check_url(request.url, allow_private)
    except RefusedUrl as exc:
        raise InvalidParameter("url", str(exc)) from None
    hook = Webhook(
        id=str(uuid.uuid4()),
        project_id=project_id,
        url=request.url,
        secret="whsec_" + secrets.token_urlsafe(32),
        events=list(dict.fromkeys(request.events or EVENTS)),
        description=request.description,
        create_time=now_ms(),
    )
    with db.transaction() as session:
        count = session.scalar(select(func.count()).where(Webhook.project_id == project_id))
        if (count or 0) >= MAX_WEBHOOKS:
            raise InvalidParameter("url", f"a project has at most {MAX_WEBHOOKS} webhooks")
        session.add(hook)
    return _shown(hook) | {"secret": hook.secret}


def listed(db: Database, project_id: str) -> list[dict[str, Any]]:
    with db.session() as session:
        hooks = session.scalars(
            select(Webhook).where(Webhook.project_id == project_id).order_by(Webhook.create_time)
        ).all()
        return [_shown(h) for h in hooks]


def remove(db: Database, project_id: str, webhook_id: str) -> None:
    """The endpoint and its deliveries, sent or not."""
    with db.transaction() as session:
        hook = session.get(Webhook, webhook_id)
        if hook is None or hook.project_id != project_id:
            raise InvalidParameter("webhook_id", f"{echo(webhook_id)}: no such webhook here")
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
        session.delete(hook)


def deliveries(db: Database, project_id: str, request: GetDeliveriesRequest) -> dict[str, Any]:
    where = [WebhookDelivery.project_id == project_id]
    if request.webhook_id:
        where.append(WebhookDelivery.webhook_id == request.webhook_id)
    if request.status:
        where.append(WebhookDelivery.status == request.status)
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where))
        rows = session.scalars(
            select(WebhookDelivery)
            .where(*where)
            .order_by(WebhookDelivery.id.desc())
            .offset((request.page - 1) * request.size)
            .limit(request.size)
        ).all()
        return {
            "total": total or 0,
            "delivery_list": [
                {
                    "id": d.id,
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "webhook_id": d.webhook_id,
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "create_time": d.create_time,
                    "deliver_time": d.deliver_time,
                }
                for d in rows
            ],
        }


def replay(db: Database, project_id: str, request: ReplayDeliveriesRequest) -> int:
    """Failed deliveries pending again, with fresh attempts; returns how many."""
    where = [WebhookDelivery.project_id == project_id, WebhookDelivery.status == "failed"]
    if request.delivery_ids:
        where.append(WebhookDelivery.id.in_(request.delivery_ids))
    if request.webhook_id:
        where.append(WebhookDelivery.webhook_id == request.webhook_id)
    with db.transaction() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(*where)
            .values(status="pending", attempts=0, next_attempt_time=now_ms(), last_error=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)
