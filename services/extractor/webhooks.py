"""Webhook deliveries, sent by the worker processes (the embedded one's and `memos worker`'s)
from a thread of their own: a receiver that answers slowly, or not at all, holds up its own
deliveries and never extraction.

A delivery is claimed with a lease (its next attempt moved past the send), so workers of
several processes never send one twice at once and a worker that dies leaves it to be sent
again: at least once. Of one endpoint's deliveries about one subject only the oldest pending
is sent, so a memory's events arrive in order, each after the one before succeeded or failed
for good."""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from prometheus_client import Counter
from sqlalchemy import delete, func, select

from shared.clock import now_ms
from shared.db.models import Webhook, WebhookDelivery
from shared.runtime import Runtime
from shared.urls import RefusedUrl, check_url
from shared.webhooks import SIGNATURE_HEADER, signature

log = logging.getLogger(__name__)
DELIVERIES = Counter("memos_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"])
BATCH = 50
MAX_BACKOFF_SECONDS = 3600
GATHER_SECONDS = 0.2
SWEEP_SECONDS = 600  # how often delivered deliveries past their retention are deleted


@dataclass(frozen=True)
class Claimed:
    id: int
    event_id: str
    event_type: str
    body: str
    attempt: int
    url: str
    secret: str


def backoff_ms(attempts: int, base_seconds: float) -> int:
    """The wait before the next attempt after `attempts` failed ones: doubling, at most an
    hour."""
    return int(min(base_seconds * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS) * 1000)


class WebhookSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._pool = ThreadPoolExecutor(settings.webhook_senders, thread_name_prefix="webhook")
        self._client = httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _run(self) -> None:
        interval = self.runtime.settings.webhook_poll_interval
        swept = 0.0
        while not self._stop.is_set():
            try:
                sent = self.send_due()
                if time.monotonic() - swept > SWEEP_SECONDS:
                    self.forget_delivered()
                    swept = time.monotonic()
            except Exception:  # the database away for a moment: try again next round
                log.exception("webhook deliveries not sent this round")
                sent = 0
            # A full batch: more are waiting. Else a moment for more to gather, so that a
            # trickle of events costs a few writes a second, not two per event.
            if sent < BATCH:
                self._stop.wait(interval if not sent else GATHER_SECONDS)

    def forget_delivered(self) -> None:
        """Delivered deliveries older than WEBHOOK_RETENTION_DAYS (failed ones stay, for a
        person to replay)."""
        cutoff = now_ms() - int(self.runtime.settings.webhook_retention_days * 86_400_000)
        with self.runtime.db.transaction() as session:
            session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status == "delivered", WebhookDelivery.deliver_time < cutoff
                )
            )

    def send_due(self) -> int:
        """Sends what is due now, one round; returns how many were attempted."""
        claimed = self._claim()
        if claimed:
            self._record(list(zip(claimed, self._pool.map(self._send, claimed), strict=True)))
        return len(claimed)

    def _claim(self) -> list[Claimed]:
        db, settings = self.runtime.db, self.runtime.settings
        now = now_ms()
        with db.transaction() as session:
            due = (
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_time <= now
                )
                .order_by(WebhookDelivery.id)
                .limit(BATCH)
            )
            if db.dialect == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = session.scalars(due).all()
            if not rows:
                return []
            # The oldest pending delivery of each endpoint and subject: one still backing
            # off, or leased by another worker, holds back the ones after it.
            first = dict(
                ((hook, subject), lowest)
                for hook, subject, lowest in session.execute(
                    select(
                        WebhookDelivery.webhook_id,
                        WebhookDelivery.subject,
                        func.min(WebhookDelivery.id),
                    )
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.subject.in_({r.subject for r in rows}),
                    )
                    .group_by(WebhookDelivery.webhook_id, WebhookDelivery.subject)
                )
            )
            chosen = [r for r in rows if first.get((r.webhook_id, r.subject)) == r.id]
            hooks = {
                h.id: h
                for h in session.scalars(
                    select(Webhook).where(Webhook.id.in_({r.webhook_id for r in chosen}))
                )
            }
            lease = now + int(settings.webhook_timeout * 1000) * 3
            claimed = []
            for row in chosen:
                hook = hooks.get(row.webhook_id)
                if hook is None:  # its endpoint deleted meanwhile
                    row.status, row.last_error = "failed", "the endpoint was deleted"
                    continue
                row.next_attempt_time = lease
                claimed.append(
                    Claimed(
                        row.id,
                        row.event_id,
                        row.event_type,
                        row.body,
                        row.attempts + 1,
                        hook.url,
                        hook.secret,
                    )
                )
            return claimed

    def _send(self, delivery: Claimed) -> str | None:
        """None when the receiver took it (2xx), else why not."""
        try:
            # Checked at every attempt: what a name resolves to can change.
            check_url(delivery.url, self.runtime.settings.allow_private_urls)
            body = delivery.body.encode()
            response = self._client.post(
                delivery.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "memos-webhooks/1",
                    "X-Memos-Event-Id": delivery.event_id,
                    "X-Memos-Event-Type": delivery.event_type,
                    "X-Memos-Delivery-Attempt": str(delivery.attempt),
                    SIGNATURE_HEADER: signature(delivery.secret, body),
                },
            )
        except (RefusedUrl, httpx.HTTPError) as exc:
            return f"{type(exc).__name__}: {exc}"[:2000]
        if 200 <= response.status_code < 300:
            return None
        if response.is_redirect:
            return f"HTTP {response.status_code}: redirects are not followed"
        return f"HTTP {response.status_code}"

    def _record(self, outcomes: list[tuple[Claimed, str | None]]) -> None:
        """The round's outcomes, in one transaction (with SQLite, one write beside the jobs')."""
        settings = self.runtime.settings
        now = now_ms()
        with self.runtime.db.transaction() as session:
            for delivery, error in outcomes:
                row = session.get(WebhookDelivery, delivery.id)
                if row is None or row.status != "pending":
                    continue  # deleted (an erasure, the endpoint) or replayed meanwhile
                row.attempts = delivery.attempt
                if error is None:
                    row.status, row.deliver_time, row.last_error = "delivered", now, None
                    DELIVERIES.labels("delivered").inc()
                    continue
                row.last_error = error
                if row.attempts >= settings.webhook_max_attempts:
                    row.status = "failed"
                    DELIVERIES.labels("failed").inc()
                    log.warning(
                        "webhook delivery failed for good",
                        extra={"delivery": row.id, "event": row.event_id, "error": error[:300]},
                    )
                else:
                    wait = backoff_ms(row.attempts, settings.webhook_retry_seconds)
                    row.next_attempt_time = now + wait
                    DELIVERIES.labels("retried").inc()
