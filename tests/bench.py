"""`make bench`: latency and throughput of `memos serve` on this machine, and extraction
throughput of the distributed mode with 1 and 2 worker processes (PostgreSQL and Redis of
this machine), printed as a table and written to bench-results/bench.json.

BENCH_SIZES (default "1000") sets the memory counts searched at; BENCH_ADDS the number of
timed adds (default 300); BENCH_JOBS the jobs per worker-throughput run (default 200)."""

import json
import os
import platform
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from tests.e2e.process import run_service

TOPICS = ["旅行", "美食", "运动", "音乐", "工作", "家人", "宠物", "读书", "电影", "学习",
          "travel", "cooking", "running", "jazz", "startup", "garden", "chess", "movies"]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.array(samples_ms)
    return {f"p{p}": round(float(np.percentile(values, p)), 2) for p in (50, 95, 99)}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fact(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    if i % len(TOPICS) < 10:
        return f"我第{i}次提到{topic}：我最近很喜欢{topic}，每周都会花时间在{topic}上。"
    return f"Note {i}: I have been really into {topic} lately and spend every weekend on it."


class Client:
    def __init__(self, api: str, key: str) -> None:
        self.http = httpx.Client(base_url=api, headers={"Authorization": f"Token {key}"},
                                 timeout=60, limits=httpx.Limits(max_connections=32))

    def call(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        payload = response.json()
        if payload["code"] != 0:
            raise RuntimeError(f"{path}: {payload}")
        return payload["data"]

    def add(self, user: str, conversation: str, text: str) -> str:
        return self.call("/add/message", {"user_id": user, "conversation_id": conversation,
                                          "messages": [{"role": "user", "content": text}]})[
            "task_id"]

    def wait_all(self, task_ids: list[str]) -> None:
        for task_id in task_ids:
            while self.call("/get/status", {"task_id": task_id})["status"] == "running":
                time.sleep(0.05)


def bench_embedding() -> dict:
    from shared.embeddings import get_embedder

    embedder = get_embedder()
    embedder.embed_queries(["warm up"])
    samples = []
    for i in range(200):
        started = time.perf_counter()
        embedder.embed_queries([f"{TOPICS[i % len(TOPICS)]} 怎么安排 {i}"])
        samples.append((time.perf_counter() - started) * 1000)
    return {"embedder": embedder.name, **percentiles(samples)}


def bench_adds(client: Client, count: int) -> dict:
    user = f"bench-add-{uuid.uuid4().hex[:6]}"
    samples = []
    for i in range(count):
        started = time.perf_counter()
        client.add(user, f"c{i}", fact(i) + f" #{uuid.uuid4().hex[:6]}")
        samples.append((time.perf_counter() - started) * 1000)
    sustained_user = f"bench-rate-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        task_ids = list(pool.map(lambda i: client.add(sustained_user, f"c{i}", fact(i)),
                                 range(count)))
    rate = count / (time.perf_counter() - started)
    drain = time.perf_counter()
    client.wait_all(task_ids)
    return {"latency_ms": percentiles(samples), "messages_per_s_16_clients": round(rate, 1),
            "extraction_drain_s": round(time.perf_counter() - drain, 2)}


def bench_lag(client: Client, samples: int = 20) -> dict:
    user = f"bench-lag-{uuid.uuid4().hex[:6]}"
    lags = []
    for i in range(samples):
        marker = f"独角兽{uuid.uuid4().hex[:4]}"
        started = time.perf_counter()
        client.add(user, "c", f"我给新宠物取名叫{marker}，它是一只橘猫。{i}")
        while True:
            found = client.call("/search/memory", {"user_id": user, "query": f"{marker} 宠物",
                                                   "memory_limit_number": 1})
            hits = found["memory_detail_list"]
            if hits and marker in hits[0]["memory_value"]:
                break
            time.sleep(0.005)
        lags.append((time.perf_counter() - started) * 1000)
    return percentiles(lags)


