"""The distributed mode on this machine's PostgreSQL and a real redis-server: gateway,
retriever and extractor workers as separate processes. Nothing lost, nothing twice, at scale
and through failures."""

import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from services.extractor.rules import extract_by_rules
from services.extractor.schemas import Turn
from tests.e2e.cluster import Cluster, running_cluster, scrape
from tests.e2e.process import post, run_service, stop
from tests.fake_llm import fake_llm_server
from tests.services import postgres_server

ROOT = Path(__file__).resolve().parents[2]
CITIES = ["杭州", "成都", "西安", "厦门", "青岛", "Lisbon", "Kyoto", "Oslo", "Austin", "Cusco"]
PETS = ["猫", "狗", "兔子", "鹦鹉", "仓鼠", "turtle", "hamster", "parrot", "goldfish", "dog"]


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def conversation(i: int) -> list[dict]:
    city, pet = CITIES[i % len(CITIES)], PETS[(i * 7) % len(PETS)]
    if i % 2:
        return [
            {"role": "user", "content": f"I live in {city} and I have a {pet} named Buddy{i}."},
            {"role": "assistant", "content": f"{city} sounds lovely, Buddy{i} is a great name."},
            {"role": "user", "content": f"My favourite hobby is painting number {i}."},
        ]
    return [
        {"role": "user", "content": f"我住在{city}，养了一只{pet}，名字叫小{i}号。"},
        {"role": "assistant", "content": f"{city}很美，小{i}号这个名字很可爱。"},
        {"role": "user", "content": f"我每个周末都去第{i}号公园跑步。"},
    ]


def expected_memories(messages: list[dict]) -> int:
    """The facts the rules make of the messages (what get/memory's total counts)."""
    said = [Turn(str(n), m["role"], m["content"], None) for n, m in enumerate(messages)]
    return sum(m.kind == "fact" for m in extract_by_rules(said))


def add_with_retry(cluster: Cluster, project: str, body: dict, codes: list[int]) -> dict:
    """What a client (and the official SDK) does: retry until the add is accepted."""
    for _ in range(200):
        try:
            answer = post(cluster.gateway, cluster.key(project), "/add/message", body).json()
        except httpx.HTTPError:
            answer = {"code": -1}
        codes.append(answer["code"])
        if answer["code"] == 0:
            return answer["data"]
        time.sleep(0.1)
    raise AssertionError(f"add never accepted: {codes[-5:]}")


def check_exactly_once(cluster: Cluster, project: str, user: str, messages: list[dict]) -> None:
    page = cluster.call(project, "/get/memory", {"user_id": user, "size": 50})
    assert page["total"] == expected_memories(messages), (user, page["total"])
    query = messages[0]["content"]
    hits = cluster.call(project, "/search/memory", {"user_id": user, "query": query})[
        "memory_detail_list"
    ]
    assert any(query in [s["content"] for s in hit["sources"]] for hit in hits[:2]), hits


def test_two_workers_extract_200_conversations_of_4_projects_once(tmp_path, database) -> None:
    with running_cluster(tmp_path, database, workers=2) as cluster:
        projects = [f"project-{n}" for n in range(4)]
        work = [(projects[i % 4], f"user-{i}", f"conv-{i}", conversation(i)) for i in range(200)]

        def add(item):
            project, user, conv, messages = item
            return cluster.call(
                project,
                "/add/message",
                {"user_id": user, "conversation_id": conv, "messages": messages},
            )["task_id"]

        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            task_ids = list(pool.map(add, work))
        for project in projects:
            cluster.wait_done(
                project, [t for t, w in zip(task_ids, work, strict=True) if w[0] == project]
            )
        elapsed = time.monotonic() - started
        for project, user, _, messages in work:
            check_exactly_once(cluster, project, user, messages)
        # A project sees only its own users.
        assert cluster.call(projects[1], "/get/memory", {"user_id": "user-0"})["total"] == 0

        completed = [
            _sum(scrape(w.base), 'memos_jobs_total{outcome="completed"}') for w in cluster.workers
        ]
        assert sum(completed) == 200 and all(c > 0 for c in completed), completed
        print(f"\n200 conversations through 2 workers in {elapsed:.1f} s")


