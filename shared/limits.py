"""Per-key rate limiting (token buckets), failed authentications per client address, and the
request size limit."""

import asyncio
import logging
import math
import threading
import time

import redis
import redis.asyncio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import InputTooLarge, RateLimited

log = logging.getLogger(__name__)


def _refused(rate: float, tokens: float) -> RateLimited:
    retry_after = math.ceil((1 - tokens) / rate)
    return RateLimited(
        f"rate limit of {rate:g} requests/s exceeded for this key; retry after {retry_after}s",
        retry_after=retry_after,
    )


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
# clocks differ count alike. Takes up to ARGV[3] whole tokens; returns how many it took and
# the tokens there were.
TAKE_TOKENS = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local rate, burst, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
tokens = math.min(burst, tokens + math.max(0, now - (tonumber(state[2]) or now)) * rate)
local taken = math.min(wanted, math.floor(tokens))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - taken), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {taken, tostring(tokens)}
"""
LEASE_SECONDS = 1.0


class SharedRateLimiter:
    """The same buckets kept in Redis, so a key gets `rate` across every gateway process, not
    `rate` from each. A gateway takes a key's tokens a few at a time (about a tenth of a
    second of its rate, at most a twentieth of its burst) and spends them within a second, so
    Redis is asked once every few requests; a gateway holds at most that many unspent.
    When Redis does not answer, requests pass (the limit protects the service, it must not
    take it down) and a warning is logged."""

    def __init__(self, url: str) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._take = self._client.register_script(TAKE_TOKENS)
        self._leases: dict[str, tuple[int, float]] = {}
        # One lease request in flight per key: the requests arriving meanwhile wait for it
        # instead of each taking a lease (which would empty the bucket for tokens unspent).
        self._asking: dict[str, asyncio.Future[bool]] = {}

    async def check(self, key: str, rate: float, burst: int) -> None:
        if rate <= 0:
            return
        while True:
            left, until = self._leases.get(key, (0, 0.0))
            if left > 0 and time.monotonic() < until:
                self._leases[key] = (left - 1, until)
                return
            if key in self._asking:
                if not await asyncio.shield(self._asking[key]):
                    return  # Redis did not answer: pass
                continue
            asking = self._asking[key] = asyncio.get_running_loop().create_future()
            try:
                answered = await self._lease(key, rate, burst)
                asking.set_result(answered)
            except asyncio.CancelledError:  # this request's client left: another one asks
                asking.set_result(True)
                raise
            except Exception as exc:  # no token left: the waiters are refused too
                asking.set_exception(exc)
                asking.exception()  # retrieved: none may be waiting
                raise
            finally:
                del self._asking[key]
            if not answered:
                return

    async def _lease(self, key: str, rate: float, burst: int) -> bool:
        """Takes the next lease of the key's tokens; False when Redis did not answer; raises
        when the key has no token left."""
        wanted = max(1, min(burst // 20, int(rate / 10)))
        try:
            taken, tokens = await self._take(keys=[f"memos:rate:{key}"], args=[rate, burst, wanted])
        except (redis.RedisError, OSError) as exc:
            log.warning("rate limit not checked: Redis unreachable", extra={"error": str(exc)})
            return False
        if not taken:
            raise _refused(rate, float(tokens))
        if len(self._leases) > 100_000:
            self._leases.clear()
        self._leases[key] = (int(taken), time.monotonic() + LEASE_SECONDS)
        return True

    async def close(self) -> None:
        await self._client.aclose()


def make_rate_limiter(redis_url: str) -> RateLimiter | SharedRateLimiter:
    """Shared through Redis when the broker is one other processes reach (redis:// or
    rediss://); counted in-process with the embedded mode's private socket."""
    if redis_url.startswith(("redis://", "rediss://")):
        return SharedRateLimiter(redis_url)
    return RateLimiter()


class FailedAuthLimit:
    """Failed authentications per client address, counted in the rate limiter's buckets
    (shared through Redis when it is): a client that keeps sending bad keys gets 40300, at
    first once over the limit, then, while its wait lasts, before its key is even looked up,
    so a flood of random keys costs no SQL query. Each refusal is answered after `delay`
    seconds: a refusal answered at once is asked again at once, and a flood of them took as
    much of the process as the lookups did (README, "Security settings"); waiting costs the
    event loop nothing."""

    def __init__(
        self,
        limiter: RateLimiter | SharedRateLimiter,
        rate: float,
        burst: int,
        delay: float = 1.0,
        counted: str = "auth-failures",
    ) -> None:
        self._limiter = limiter
        self._rate, self._burst, self._delay = rate, burst, delay
        self._counted = counted  # the buckets' name: API keys' and console sign-ins' apart
        self._blocked_until: dict[str, float] = {}

    async def refuse_if_blocked(self, address: str) -> None:
        until = self._blocked_until.get(address)
        if until is None:
            return
        wait = until - time.monotonic()
        if wait <= 0:
            del self._blocked_until[address]
            return
        await self._refuse(address, math.ceil(wait))

    async def count_failure(self, address: str) -> None:
        """Counts one; raises RateLimited when the address is over its limit."""
        try:
            await self._limiter.check(f"{self._counted}:{address}", self._rate, self._burst)
        except RateLimited as exc:
            await self._refuse(address, exc.retry_after or 1)

    async def _refuse(self, address: str, retry_after: int) -> None:
        """Answers after the delay; the address is refused for `retry_after` seconds from the
        answer on, so a client that does not wait as told stays refused."""
        await asyncio.sleep(min(self._delay, retry_after))
        if len(self._blocked_until) > 100_000:
            self._blocked_until.clear()
        self._blocked_until[address] = time.monotonic() + retry_after
        raise RateLimited(
            f"too many failed authentications from this address (limit "
            f"{self._rate:g}/s); retry after {retry_after}s",
            retry_after=retry_after,
        )


class BodySizeLimit:
    """ASGI middleware: bodies over `max_bytes` get 40305 before anything is parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # paths that take bodies of their own limit (uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        if scope["type"] != "http" or limit <= 0:
            await self.app(scope, receive, send)
            return
        from shared.http import envelope_response

        declared = dict(scope["headers"]).get(b"content-length")
        too_large = InputTooLarge(f"request body over the limit of {limit} bytes")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await envelope_response(too_large)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)
