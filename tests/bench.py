"""`make bench`: latency and throughput of `memos serve` on this machine, and extraction
throughput of the distributed mode with 1 and 2 worker processes (PostgreSQL and Redis of
this machine), printed as a table and written to bench-results/bench.json.

BENCH_SIZES (default "1000,10000,100000") sets the memory counts searched at; BENCH_ADDS the
number of timed adds (default 300); BENCH_JOBS the jobs per worker-throughput run (default
200); BENCH_MEM0_SIZES (default "1000,10000") the memory counts mem0 runs the same searches
at; BENCH_LARGE_ADD_WAIT (default 1800) the seconds the 2 MB add's extraction is waited
for."""

import asyncio
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

from tests.e2e.process import MEMOS, run_service

TOPICS = [
    "旅行",
    "美食",
    "运动",
    "音乐",
    "工作",
    "家人",
    "宠物",
    "读书",
    "电影",
    "学习",
    "travel",
    "cooking",
    "running",
    "jazz",
    "startup",
    "garden",
    "chess",
    "movies",
]


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
        self.http = httpx.Client(
            base_url=api,
            headers={"Authorization": f"Token {key}"},
            timeout=60,
            limits=httpx.Limits(max_connections=32),
        )

    def call(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        payload = response.json()
        if payload["code"] != 0:
            raise RuntimeError(f"{path}: {payload}")
        return payload["data"]

    def add(self, user: str, conversation: str, text: str) -> str:
        return self.call(
            "/add/message",
            {
                "user_id": user,
                "conversation_id": conversation,
                "messages": [{"role": "user", "content": text}],
            },
        )["task_id"]

    def wait_all(self, task_ids: list[str]) -> None:
        for task_id in task_ids:
            while self.call("/get/status", {"task_id": task_id})["status"] == "running":
                time.sleep(0.05)


def bench_embedding() -> dict:
    from shared.config import Settings
    from shared.embeddings import build_embedder

    embedder = build_embedder(Settings())
    embedder.embed_queries(["warm up"])
    samples = []
    for i in range(200):
        started = time.perf_counter()
        embedder.embed_queries([f"{TOPICS[i % len(TOPICS)]} 怎么安排 {i}"])
        samples.append((time.perf_counter() - started) * 1000)
    return {"embedder": embedder.name, **percentiles(samples)}


def turn(i: int) -> tuple[str, dict]:
    """An add as a chat app sends one: a user's line and the assistant's answer."""
    return "/add/message", {
        "user_id": f"bench-rate-{i % 50}",
        "conversation_id": f"c{i % 200}",
        "messages": [
            {"role": "user", "content": f"{fact(i)} #{i}"},
            {"role": "assistant", "content": "好的，我记住了。"},
        ],
    }


def bench_add_rates(api: str, key: str, rates: list[int], seconds: float) -> list[dict]:
    """add/message latency with adds arriving at fixed rates (open loop, from this process),
    then the most it sustains: 64 clients sending as fast as answers come back."""
    from tests.load import drive_adds, open_loop

    asyncio.run(open_loop(api, key, 100, 2, turn))  # warm up: connections, caches
    results = []
    for rate in rates:
        latencies, codes = asyncio.run(open_loop(api, key, rate, seconds, turn))
        assert set(codes) == {0}, f"answers other than success: {codes}"
        results.append({"adds_per_s": rate, "messages_per_s": 2 * rate, **percentiles(latencies)})
    adds, elapsed, latencies = asyncio.run(drive_adds(api, key, 64, seconds, turn))
    results.append(
        {
            "adds_per_s": round(adds / elapsed),
            "messages_per_s": round(2 * adds / elapsed),
            "clients": 64,
            **percentiles(latencies),
        }
    )
    return results


def bench_gateway_adds(rates: list[int], seconds: float) -> list[dict]:
    """One `memos gateway` process on PostgreSQL and Redis, with no worker beside it on
    these 2 CPUs: what a gateway process accepts. Rate limiting is on (through Redis), with a
    limit above the load."""
    from tests.e2e.cluster import running_cluster
    from tests.services import postgres_server

    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_server() as database,
        running_cluster(
            Path(tmp),
            database,
            workers=0,
            OUTBOX_REDRIVE_AFTER="3600",
            RATE_LIMIT_PER_SECOND="100000",
            RATE_LIMIT_BURST="100000",
        ) as cluster,
    ):
        return bench_add_rates(cluster.gateway.api, cluster.key("bench"), rates, seconds)


