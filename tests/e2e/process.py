"""Start the service as real OS processes, as `make run` and the distributed mode do."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

MEMOS = str(Path(sys.executable).with_name("memos"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    base: str
    process: subprocess.Popen
    log: Path

    @property
    def api(self) -> str:
        return self.base + "/api/openmem/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def run_service(
    command: str, data_dir: Path, timeout: float = 90, args: tuple[str, ...] = (), **env: str
) -> Iterator[Service]:
    """`memos <command>`; up once its /health answers (a worker: its /metrics port)."""
    port = free_port()
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "INFO",
        "WORKER_METRICS_PORT": str(port) if command == "worker" else "0",
        **env,
    }
    for unset in ("DATABASE_URL", "REDIS_URL", "QDRANT_URL", "RETRIEVER_URL", "LLM_BASE_URL"):
        if unset not in env:
            environment.pop(unset, None)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{command}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MEMOS, command, *args],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(f"http://127.0.0.1:{port}", process, log)
    ready = service.base + ("/metrics" if command == "worker" else "/health")
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"`memos {command}` exited:\n{service.output()[-3000:]}")
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"`memos {command}` not up:\n{service.output()[-3000:]}")
            time.sleep(0.1)
        yield service
    finally:
        stop(service)


def stop(service: Service, sig: int = signal.SIGTERM) -> None:
    """Signals the whole process group (a worker's pool children too) and waits."""
    process = service.process
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def post(service: Service, key: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(
        service.api + path, json=body, timeout=30, headers={"Authorization": f"Token {key}"}
    )
