"""`make load`: 200 concurrent clients for 60 s against `memos serve` (what `make run`
starts), on localhost only, bounded in count and time. Each client adds a message or
searches (1 add in 4), as fast as answers come back. Prints the answers by code and the
latencies; exits non-zero on any answer that is not a success or a documented rate-limit
answer (40300 with Retry-After).

LOAD_CLIENTS (200) and LOAD_SECONDS (60) change the shape; LOAD_KEYS (4) spreads the clients
over that many API keys of one project."""

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from tests.e2e.process import MEMOS, run_service

FACTS = [
    "我喜欢在周末去爬山。",
    "我女儿今年上小学二年级。",
    "I live in Berlin with my partner.",
    "我对花生过敏。",
    "My favourite food is ramen.",
    "我每天早上喝一杯美式咖啡。",
]
QUERIES = [
    "周末做什么",
    "孩子几年级",
    "where do I live",
    "有什么忌口",
    "what do I like to eat",
    "早餐喝什么",
]


class Connection:
    """One keep-alive HTTP/1.1 connection over plain asyncio streams: a generator light
    enough that 200 clients measure the server, not the client (httpx's pool spent a whole
    core on 50 requests/s here)."""

    def __init__(self, host: str, port: int, base_path: str) -> None:
        self.host, self.port, self.base_path = host, port, base_path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict, key: str) -> tuple[int, dict, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode()
        self.writer.write(
            f"POST {self.base_path}{path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Token {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
        data = await self.reader.readexactly(int(headers["content-length"]))
        return status, headers, json.loads(data)


async def open_loop(
    api: str, key: str, rate: float, seconds: float, body: Callable[[int], tuple[str, dict]]
) -> tuple[list[float], Counter]:
    """Sends request i at start + i/rate whether or not earlier ones were answered (a free
    connection is taken, or a new one opened), and times each from its scheduled moment, so
    a slow answer cannot hide the requests that should have been sent meanwhile. Returns the
    latencies in ms and the answers by code."""
    url = urlsplit(api)
    idle: list[Connection] = []
    latencies: list[float] = []
    codes: Counter = Counter()

    async def send(scheduled: float, path: str, payload: dict) -> None:
        connection = idle.pop() if idle else Connection(url.hostname, url.port, url.path)
        try:
            _, _, answer = await connection.post(path, payload, key)
            codes[answer.get("code", "no-envelope")] += 1
            idle.append(connection)
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
            codes[type(exc).__name__] += 1
        latencies.append((time.perf_counter() - scheduled) * 1000)

    started = time.perf_counter()
    pending = set()
    for i in range(int(rate * seconds)):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(scheduled, *body(i)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    for connection in idle:
        connection.writer.close()
    return latencies, codes


async def drive_adds(
    api: str, key: str, clients: int, seconds: float, body: Callable[[int], tuple[str, dict]]
) -> tuple[int, float, list[float]]:
    """`clients` connections each sending the next request as soon as the last is answered.
    Returns the requests answered, the seconds taken and the latencies in ms."""
    url = urlsplit(api)
    latencies: list[float] = []
    sent = iter(range(1 << 62))
    stop_at = time.monotonic() + seconds

    async def one() -> None:
        connection = Connection(url.hostname, url.port, url.path)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            _, _, answer = await connection.post(*body(next(sent)), key)
            assert answer["code"] == 0, answer
            latencies.append((time.perf_counter() - started) * 1000)
        connection.writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return len(latencies), time.perf_counter() - started, latencies


async def client(
    number: int,
    api: str,
    key: str,
    stop_at: float,
    codes: Counter,
    latencies: dict[str, list[float]],
    retry_after: list[bool],
) -> None:
    rng = random.Random(number)
    url = urlsplit(api)
    connection = Connection(url.hostname, url.port, url.path)
    user = f"load-user-{number % 50}"
    sent = 0
    while time.monotonic() < stop_at:
        sent += 1
        if rng.random() < 0.25:
            kind, path = "add", "/add/message"
            text = f"{rng.choice(FACTS)} #{number}-{sent}"
            body = {
                "user_id": user,
                "conversation_id": f"c{number}",
                "messages": [{"role": "user", "content": text}],
            }
        else:
            kind, path = "search", "/search/memory"
            body = {"user_id": user, "query": rng.choice(QUERIES)}
        started = time.perf_counter()
        try:
            _, headers, answer = await connection.post(path, body, key)
            code = answer.get("code", "no-envelope")
            if code == 40300:
                retry_after.append("retry-after" in headers)
                await asyncio.sleep(float(headers.get("retry-after", "1")))
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
            code = type(exc).__name__
            connection.writer = None
        latencies[kind].append((time.perf_counter() - started) * 1000)
        codes[code] += 1
    if connection.writer is not None:
        connection.writer.close()


async def drive(api: str, keys: list[str], clients: int, seconds: float) -> dict:
    codes: Counter = Counter()
    latencies: dict[str, list[float]] = {"add": [], "search": []}
    retry_after: list[bool] = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        *(
            client(n, api, keys[n % len(keys)], stop_at, codes, latencies, retry_after)
            for n in range(clients)
        )
    )
    return {"codes": codes, "latencies": latencies, "retry_after": retry_after}


def main() -> int:
    clients = int(os.environ.get("LOAD_CLIENTS", "200"))
    seconds = float(os.environ.get("LOAD_SECONDS", "60"))
    key_count = int(os.environ.get("LOAD_KEYS", "4"))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with run_service("serve", data, LOG_LEVEL="WARNING") as service:
            keys = [(data / "api-key").read_text().strip()]
            for _ in range(key_count - 1):
                created = subprocess.run(
                    [MEMOS, "keys", "create", "--project", "default"],
                    env={**os.environ, "DATA_DIR": str(data)},
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                keys.append(
                    next(
                        line.split()[-1]
                        for line in created.splitlines()
                        if line.startswith("api key")
                    )
                )
            result = asyncio.run(drive(service.api, keys, clients, seconds))
    codes, latencies = result["codes"], result["latencies"]
    total = sum(codes.values())
    print(
        f"\n{clients} clients for {seconds:.0f} s over {len(keys)} keys, {os.cpu_count()} CPUs: "
        f"{total} requests, {total / seconds:.0f} requests/s"
    )
    print("answers by code: " + ", ".join(f"{code}: {n}" for code, n in codes.most_common()))
    for kind, samples in latencies.items():
        if samples:
            p = np.percentile(samples, [50, 95, 99])
            print(
                f"{kind:6} {len(samples):6} requests  p50 {p[0]:.1f} ms  p95 {p[1]:.1f} ms  "
                f"p99 {p[2]:.1f} ms"
            )
    unexpected = {code: n for code, n in codes.items() if code not in (0, 40300)}
    if result["retry_after"] and not all(result["retry_after"]):
        unexpected["40300 without Retry-After"] = result["retry_after"].count(False)
    if unexpected:
        print(f"FAILED: unexpected answers {unexpected}")
        return 1
    print("0 errors other than documented rate-limit answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