def bench_adds(client: Client, count: int) -> dict:
    """Embedded mode: one client's adds one after another, then extraction throughput."""
    user = f"bench-add-{uuid.uuid4().hex[:6]}"
    samples = []
    for i in range(count):
        started = time.perf_counter()
        client.add(user, f"c{i}", fact(i) + f" #{uuid.uuid4().hex[:6]}")
        samples.append((time.perf_counter() - started) * 1000)
    drain = time.perf_counter()
    client.wait_all(
        task_ids := [
            client.add(f"bench-drain-{uuid.uuid4().hex[:6]}", f"c{i}", fact(i))
            for i in range(count)
        ]
    )
    return {
        "latency_ms": percentiles(samples),
        "extraction_jobs_per_s": round(len(task_ids) / (time.perf_counter() - drain), 1),
    }


def bench_lag(client: Client, samples: int = 20) -> dict:
    user = f"bench-lag-{uuid.uuid4().hex[:6]}"
    lags = []
    for i in range(samples):
        marker = f"独角兽{uuid.uuid4().hex[:4]}"
        started = time.perf_counter()
        client.add(user, "c", f"我给新宠物取名叫{marker}，它是一只橘猫。{i}")
        while True:
            found = client.call(
                "/search/memory",
                {"user_id": user, "query": f"{marker} 宠物", "memory_limit_number": 1},
            )
            hits = found["memory_detail_list"]
            if hits and marker in hits[0]["memory_value"]:
                break
            time.sleep(0.005)
        lags.append((time.perf_counter() - started) * 1000)
    return percentiles(lags)


LARGE_ADD_WORDS = (
    "I went to the market with my sister yesterday and we bought fresh apples for the pie my "
    "daughter loves to bake on weekends because she says it reminds her of grandma who lived "
    "in Lisbon and taught us how to cook fish stew with tomatoes onions and garlic while the "
    "radio played old jazz songs from the sixties next week we plan to visit the museum "
    "downtown and then hike along the river trail near the old mill"
).split()


def large_add(messages: int = 500, chars: int = 3700) -> list[dict]:
    """A valid add near every limit: `messages` user turns of `chars` characters of real
    words without sentence punctuation (about 1.9 MB of JSON at the defaults)."""
    turns = []
    for i in range(messages):
        words, length = [], 0
        while length < chars:
            word = LARGE_ADD_WORDS[(i * 7 + len(words) * 13) % len(LARGE_ADD_WORDS)]
            words.append(word)
            length += len(word) + 1
        turns.append({"role": "user", "content": " ".join(words)[:chars]})
    return turns


def neighbour_searches(api: str, key: str, user: str, seconds: float) -> list[float] | None:
    """search/memory latencies of one user, 10 a second open loop for `seconds`; None if
    some were still unanswered a minute after the last was sent."""
    from tests.load import open_loop

    def search(i: int) -> tuple[str, dict]:
        return "/search/memory", {
            "user_id": user,
            "conversation_id": "c0",
            "query": f"what about {TOPICS[i % 18]}",
        }

    try:
        latencies, codes = asyncio.run(
            asyncio.wait_for(open_loop(api, key, 10, seconds, search), timeout=seconds + 60)
        )
    except TimeoutError:
        return None
    assert set(codes) == {0}, f"answers other than success: {codes}"
    return latencies


def bench_search_during_large_add(api: str, key: str, seconds: float = 30) -> dict:
    """Another user's search/memory latency, idle and while a 2 MB add (500 messages of 3.7k
    characters) is extracted, and how long that add takes to extract (waited for up to
    BENCH_LARGE_ADD_WAIT seconds, default 1800)."""
    client = Client(api, key)
    user = f"bench-neighbour-{uuid.uuid4().hex[:6]}"
    client.wait_all([client.add(user, f"c{i}", fact(i)) for i in range(20)])
    neighbour_searches(api, key, user, 2)  # warm up
    idle = neighbour_searches(api, key, user, seconds)
    started = time.perf_counter()
    task_id = client.call(
        "/add/message",
        {
            "user_id": f"bench-large-{uuid.uuid4().hex[:6]}",
            "conversation_id": "big",
            "messages": large_add(),
        },
    )["task_id"]
    during = neighbour_searches(api, key, user, seconds)
    wait = float(os.environ.get("BENCH_LARGE_ADD_WAIT", "1800"))
    while (
        client.call("/get/status", {"task_id": task_id})["status"] == "running"
        and time.perf_counter() - started < wait
    ):
        time.sleep(1)
    done = client.call("/get/status", {"task_id": task_id})["status"] != "running"
    return {
        "idle": percentiles(idle),
        "during": percentiles(during) if during else None,
        "extraction_s": round(time.perf_counter() - started) if done else None,
    }


