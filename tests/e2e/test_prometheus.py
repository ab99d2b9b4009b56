"""The dashboard and the alerts against a real Prometheus (`make prometheus` installs it)
scraping the distributed processes with deploy/prometheus/prometheus.yml, its targets moved
to this machine's ports: every expression of every panel returns data through the HTTP API."""

import json
import math
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.cluster import Cluster, running_cluster
from tests.e2e.process import Service, free_port, post, run_service
from tests.fake_llm import fake_llm_server
from tests.services import postgres_server

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
DASHBOARD = ROOT / "deploy/grafana/dashboards/memos.json"
# What Grafana puts in place of its built-in variables, for a dashboard over the last hour.
GRAFANA_BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
DEADLINE = 90  # seconds for every expression to have data (1 s scrapes, a few rounds)


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def local_config(targets: dict[str, list[str]]) -> dict:
    """The deployed config with 1 s scrapes and each job's targets replaced by local ports."""
    config = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(CONFIG.parent / name) for name in config["rule_files"]]
    jobs = config["scrape_configs"]
    assert {job["job_name"] for job in jobs} == set(targets), "a job this test does not start"
    for job in jobs:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    return config


@contextmanager
def prometheus_server(workdir: Path, config: dict) -> Iterator[str]:
    """Its own Prometheus on a free port, with its config and storage in workdir."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run `make prometheus`", pytrace=False)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    address = f"127.0.0.1:{free_port()}"
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={address}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://{address}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(base):
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def panel_targets(dashboard: dict) -> list[tuple[str, dict]]:
    """(panel title, target) for every query of every panel, rows' panels included."""
    found = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found += [(inner["title"], target) for target in inner.get("targets", [])]
    return found


def expression(target: dict, dashboard: dict) -> str:
    """The query as Grafana sends it: variables replaced by their current value."""
    expr = target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value", "$__all")
        values = current if isinstance(current, list) else [current]
        chosen = ".*" if "$__all" in values else "|".join(values)  # a regex, as Grafana's
        expr = re.sub(rf"\$\{{?{variable['name']}\}}?", chosen, expr)
    for builtin, value in GRAFANA_BUILTINS.items():
        expr = expr.replace(builtin, value)
    assert "$" not in expr, f"an unknown variable in {target['expr']}"
    return expr


def query(prometheus: str, expr: str) -> list[dict]:
    answer = httpx.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def has_data(result: list[dict]) -> bool:
    """At least one series with a number: a histogram with no observations in the window
    gives NaN, which Grafana draws as nothing."""
    return any(math.isfinite(float(series["value"][1])) for series in result)


def drive_traffic(cluster: Cluster, broken_gateway: Service, round_number: int) -> None:
    """An add (a job for the worker and the LLM), a search (embeddings, the retriever), and a
    search through a gateway whose retriever is gone: a 503, so the 5xx ratio has data."""
    cluster.call(
        "p",
        "/add/message",
        {
            "user_id": "u",
            "conversation_id": f"c{round_number}",
            "messages": [{"role": "user", "content": f"I run in park number {round_number}."}],
        },
    )
    cluster.call(
        "p", "/search/memory", {"user_id": "u", "query": "park", "return_instruction": True}
    )
    failed = post(
        broken_gateway, cluster.key("p"), "/search/memory", {"user_id": "u", "query": "park"}
    )
    assert failed.status_code == 503, failed.text


def test_every_dashboard_expression_returns_data_from_prometheus(tmp_path, database) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        (title, target, expression(target, dashboard)) for title, target in panel_targets(dashboard)
    ]
    assert len(queries) >= 15, [title for title, _, _ in queries]
    with (
        fake_llm_server() as (_, llm_url),
        running_cluster(
            tmp_path, database, workers=1, LLM_BASE_URL=llm_url, LLM_MODEL="m"
        ) as cluster,
    ):
        broken_gateway = cluster.stack.enter_context(
            run_service(
                "gateway",
                tmp_path / "broken-gateway",
                **cluster.env,
                VECTOR_STORE="remote",
                RETRIEVER_URL=f"http://127.0.0.1:{free_port()}",
            )
        )
        hosts = {
            "gateway": [cluster.gateway, broken_gateway],
            "retriever": [cluster.retriever],
            "extractor": cluster.workers,
        }
        config = local_config(
            {
                job: [s.base.removeprefix("http://") for s in services]
                for job, services in hosts.items()
            }
        )
        with prometheus_server(tmp_path / "prometheus", config) as prometheus:
            started = time.monotonic()
            empty = [title for title, _, _ in queries]
            round_number = 0
            while empty:
                assert time.monotonic() - started < DEADLINE, f"no data in Prometheus: {empty}"
                drive_traffic(cluster, broken_gateway, round_number)
                round_number += 1
                time.sleep(1)
                empty = [
                    f"{title}: {expr}"
                    for title, _, expr in queries
                    if not has_data(query(prometheus, expr))
                ]
            elapsed = time.monotonic() - started

            for title, target, expr in queries:
                # Each label the legend shows is in the answer, else the legend is blank.
                for label in re.findall(r"{{\s*(\w+)\s*}}", target.get("legendFormat", "")):
                    assert all(label in s["metric"] for s in query(prometheus, expr)), (
                        title,
                        label,
                    )
            # A service that never answered 5xx is drawn at 0, not left out of the panel.
            ratio = {
                s["metric"]["service"]: float(s["value"][1])
                for s in query(prometheus, next(e for t, _, e in queries if "5xx" in t))
            }
            assert ratio["gateway"] > 0 and ratio.get("retriever") == 0, ratio
            targets = httpx.get(prometheus + "/api/v1/targets").json()["data"]["activeTargets"]
            assert len(targets) == 4 and all(t["health"] == "up" for t in targets), targets
            # Every alert rule evaluates on the real series without an error.
            groups = httpx.get(prometheus + "/api/v1/rules").json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            assert len(rules) == 5, rules
            assert all(rule["health"] == "ok" for rule in rules), rules
    print(
        f"\nevery dashboard expression had data after {elapsed:.1f} s, "
        f"{round_number} rounds of traffic"
    )
