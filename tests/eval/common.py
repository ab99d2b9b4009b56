"""What the evaluation suites share: the API client, a fresh `memos serve` to run against,
waiting for extraction jobs, the summary of scored questions and the run's metadata."""

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.process import run_service
from tests.eval import metrics

MEMORY_LIMIT = 10
RECALL_AT = (1, 5, 10)
SERVICE_ENV = {"RATE_LIMIT_PER_SECOND": "0", "LOG_LEVEL": "WARNING"}
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"://[^/@\s]+@")
PROGRESS_EVERY = 30.0  # seconds between "still extracting" lines on stderr


class Client:
    """The openmem API over one keep-alive connection, failing loudly on any error code so a
    broken run is never scored as a bad one."""

    def __init__(self, api: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=api, headers={"Authorization": f"Token {key}"}, timeout=60
        )

    def call(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        payload = response.json()
        if payload.get("code") != 0:
            raise RuntimeError(f"{path} answered {response.status_code}: {payload}")
        return payload["data"]

    def close(self) -> None:
        self.http.close()


@contextmanager
def fresh_service(env: dict[str, str]) -> Iterator[Client]:
    """`memos serve` on a new, empty data directory, and a client holding its API key."""
    with (
        tempfile.TemporaryDirectory(prefix="memos-eval-") as tmp,
        fresh_service_in(Path(tmp) / "data", env) as client,
    ):
        yield client


@contextmanager
def fresh_service_in(data_dir: Path, env: dict[str, str]) -> Iterator[Client]:
    """`memos serve` on `data_dir`. When the run fails, the end of the service's log is
    printed: it may be gone with the directory."""
    print("starting memos serve ...", file=sys.stderr)
    with run_service("serve", data_dir, **env) as service:
        client = Client(service.api, (data_dir / "api-key").read_text().strip())
        try:
            yield client
        except BaseException:
            print(f"--- end of the service log ---\n{service.output()[-3000:]}", file=sys.stderr)
            raise
        finally:
            client.close()


def parse_env(pairs: Iterable[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        env[name] = value
    return env


def redacted(env: dict[str, str]) -> dict[str, str]:
    """The settings as written to the results: results get shared, credentials must not be."""
    return {
        name: "***" if SECRET_NAME.search(name) else URL_CREDENTIALS.sub("://***@", value)
        for name, value in env.items()
    }


def wait_for_tasks(client, task_ids: Iterable[str], timeout: float) -> dict[str, str]:
    """Polls `get/status` until no job is `running`; the final status of every task id.
    `client` needs only a `call(path, body)` method."""
    statuses: dict[str, str] = {}
    pending = list(dict.fromkeys(task_ids))
    total = len(pending)
    deadline = time.monotonic() + timeout
    next_progress = time.monotonic() + PROGRESS_EVERY
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} extraction jobs still running after {timeout} s")
        still = []
        for task_id in pending:
            status = client.call("/get/status", {"task_id": task_id})["status"]
            if status == "running":
                still.append(task_id)
            else:
                statuses[task_id] = status
        pending = still
        if pending:
            if time.monotonic() > next_progress:
                print(f"  {total - len(pending)}/{total} extraction jobs done", file=sys.stderr)
                next_progress = time.monotonic() + PROGRESS_EVERY
            time.sleep(0.1)
    return statuses


def failed(statuses: dict[str, str]) -> int:
    return sum(1 for status in statuses.values() if status == "failed")


def _as_list(value: float | list[float] | None) -> list[float]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def summarize(records: list[dict]) -> dict:
    """Means over scored questions: evidence recall@k, MRR, and where the records have them,
    stale_first, memory tokens and characters per query, client-side search latency (records
    holding one latency per search call, as a number or a list) and the LLM judge's
    accuracy."""
    latencies = [x for r in records for x in _as_list(r.get("latency_ms"))]
    summary = {
        "questions": len(records),
        **{
            f"recall@{k}": round(metrics.mean(r[f"recall@{k}"] for r in records), 3)
            for k in RECALL_AT
        },
        "mrr": round(metrics.mean(r["rr"] for r in records), 3),
    }
    updated = [r["stale_first"] for r in records if "stale_first" in r]
    summary["stale_first"] = round(metrics.mean(updated), 3) if updated else None
    summary["tokens_per_query"] = round(metrics.mean(r["tokens"] for r in records), 1)
    if records and all("chars" in r for r in records):
        summary["chars_per_query"] = round(metrics.mean(r["chars"] for r in records), 1)
    summary["latency_ms"] = (
        {f"p{p}": round(metrics.percentile(latencies, p), 2) for p in (50, 95, 99)}
        if latencies
        else None
    )
    judged = [r["judge"] for r in records if "judge" in r]
    if judged:
        summary["llm_accuracy"] = round(metrics.mean(j == "correct" for j in judged), 3)
    return summary


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run_info(env: dict[str, str]) -> dict:
    """Where the figures were measured: the commit, the machine, the service's settings."""
    return {
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
        },
        "service_env": redacted(env),
        "memory_limit_number": MEMORY_LIMIT,
        "token_rule": metrics.TOKEN_RULE,
    }