def preload(data_dir: Path, size: int, user: str) -> float:
    """Writes `size` memories of one user straight into a fresh embedded data directory (SQL
    rows with their source messages, and index points; every tenth a preference and every
    tenth a tool memory, which search lists apart), then builds the index. Vectors come
    from 500 really embedded facts, each reused with a little noise, since embedding 100k
    texts on two cores would take the better part of an hour. Returns seconds taken."""
    import subprocess

    from services.extractor.service import _lexical_text, _payload
    from shared.clock import now_ms
    from shared.config import Settings
    from shared.db.models import Memory, MemorySource, Message
    from shared.lexical import document_terms
    from shared.runtime import Runtime
    from shared.vector_store import IndexedMemory

    started = time.perf_counter()
    subprocess.run(
        [MEMOS, "migrate"],
        check=True,
        capture_output=True,
        env={**os.environ, "DATA_DIR": str(data_dir)},
    )
    runtime = Runtime(Settings(data_dir=data_dir, database_url="", qdrant_url=""))
    texts = [fact(i) for i in range(500)]
    vectors = pool_vectors(size, runtime.embedder.embed_passages)
    index = runtime.index
    now = now_ms()
    for start in range(0, size, 5000):
        count = min(5000, size - start)
        messages, memories, sources, points = [], [], [], []
        for i in range(start, start + count):
            text = f"{texts[i % 500]} ({i})"
            message_id, memory_id = str(uuid.uuid4()), str(uuid.uuid4())
            messages.append(
                {
                    "id": message_id,
                    "project_id": "default",
                    "user_id": user,
                    "conversation_id": f"c{i % 50}",
                    "task_id": "bench",
                    "dedupe_key": message_id,
                    "role": "user",
                    "content": text,
                    "chat_time": None,
                    "create_time": now + i,
                }
            )
            row = Memory(
                id=memory_id,
                project_id="default",
                user_id=user,
                conversation_id=f"c{i % 50}",
                task_id="bench",
                memory_key=text[:20],
                memory_value=f"[user观点]{text}",
                memory_type="WorkingMemory",
                kind={0: "explicit_preference", 5: "tool"}.get(i % 10, "fact"),
                status="activated",
                confidence=0.8,
                tags=[],
                info={},
                shared_with=[],
                create_time=now + i,
                update_time=now + i,
                context="",
            )
            memories.append({c.key: getattr(row, c.key) for c in Memory.__table__.columns})
            sources.append({"memory_id": memory_id, "message_id": message_id, "position": 0})
            points.append(
                IndexedMemory(
                    memory_id, vectors[i], document_terms(_lexical_text(row)), _payload(row)
                )
            )
        with runtime.db.engine.begin() as connection:
            connection.execute(Message.__table__.insert(), messages)
            connection.execute(Memory.__table__.insert(), memories)
            connection.execute(MemorySource.__table__.insert(), sources)
        index.upsert(points)
    index.optimize()
    runtime.close()
    return time.perf_counter() - started


def bench_search(size: int) -> dict:
    """search/memory latency through HTTP at `size` memories of one user (embedded mode)."""
    user = f"bench-search-{size}"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        load_seconds = preload(data, size, user)
        with run_service("serve", data, RATE_LIMIT_PER_SECOND="0", LOG_LEVEL="WARNING") as service:
            client = Client(service.api, (data / "api-key").read_text().strip())
            for i in range(20):  # warm up
                client.call("/search/memory", {"user_id": user, "query": TOPICS[i % 18]})
            samples = []
            for i in range(200):
                query = (
                    f"{TOPICS[i % len(TOPICS)]}的安排" if i % 2 else f"what about {TOPICS[i % 18]}"
                )
                t0 = time.perf_counter()
                found = client.call(
                    "/search/memory",
                    {
                        "user_id": user,
                        "query": query,
                        "conversation_id": f"c{i % 50}",
                        "include_tool_memory": True,  # preferences are in by default
                    },
                )
                samples.append((time.perf_counter() - t0) * 1000)
                assert found["memory_detail_list"], "search found nothing"
    return {"memories": size, "preload_s": round(load_seconds, 1), **percentiles(samples)}


