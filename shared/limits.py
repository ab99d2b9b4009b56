"""Per-key rate limiting (token buckets) and the request size limit."""

import logging
import math
import threading
import time

import redis
import redis.asyncio

from shared.errors import InputTooLarge, RateLimited

log = logging.getLogger(__name__)


def _refused(rate: float, tokens: float) -> RateLimited:
    retry_after = math.ceil((1 - tokens) / rate)
    return RateLimited(f"rate limit of {rate:g} requests/s exceeded for this key; retry after "
                       f"{retry_after}s", retry_after=retry_after)


class RateLimiter:
    """`rate` requests a second per key, bursts up to `burst`, counted in this process (the
    embedded mode: one process)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    async def check(self, key: str, rate: float, burst: int) -> None:
        if rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
        if tokens < 1:
            raise _refused(rate, tokens)

    async def close(self) -> None:
        pass


# One bucket per key in Redis, refilled by Redis' own clock so gateways on hosts whose
# clocks differ count alike. Returns the tokens there were before this request.
TAKE_TOKEN = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
tokens = math.min(burst, tokens + math.max(0, now - (tonumber(state[2]) or now)) * rate)
local left = tokens
if tokens >= 1 then left = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(left), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(tokens)
"""


class SharedRateLimiter:
    """The same buckets kept in Redis, so a key gets `rate` across every gateway process, not
    `rate` from each. One script call a request; when Redis does not answer, requests pass
    (the limit protects the service, it must not take it down) and a warning is logged."""

    def __init__(self, url: str) -> None:
        self._client = redis.asyncio.Redis.from_url(url, socket_timeout=0.5,
                                                    socket_connect_timeout=0.5)
        self._take = self._client.register_script(TAKE_TOKEN)

    async def check(self, key: str, rate: float, burst: int) -> None:
        if rate <= 0:
            return
        try:
            tokens = float(await self._take(keys=[f"memos:rate:{key}"], args=[rate, burst]))
        except (redis.RedisError, OSError) as exc:
            log.warning("rate limit not checked: Redis unreachable", extra={"error": str(exc)})
            return
        if tokens < 1:
            raise _refused(rate, tokens)

    async def close(self) -> None:
        await self._client.aclose()


def make_rate_limiter(redis_url: str) -> RateLimiter | SharedRateLimiter:
    """Shared through Redis when the broker is one other processes reach (redis:// or
    rediss://); counted in-process with the embedded mode's private socket."""
    if redis_url.startswith(("redis://", "rediss://")):
        return SharedRateLimiter(redis_url)
    return RateLimiter()


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