def test_two_gateways_given_the_same_adds_store_them_once(tmp_path, database) -> None:
    """Clients retrying through a load balancer: each add sent 4 times to each of two gateway
    processes at once is stored and extracted once, and sliding windows of one conversation
    store each message once."""
    with running_cluster(tmp_path, database, workers=1) as cluster:
        second = cluster.stack.enter_context(
            run_service(
                "gateway",
                tmp_path / "gateway2",
                **cluster.env,
                RETRIEVER_URL=cluster.retriever.base,
                VECTOR_STORE="remote",
            )
        )
        key = cluster.key("p")
        work = [(f"user-{i}", conversation(i)) for i in range(6)]
        lines = [
            {
                "role": "user",
                "content": f"第{i}条：{conversation(i)[0]['content']}",
                "chat_time": f"2025-05-0{1 + i} 20:00",
            }
            for i in range(6)
        ]
        windows = [
            {"user_id": "window", "conversation_id": "c", "messages": lines[i : i + 3]}
            for i in range(4)
        ]  # 3 lines sliding by one

        def send(pair):
            gateway, body = pair
            answer = post(gateway, key, "/add/message", body).json()
            assert answer["code"] == 0, answer
            return answer["data"]["task_id"]

        bodies = [
            {"user_id": user, "conversation_id": "c", "messages": messages}
            for user, messages in work
        ] + windows
        with ThreadPoolExecutor(16) as pool:
            task_ids = list(
                pool.map(
                    send,
                    [
                        (gateway, body)
                        for body in bodies * 4
                        for gateway in (cluster.gateway, second)
                    ],
                )
            )
        assert len(set(task_ids)) == len(bodies)
        cluster.wait_done("p", sorted(set(task_ids)))
        for user, messages in work:
            check_exactly_once(cluster, "p", user, messages)
        stored = cluster.call("p", "/get/message", {"user_id": "window", "conversation_id": "c"})
        assert sorted(m["content"] for m in stored["message_detail_list"]) == sorted(
            m["content"] for m in lines
        )


def _sum(metrics: str, series: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(series)
    )


def test_every_series_the_dashboard_queries_is_exported(tmp_path, database) -> None:
    with (
        fake_llm_server() as (_, url),
        running_cluster(tmp_path, database, workers=1, LLM_BASE_URL=url, LLM_MODEL="m") as cluster,
    ):
        task = cluster.call(
            "p",
            "/add/message",
            {"user_id": "u", "conversation_id": "c", "messages": conversation(0)},
        )["task_id"]
        cluster.wait_done("p", [task])
        cluster.call(
            "p", "/search/memory", {"user_id": "u", "query": "跑步", "return_instruction": True}
        )
        exported = "\n".join(
            scrape(s.base) for s in (cluster.gateway, cluster.retriever, *cluster.workers)
        )
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/memos.json").read_text())
    queried = set(re.findall(r"memos_[a-z_]+", json.dumps(dashboard)))
    alerts = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    queried |= set(re.findall(r"memos_[a-z_]+", alerts))
    assert len(queried) >= 10, queried
    names = set(
        re.findall(
            r"^(memos_[a-z_]+?)(?:_bucket|_count|_sum|_total|_created)?[{ ]", exported, re.MULTILINE
        )
    )
    names |= set(re.findall(r"^(memos_[a-z_]+)[{ ]", exported, re.MULTILINE))
    missing = {
        q
        for q in queried
        if q not in names and re.sub(r"_(bucket|count|sum|total)$", "", q) not in names
    }
    assert not missing, f"the dashboard queries series nobody exports: {missing}"


def test_worker_killed_mid_job_loses_nothing_and_writes_once(tmp_path, database) -> None:
    with fake_llm_server() as (llm, url):
        llm.delay = 3.0  # every extraction takes long enough to be killed in the middle
        with running_cluster(
            tmp_path, database, workers=1, LLM_BASE_URL=url, LLM_MODEL="m"
        ) as cluster:
            messages = conversation(0)
            task = cluster.call(
                "p", "/add/message", {"user_id": "u", "conversation_id": "c", "messages": messages}
            )["task_id"]
            deadline = time.monotonic() + 30
            while not llm.extraction_requests:
                assert time.monotonic() < deadline, cluster.workers[0].output()[-2000:]
                time.sleep(0.05)
            stop(cluster.workers[0], signal.SIGKILL)  # main process and pool child, mid-job
            assert cluster.call("p", "/get/status", {"task_id": task})["status"] == "running"
            llm.delay = 0.0
            cluster.start_worker("replacement")
            cluster.wait_done("p", [task], timeout=60)
            memories = cluster.call("p", "/get/memory", {"user_id": "u", "size": 50})
            user_lines = [m for m in messages if m["role"] == "user"]
            assert memories["total"] == len(user_lines)  # one per user line, as answered
            assert len(llm.extraction_requests) >= 2  # the killed run and the re-run


def test_redis_restart_while_adding_loses_nothing(tmp_path, database) -> None:
    with running_cluster(tmp_path, database, workers=2) as cluster:
        work = [(f"user-{i}", conversation(i)) for i in range(60)]
        codes: list[int] = []
        accepted: list[str] = []

        def client() -> None:
            for user, messages in work:
                accepted.append(
                    add_with_retry(
                        cluster,
                        "p",
                        {"user_id": user, "conversation_id": "c", "messages": messages},
                        codes,
                    )["task_id"]
                )
                time.sleep(0.05)

        thread = threading.Thread(target=client)
        thread.start()
        while len(accepted) < 15:
            time.sleep(0.02)
        cluster.redis.kill()
        down_at = len(accepted)
        time.sleep(3)
        cluster.redis.start()
        thread.join(timeout=180)
        assert not thread.is_alive()
        assert 50004 in codes, "the gateway never noticed the broker was down"
        assert down_at < 60
        cluster.wait_done("p", accepted, timeout=180)
        for user, messages in work:
            check_exactly_once(cluster, "p", user, messages)