def pool_vectors(size: int, embed) -> np.ndarray:
    """The same vectors preload() writes: 500 really embedded facts, reused with noise."""
    pool = embed([fact(i) for i in range(500)])
    rng = np.random.default_rng(0)
    vectors = pool[np.arange(size) % 500] + rng.normal(0, 0.01, (size, pool.shape[1]))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def bench_mem0(size: int) -> dict:
    """mem0 (PyPI mem0ai, its local Qdrant, infer=False so no LLM, the same embedding model
    in-process) on the same memories and queries: add and search latency."""
    os.environ["MEM0_TELEMETRY"] = "False"
    from mem0 import Memory

    from shared.config import Settings
    from shared.embeddings import build_embedder

    embedder = build_embedder(Settings())

    class SameModel:
        def embed(self, text: str, memory_action: str | None = None) -> list[float]:
            if memory_action == "search":
                return embedder.embed_queries([text])[0].tolist()
            return embedder.embed_passages([text])[0].tolist()

    user = f"bench-mem0-{size}"
    with tempfile.TemporaryDirectory() as tmp:
        memory = Memory.from_config(
            {
                "vector_store": {
                    "provider": "qdrant",
                    "config": {
                        "collection_name": "bench",
                        "path": f"{tmp}/qdrant",
                        "on_disk": True,
                        "embedding_model_dims": embedder.dim,
                    },
                },
                "embedder": {
                    "provider": "openai",
                    "config": {"api_key": "unused", "embedding_dims": embedder.dim},
                },
                "llm": {"provider": "openai", "config": {"api_key": "unused"}},
                "history_db_path": f"{tmp}/history.db",
            }
        )
        memory.embedding_model = SameModel()
        vectors = pool_vectors(size, embedder.embed_passages)
        for start in range(0, size, 1000):  # preload through its vector store, as ours is
            stop = min(size, start + 1000)
            memory.vector_store.insert(
                vectors=vectors[start:stop].tolist(),
                ids=[str(uuid.uuid4()) for _ in range(start, stop)],
                payloads=[
                    {
                        "data": f"{fact(i % 500)} ({i})",
                        "user_id": user,
                        "hash": str(i),
                        "created_at": "2025-01-01T00:00:00+00:00",
                    }
                    for i in range(start, stop)
                ],
            )
        adds = []
        for i in range(50):
            started = time.perf_counter()
            memory.add(
                [{"role": "user", "content": f"{fact(i)} (new {i})"}], user_id=user, infer=False
            )
            adds.append((time.perf_counter() - started) * 1000)
        searches = []
        for i in range(50):
            query = f"{TOPICS[i % len(TOPICS)]}的安排" if i % 2 else f"what about {TOPICS[i % 18]}"
            started = time.perf_counter()
            found = memory.search(query, filters={"user_id": user}, limit=6)
            searches.append((time.perf_counter() - started) * 1000)
            assert found["results"], "mem0 found nothing"
        memory.vector_store.client.close()
    return {"memories": size, "add": percentiles(adds), "search": percentiles(searches)}


