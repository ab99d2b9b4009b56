"""The `preferences` suite of `make eval`: whether the preferences a user stated come back, in
`preference_detail_list` and in the `preference_note`, for the requests they bear on.

Starts `memos serve` on a fresh data directory, sends the dialogues of
tests/eval/preference_data.py (two Chinese users, two English) as the `ours` suite does, then
makes every request through `search/memory` with the SDK's defaults (`include_preference`,
`preference_limit_number` 6) and scores the preference list by the messages each preference
came from: recall@1/3/6, MRR, how often an outdated preference ranks above the current one, and
the share of the evidence the note carries. Results in bench-results/preferences.json.

    python -m tests.eval --suite preferences [--env KEY=VALUE ...]
"""

import json
import sys
import time
from pathlib import Path

from tests.eval import metrics
from tests.eval.common import Client, fmt, fresh_service, run_info
from tests.eval.ours import ingest
from tests.eval.preference_data import LANGUAGE, REQUESTS, USERS

LIMIT = 6  # the SDK's preference_limit_number
AT = (1, 3, 6)


def ask(client: Client, local_ids: dict[str, str], request: dict) -> dict:
    started = time.perf_counter()
    data = client.call(
        "/search/memory",
        {
            "user_id": request["user"],
            "query": request["question"],
            "include_preference": True,
            "preference_limit_number": LIMIT,
        },
    )
    latency = (time.perf_counter() - started) * 1000
    preferences = data["preference_detail_list"]
    ranking = [{local_ids.get(s["id"], s["id"]) for s in p["sources"]} for p in preferences]
    noted = [
        sources
        for p, sources in zip(preferences, ranking, strict=True)
        if p["preference"].rstrip("。.") in data["preference_note"]
    ]
    evidence = request["evidence"]
    record = {
        "id": request["id"],
        "language": LANGUAGE[request["user"]],
        "category": request["category"],
        "request": request["question"],
        "answer": request["answer"],
        **{f"recall@{k}": metrics.recall_at(ranking, evidence, k) for k in AT},
        "rr": metrics.reciprocal_rank(ranking, evidence),
        "in_note": metrics.recall_at(noted, evidence, LIMIT),
        "noted": len(noted),
        "latency_ms": round(latency, 2),
        "preferences": [
            {"value": p["preference"], "relativity": p["relativity"], "sources": sorted(s)}
            for p, s in zip(preferences, ranking, strict=True)
        ],
        "note": data["preference_note"],
    }
    if "stale" in request:
        record["stale_first"] = metrics.stale_first(ranking, evidence, request["stale"])
    return record


def summarize(records: list[dict]) -> dict:
    updated = [r["stale_first"] for r in records if "stale_first" in r]
    return {
        "requests": len(records),
        **{f"recall@{k}": round(metrics.mean(r[f"recall@{k}"] for r in records), 3) for k in AT},
        "mrr": round(metrics.mean(r["rr"] for r in records), 3),
        "in_note": round(metrics.mean(r["in_note"] for r in records), 3),
        "noted_per_request": round(metrics.mean(r["noted"] for r in records), 2),
        "stale_first": round(metrics.mean(updated), 3) if updated else None,
        "latency_p50_ms": round(metrics.percentile([r["latency_ms"] for r in records], 50), 2),
    }


def report(results: dict) -> str:
    head = (
        f"{'group':6} {'n':>3} {'R@1':>6} {'R@3':>6} {'R@6':>6} {'MRR':>6} {'in note':>8} "
        f"{'noted/q':>8} {'stale_first':>11}"
    )
    lines = [
        f"\npreferences: {results['requests']} requests over {len(USERS)} users; search/memory "
        f"with include_preference, preference_limit_number {LIMIT}",
        f"ingestion + extraction: {results['ingestion']['seconds']} s",
        "",
        head,
        "-" * len(head),
    ]
    for name, s in results["summary"].items():
        lines.append(
            f"{name:6} {s['requests']:>3} {fmt(s['recall@1']):>6} {fmt(s['recall@3']):>6} "
            f"{fmt(s['recall@6']):>6} {fmt(s['mrr']):>6} {fmt(s['in_note']):>8} "
            f"{s['noted_per_request']:>8.2f} {fmt(s['stale_first']):>11}"
        )
    lines += [
        "",
        "R@k: fraction of the request's evidence messages among the sources of the first k "
        "preferences; in note: of the evidence, the fraction whose preference the "
        "preference_note carries; noted/q: preferences in the note per request; stale_first "
        "(updated only): an outdated preference ranks above the current one, or the current "
        "one is missing.",
    ]
    return "\n".join(lines)


def run(env: dict[str, str], *, timeout: float, out: Path) -> dict:
    with fresh_service(env) as client:
        print(f"ingesting {sum(len(s) for s in USERS.values())} sessions ...", file=sys.stderr)
        ingestion = ingest(client, timeout, USERS)
        local_ids = ingestion.pop("local_ids")
        records = [ask(client, local_ids, r) for r in REQUESTS]
    groups = {
        "all": records,
        **{lang: [r for r in records if r["language"] == lang] for lang in ("zh", "en")},
    }
    results = {
        **run_info(env),
        "requests": len(records),
        "ingestion": ingestion,
        "summary": {name: summarize(group) for name, group in groups.items()},
        "per_request": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(report(results))
    print(f"\nwritten to {out}")
    return results