def bench_search(client: Client, size: int) -> dict:
    user = f"bench-search-{size}-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        task_ids = list(pool.map(lambda i: client.add(user, f"c{i % 50}", fact(i)), range(size)))
    client.wait_all(task_ids)
    ingest = time.perf_counter() - started
    samples = []
    for i in range(200):
        query = f"{TOPICS[i % len(TOPICS)]}的安排" if i % 2 else f"what about {TOPICS[i % 18]}"
        t0 = time.perf_counter()
        client.call("/search/memory", {"user_id": user, "query": query,
                                       "conversation_id": f"c{i % 50}"})
        samples.append((time.perf_counter() - t0) * 1000)
    return {"memories": size, "ingest_memories_per_s": round(size / ingest, 1),
            **percentiles(samples)}


def bench_workers(workers: int, jobs: int) -> dict:
    """Jobs/s of `workers` worker processes (one pool process each) draining `jobs` adds."""
    from tests.e2e.cluster import running_cluster
    from tests.services import postgres_server

    with tempfile.TemporaryDirectory() as tmp, postgres_server() as database, \
            running_cluster(Path(tmp), database, workers=workers) as cluster:
        user = f"bench-workers-{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            task_ids = list(pool.map(lambda i: cluster.call("bench", "/add/message", {
                "user_id": user, "conversation_id": f"c{i}",
                "messages": [{"role": "user", "content": fact(i)}]})["task_id"], range(jobs)))
        cluster.wait_done("bench", task_ids, timeout=900)
        seconds = time.perf_counter() - started
    return {"workers": workers, "jobs": jobs, "seconds": round(seconds, 2),
            "jobs_per_s": round(jobs / seconds, 1)}


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000").split(",") if s]
    adds = int(os.environ.get("BENCH_ADDS", "300"))
    machine = {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
               "system": f"{platform.system()} {platform.release()}"}
    results: dict = {"machine": machine, "query_embedding_ms": bench_embedding()}
    with tempfile.TemporaryDirectory() as tmp, run_service(
            "serve", Path(tmp) / "data", RATE_LIMIT_PER_SECOND="0", LOG_LEVEL="WARNING") as svc:
        client = Client(svc.api, (Path(tmp) / "data" / "api-key").read_text().strip())
        results["add"] = bench_adds(client, adds)
        results["add_to_searchable_ms"] = bench_lag(client)
        results["search"] = [bench_search(client, size) for size in sizes]
    jobs = int(os.environ.get("BENCH_JOBS", "200"))
    results["workers"] = [bench_workers(n, jobs) for n in (1, 2)]

    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nmachine: {machine['cpus']} CPUs, {machine['cpu']}, Python {machine['python']}, "
          f"{machine['system']} (embedded mode, one `memos serve` process)\n")
    rows = [("query embedding alone (" + results["query_embedding_ms"]["embedder"] + ")",
             results["query_embedding_ms"]),
            ("add/message latency, sequential", results["add"]["latency_ms"]),
            ("add -> searchable lag", results["add_to_searchable_ms"])]
    rows += [(f"search/memory at {s['memories']} memories, one user", s)
             for s in results["search"]]
    print(f"{'measure':58} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in rows:
        print(f"{name:58} {values['p50']:>8} {values['p95']:>8} {values['p99']:>8}")
    print(f"\nadd/message sustained, 16 clients: {results['add']['messages_per_s_16_clients']} "
          f"messages/s; extraction drained {adds} jobs in {results['add']['extraction_drain_s']}"
          f" s after the last add")
    for s in results["search"]:
        print(f"ingest to {s['memories']} memories: {s['ingest_memories_per_s']} memories/s "
              "(add + extraction + embedding + indexing)")
    for run in results["workers"]:
        print(f"distributed extraction, {run['workers']} worker process(es): "
              f"{run['jobs_per_s']} jobs/s ({run['jobs']} jobs in {run['seconds']} s)")
    print(f"\nwritten to {out / 'bench.json'}")


if __name__ == "__main__":
    main()