def bench_workers(workers: int, jobs: int) -> dict:
    """Jobs/s of `workers` worker processes (one pool process each) draining `jobs` adds."""
    from tests.e2e.cluster import running_cluster
    from tests.services import postgres_server

    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_server() as database,
        running_cluster(Path(tmp), database, workers=workers, OUTBOX_REDRIVE_AFTER="60") as cluster,
    ):
        user = f"bench-workers-{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            task_ids = list(
                pool.map(
                    lambda i: cluster.call(
                        "bench",
                        "/add/message",
                        {
                            "user_id": user,
                            "conversation_id": f"c{i}",
                            "messages": [{"role": "user", "content": fact(i)}],
                        },
                    )["task_id"],
                    range(jobs),
                )
            )
        cluster.wait_done("bench", task_ids, timeout=900)
        seconds = time.perf_counter() - started
    return {
        "workers": workers,
        "jobs": jobs,
        "seconds": round(seconds, 2),
        "jobs_per_s": round(jobs / seconds, 1),
    }


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",") if s]
    adds = int(os.environ.get("BENCH_ADDS", "300"))
    rates = [int(r) for r in os.environ.get("BENCH_ADD_RATES", "250,500").split(",") if r]
    seconds = float(os.environ.get("BENCH_ADD_SECONDS", "10"))
    machine = {
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
    results: dict = {"machine": machine, "query_embedding_ms": bench_embedding()}
    results["gateway_add"] = bench_gateway_adds(rates, seconds)
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_service(
            "serve", Path(tmp) / "data", RATE_LIMIT_PER_SECOND="0", LOG_LEVEL="WARNING"
        ) as svc,
    ):
        key = (Path(tmp) / "data" / "api-key").read_text().strip()
        client = Client(svc.api, key)
        results["add"] = bench_adds(client, adds)
        results["add_to_searchable_ms"] = bench_lag(client)
        results["add"]["rates"] = bench_add_rates(svc.api, key, [100, 250], seconds)
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_service(
            "serve", Path(tmp) / "data", RATE_LIMIT_PER_SECOND="0", LOG_LEVEL="WARNING"
        ) as svc,
    ):
        results["large_add"] = bench_search_during_large_add(
            svc.api, (Path(tmp) / "data" / "api-key").read_text().strip()
        )
    results["search"] = [bench_search(size) for size in sizes]
    mem0_sizes = [int(s) for s in os.environ.get("BENCH_MEM0_SIZES", "1000,10000").split(",") if s]
    results["mem0"] = [bench_mem0(size) for size in mem0_sizes]
    jobs = int(os.environ.get("BENCH_JOBS", "200"))
    results["workers"] = [bench_workers(n, jobs) for n in (1, 2)]

    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(
        f"\nmachine: {machine['cpus']} CPUs, {machine['cpu']}, Python {machine['python']}, "
        f"{machine['system']}\n"
    )
    rows = [
        (
            "query embedding alone (" + results["query_embedding_ms"]["embedder"] + ")",
            results["query_embedding_ms"],
        )
    ]
    rows += [(_rate_row("gateway", run), run) for run in results["gateway_add"]]
    rows += [("serve: add/message, one client, sequential", results["add"]["latency_ms"])]
    rows += [(_rate_row("serve", run), run) for run in results["add"]["rates"]]
    rows += [("serve: add -> searchable lag", results["add_to_searchable_ms"])]
    rows += [
        (f"serve: search/memory at {s['memories']} memories, one user", s)
        for s in results["search"]
    ]
    large = results["large_add"]
    rows += [
        ("serve: search p95 while a 2 MB add extracts: idle (10/s, another user)", large["idle"]),
        (
            "serve: search p95 while a 2 MB add extracts: during",
            large["during"] or {"p50": "stalled", "p95": "", "p99": ""},
        ),
    ]
    print(f"{'measure':72} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for name, values in rows:
        print(f"{name:72} {values['p50']:>7} {values['p95']:>7} {values['p99']:>7}")
    print(
        "\ngateway: one `memos gateway` process on PostgreSQL and Redis, no worker beside it; "
        "serve: `memos serve` (what `make run` starts), extraction in the same process.\n"
        "An add carries 2 messages (a user line and the answer); rates are open loop, "
        "latencies timed from each add's scheduled moment."
    )
    print(f"serve: extraction (rule extractor) {results['add']['extraction_jobs_per_s']} jobs/s")
    print(
        "serve: the 2 MB add (500 messages of 3.7k characters) extracted in "
        + (
            f"{large['extraction_s']} s"
            if large["extraction_s"] is not None
            else f"more than {os.environ.get('BENCH_LARGE_ADD_WAIT', '1800')} s"
        )
    )
    for s in results["search"]:
        print(
            f"{s['memories']} memories preloaded (SQL rows and index points, then the HNSW "
            f"build) in {s['preload_s']} s"
        )
    ours = {s["memories"]: s for s in results["search"]}
    add_p50 = results["add"]["latency_ms"]["p50"]
    for run in results["mem0"]:
        print(
            f"mem0 {run['memories']} memories (in-process library, local Qdrant): add p50 "
            f"{run['add']['p50']} ms, search p50 {run['search']['p50']} ms, p95 "
            f"{run['search']['p95']} ms"
        )
        if run["memories"] in ours:
            print(
                f"  ours over HTTP / mem0 in-process: search p50 "
                f"{ours[run['memories']]['p50'] / run['search']['p50']:.2f}x, add p50 "
                f"{add_p50 / run['add']['p50']:.2f}x (lower is faster)"
            )
    for run in results["workers"]:
        print(
            f"distributed extraction, {run['workers']} worker process(es): "
            f"{run['jobs_per_s']} jobs/s ({run['jobs']} jobs in {run['seconds']} s)"
        )
    print(f"\nwritten to {out / 'bench.json'}")


def _rate_row(mode: str, run: dict) -> str:
    how = f"{run['clients']} clients flat out" if "clients" in run else "open loop"
    return (
        f"{mode}: add/message at {run['adds_per_s']} adds/s = {run['messages_per_s']} "
        f"messages/s ({how})"
    )


if __name__ == "__main__":
    main()
