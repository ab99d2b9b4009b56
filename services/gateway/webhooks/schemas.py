"""Request models of the webhooks endpoints."""

from typing import Literal

from pydantic import Field

from shared.schemas import ApiRequest
from shared.webhooks import EVENTS

EventType = Literal[EVENTS]  # type: ignore[valid-type]


class CreateWebhookRequest(ApiRequest):
    url: str = Field(min_length=1, max_length=2000)
    # The events the endpoint hears of; all when absent.
    events: list[EventType] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=200)


class WebhookIdRequest(ApiRequest):
    webhook_id: str = Field(min_length=1, max_length=36)


class GetDeliveriesRequest(ApiRequest):
    webhook_id: str | None = Field(None, max_length=36)
    status: Literal["pending", "delivered", "failed"] | None = None
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(20, ge=1, le=100)


class ReplayDeliveriesRequest(ApiRequest):
    """`delivery_ids`, or every failed delivery (of `webhook_id` when given)."""

    delivery_ids: list[int] | None = Field(None, min_length=1, max_length=1000)
    webhook_id: str | None = Field(None, max_length=36)