def test_consolidation_through_the_retrievers_index(tmp_path, database) -> None:
    """Workers without a Qdrant server compare new memories with the user's existing ones
    through the retriever that owns the index."""
    with running_cluster(tmp_path, database, workers=1) as cluster:
        for user, conversation, text in (
            ("u", "c1", "我住在杭州。"),
            ("u", "c2", "我搬到了上海。"),
            ("u", "c3", "我每周三晚上去游泳。"),
            ("u", "c4", "我每周三晚上去游泳。"),
            ("u2", "c1", "我爱吃辣，无辣不欢。"),
            ("u2", "c2", "我现在不吃辣了，胃不好。"),
        ):
            task = cluster.call(
                "p",
                "/add/message",
                {
                    "user_id": user,
                    "conversation_id": conversation,
                    "messages": [{"role": "user", "content": text}],
                },
            )["task_id"]
            cluster.wait_done("p", [task])
        page = cluster.call("p", "/get/memory", {"user_id": "u", "size": 50})
        states = sorted(
            (m["memory_value"], m["status"], len(m["sources"])) for m in page["memory_detail_list"]
        )
        assert states == [
            ("[user观点]用户住在杭州。", "archived", 1),
            ("[user观点]用户搬到了上海。", "activated", 1),
            ("[user观点]用户每周三晚上去游泳。", "activated", 2),
        ]
        # An edit re-embeds through a worker writing to the retriever's index; rerank runs
        # in the retriever.
        (moved,) = [m for m in page["memory_detail_list"] if "上海" in m["memory_value"]]
        edit = {"memory_id": moved["id"], "content": "[user观点]用户搬到了深圳。"}
        cluster.wait_done("p", [cluster.call("p", "/update/memory", edit)["task_id"]])
        hits = cluster.call("p", "/search/memory", {"user_id": "u", "query": "用户现在住在深圳吗"})
        first = hits["memory_detail_list"][0]
        assert (first["id"], first["memory_value"]) == (moved["id"], edit["content"])
        documents = ["我住在上海。", "我每周三晚上去游泳。"]
        ranked = cluster.call("p", "/rerank", {"query": "游泳", "documents": documents})
        assert [r["index"] for r in ranked["results"]] == [1, 0]
        # Preferences are compared with preferences, through the same index.
        liked = cluster.call("p", "/get/memory", {"user_id": "u2"})["preference_detail_list"]
        assert sorted((p["preference"], p["status"]) for p in liked) == [
            ("用户爱吃辣", "archived"),
            ("用户现在不吃辣了", "activated"),
        ]
        found = cluster.call("p", "/search/memory", {"user_id": "u2", "query": "晚饭吃川菜吗"})
        assert [p["preference"] for p in found["preference_detail_list"]] == ["用户现在不吃辣了"]


def test_erasure_reaches_the_retrievers_index(tmp_path, database) -> None:
    """A gateway without a Qdrant server of its own erases the user's points in the index the
    retriever owns, those SQL no longer knows included (a point whose row never committed)."""
    with running_cluster(tmp_path, database, workers=1) as cluster:
        task = cluster.call(
            "p",
            "/add/message",
            {
                "user_id": "u",
                "conversation_id": "c",
                "messages": [{"role": "user", "content": "My phone number is 555-0101."}],
            },
        )["task_id"]
        cluster.wait_done("p", [task])
        internal = {"X-Internal-Token": cluster.env["INTERNAL_TOKEN"]}
        vector = [1.0] + [0.0] * 383
        orphan = {
            "id": "00000000-0000-4000-8000-000000000001",
            "vector": vector,
            "indices": [1],
            "values": [1.0],
            "payload": {
                "project_id": "p",
                "user_id": "u",
                "conversation_id": "c",
                "status": "activated",
                "memory_type": "WorkingMemory",
                "tags": [],
                "info": {},
                "agent_id": None,
                "app_id": None,
                "confidence": 1.0,
                "memory_time": None,
                "create_time": 1,
                "update_time": 1,
                "subject": None,
            },
        }
        query = {"queries": [{"vector": vector, "limit": 100}], "project_id": "p", "user_id": "u"}

        def points() -> int:
            answer = httpx.post(
                cluster.retriever.base + "/internal/index/query", json=query, headers=internal
            ).json()
            assert answer["code"] == 0, answer
            return len(answer["data"][0])

        assert (
            httpx.post(
                cluster.retriever.base + "/internal/index/upsert",
                json={"items": [orphan]},
                headers=internal,
            ).json()["code"]
            == 0
        )
        assert points() == 2
        cluster.call("p", "/delete/user", {"user_id": "u"})
        assert points() == 0
