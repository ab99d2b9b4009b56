"""Per-key rate limiting (token buckets) and the request size limit."""

import math
import threading
import time

from shared.errors import InputTooLarge, RateLimited


class RateLimiter:
    """`rate` requests a second per key, bursts up to `burst`. In-process: with several
    gateway processes each keeps its own buckets (README, "Limits")."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, rate: float, burst: int) -> None:
        if rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                retry_after = math.ceil((1 - tokens) / rate)
                raise RateLimited(f"rate limit of {rate:g} requests/s exceeded for this key; "
                                  f"retry after {retry_after}s", retry_after=retry_after)
            self._buckets[key] = (tokens - 1, now)


rate_limiter = RateLimiter()


class BodySizeLimit:
    """ASGI middleware: bodies over `max_bytes` get 40305 before anything is parsed."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        from shared.http import envelope_response

        declared = dict(scope["headers"]).get(b"content-length")
        too_large = InputTooLarge(f"request body over the limit of {self.max_bytes} bytes")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await envelope_response(too_large)(scope, receive, send)
            return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)
