"""The `locomo` suite of `make eval`: evidence recall on the LoCoMo development conversations
(Maharana et al., ACL 2024), beside a BM25 floor over the raw turns.

The protocol is that of mem0's and MemOS's LoCoMo harnesses. Each conversation is added twice,
once from each speaker's side (user `locomo-<file>-<speaker>`, that speaker's turns as `user`,
the other's as `assistant`), one asynchronous `add/message` per session (conversation
`locomo-<file>-s<N>`, every message at the session's date-time, content `"Speaker: text"` plus
` [shares a photo: caption]` for a shared photo); all adds first, then the harness waits for
every extraction job. Each question (categories 1-4; 5, adversarial, is skipped) searches both
sides with `memory_limit_number` 10 and no conversation_id; the two answers are merged by
`relativity` (stable) and the top 10 kept.

A returned memory counts for the turns whose content is among its sources' contents (a memory
with more than 8 sources counts for none), and R@k is the fraction of the question's evidence
turns covered by the top k. The BM25 floor ranks the conversation's turns themselves
(rank_bm25's BM25Okapi, one unit per turn, the same content string, lower-cased and split on
non-alphanumerics) and is scored the same way; a memory service has to beat it.

The released evidence lists have a few slips, read as meant: ids run together with spaces
(`"D9:1 D4:4"`), `D:11:26` for `D11:26`, `D30:05` for `D30:5`; ids of no turn in the
conversation (`D`, a turn past a session's end) are dropped, and the two questions left with no
evidence are asked but not scored.

    python -m tests.eval --suite locomo [--conversations 41,42] [--locomo-dir PATH]
    python -m tests.eval --bm25-only [--conversations ...]      (the floor alone, no service)
"""

import bisect
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from tests.eval import metrics
from tests.eval.common import (
    MEMORY_LIMIT,
    RECALL_AT,
    Client,
    failed,
    fmt,
    fresh_service,
    run_info,
    summarize,
    wait_for_tasks,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO.parent / "shared" / "data" / "locomo-dev"
DATE_TIME = "%I:%M %p on %d %B, %Y"  # "1:56 pm on 8 May, 2023"
CLOCK = "%Y-%m-%d %H:%M:%S"
CATEGORIES = {1: "multi_hop", 2: "temporal", 3: "open_domain", 4: "single_hop"}
MAX_SOURCES = 8  # a memory made of more source messages than this counts for no evidence
BANDS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 1.0))
HEADLINE_RELATIVITY = 0.5
SYSTEMS = ("service", "bm25")
SESSION_KEY = re.compile(r"session_(\d+)")
DIA_ID = re.compile(r"D:?(\d+):(\d+)")
WORD = re.compile(r"[^\W_]+")  # runs of letters and digits


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    content: str


@dataclass(frozen=True)
class Session:
    number: int
    chat_time: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class Question:
    conversation: str
    index: int  # position in the file's `qa` list
    question: str
    answer: Any
    category: str
    evidence: tuple[str, ...]  # cleaned: dia_ids of turns of the conversation
    released: tuple[str, ...]  # the evidence as the file has it


@dataclass
class Conversation:
    stem: str
    speakers: tuple[str, str]
    sessions: tuple[Session, ...]
    questions: tuple[Question, ...] = field(default=())

    @property
    def turns(self) -> list[Turn]:
        return [turn for session in self.sessions for turn in session.turns]

    @cached_property
    def contents(self) -> dict[str, set[str]]:
        """content -> the dia_ids of the turns with exactly that content (a few short turns,
        "See you!", are said more than once)."""
        out: dict[str, set[str]] = {}
        for turn in self.turns:
            out.setdefault(turn.content, set()).add(turn.dia_id)
        return out


# --- the data ------------------------------------------------------------------------------


def content(turn: dict) -> str:
    """A turn as the service receives it, and as BM25 indexes it."""
    text = f"{turn['speaker']}: {turn['text']}"
    caption = turn.get("blip_caption")
    return f"{text} [shares a photo: {caption}]" if caption else text


def chat_time(date_time: str) -> str:
    """ "1:56 pm on 8 May, 2023" -> "2023-05-08 13:56:00"."""
    return datetime.strptime(date_time.strip(), DATE_TIME).strftime(CLOCK)


def clean_evidence(released: list[str], known: set[str]) -> tuple[list[str], list[str]]:
    """(the evidence dia_ids as meant, the entries that name no turn of the conversation)."""
    evidence: list[str] = []
    dropped: list[str] = []
    for entry in released:
        for part in re.split(r"[\s;,]+", entry.strip()):
            if not part:
                continue
            match = DIA_ID.fullmatch(part)
            dia_id = f"D{int(match[1])}:{int(match[2])}" if match else part
            if dia_id not in known:
                dropped.append(part)
            elif dia_id not in evidence:
                evidence.append(dia_id)
    return evidence, dropped


def parse(stem: str, data: dict) -> Conversation:
    speakers = (data["speaker_a"], data["speaker_b"])
    numbers = sorted(int(m[1]) for key in data if (m := SESSION_KEY.fullmatch(key)))
    sessions = []
    for number in numbers:
        turns = tuple(
            Turn(t["dia_id"], t["speaker"], content(t)) for t in data[f"session_{number}"]
        )
        strangers = {t.speaker for t in turns} - set(speakers)
        if strangers:
            raise ValueError(
                f"{stem} session {number}: speakers {strangers} are neither speaker_a nor speaker_b"
            )
        if turns:
            sessions.append(Session(number, chat_time(data[f"session_{number}_date_time"]), turns))
    conversation = Conversation(stem, speakers, tuple(sessions))
    known = {turn.dia_id for turn in conversation.turns}
    questions = []
    for index, qa in enumerate(data.get("qa", [])):
        if qa["category"] not in CATEGORIES:  # 5, adversarial: no answer to find
            continue
        released = list(qa.get("evidence") or [])
        evidence, _ = clean_evidence(released, known)
        questions.append(
            Question(
                stem,
                index,
                qa["question"],
                qa.get("answer"),
                CATEGORIES[qa["category"]],
                tuple(evidence),
                tuple(released),
            )
        )
    conversation.questions = tuple(questions)
    return conversation


def load(directory: Path, only: list[str] | None = None) -> list[Conversation]:
    """The conversations of the development set (all, or the files named by stem)."""
    if not directory.is_dir():
        raise SystemExit(
            f"LoCoMo data not found: {directory} is not a directory. Pass "
            "--locomo-dir PATH or set LOCOMO_DIR to the folder holding the "
            "development set's <stem>.json files."
        )
    files = {path.stem: path for path in directory.glob("*.json")}
    if not files:
        raise SystemExit(f"LoCoMo data not found: no .json file in {directory}")
    if only:
        unknown = [stem for stem in only if stem not in files]
        if unknown:
            raise SystemExit(
                f"--conversations: no {', '.join(unknown)} in {directory} "
                f"(there are {', '.join(sorted(files))})"
            )
        files = {stem: files[stem] for stem in only}
    return [
        parse(stem, json.loads(files[stem].read_text()))
        for stem in sorted(files, key=lambda s: (len(s), s))
    ]


# --- the protocol --------------------------------------------------------------------------


def user_id(stem: str, speaker: str) -> str:
    return f"locomo-{stem}-{speaker}"


def adds(conversation: Conversation) -> list[dict]:
    """The `add/message` bodies: every session from speaker_a's side, then from speaker_b's,
    in session order."""
    bodies = []
    for side in conversation.speakers:
        for session in conversation.sessions:
            bodies.append(
                {
                    "user_id": user_id(conversation.stem, side),
                    "conversation_id": f"locomo-{conversation.stem}-s{session.number}",
                    "async_mode": True,
                    "messages": [
                        {
                            "role": "user" if turn.speaker == side else "assistant",
                            "content": turn.content,
                            "chat_time": session.chat_time,
                        }
                        for turn in session.turns
                    ],
                }
            )
    return bodies


def source_ids(memory: dict, contents: dict[str, set[str]]) -> set[str]:
    """The dia_ids of the turns a memory came from, found by its sources' contents."""
    found: set[str] = set()
    for source in memory.get("sources") or []:
        found |= contents.get(source.get("content"), set())
    return found


def counted_ids(memory: dict, contents: dict[str, set[str]]) -> set[str]:
    """What a memory counts for: its source turns, or nothing when it has more than
    MAX_SOURCES sources (a memory citing half the conversation finds nothing)."""
    if len(memory.get("sources") or []) > MAX_SOURCES:
        return set()
    return source_ids(memory, contents)


def merge(answers: list[list[dict]], limit: int = MEMORY_LIMIT) -> list[dict]:
    """The sides' answers concatenated in order, by relativity descending (a stable sort, so
    ties keep that order), top `limit`."""
    memories = [memory for answer in answers for memory in answer]
    return sorted(memories, key=lambda m: m.get("relativity") or 0.0, reverse=True)[:limit]


def score(question: Question, ranking: list[set[str]]) -> dict:
    """Recall fields of one ranking (one set of dia_ids per returned item, best first);
    `scored` is false, and the fields None, for a question left with no evidence."""
    evidence = question.evidence
    if not evidence:
        return {
            "scored": False,
            **{f"recall@{k}": None for k in RECALL_AT},
            "rr": None,
            "first_evidence_rank": None,
        }
    return {
        "scored": True,
        **{f"recall@{k}": metrics.recall_at(ranking, evidence, k) for k in RECALL_AT},
        "rr": metrics.reciprocal_rank(ranking, evidence),
        "first_evidence_rank": metrics.first_rank(ranking, evidence),
    }


def question_fields(question: Question) -> dict:
    fields = {
        "conversation": question.conversation,
        "qa_index": question.index,
        "category": question.category,
        "question": question.question,
        "answer": question.answer,
        "evidence": list(question.evidence),
    }
    if list(question.evidence) != list(question.released):
        fields["evidence_as_released"] = list(question.released)
    return fields


def dia_order(dia_id: str) -> tuple[int, int]:
    match = DIA_ID.fullmatch(dia_id)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def service_record(
    question: Question, memories: list[dict], contents: dict[str, set[str]], latencies: list[float]
) -> dict:
    """One question's merged top memories, scored; each memory keeps the user (side) it was
    found for, its relativity and its sources as dia_ids."""
    ranking = [counted_ids(m, contents) for m in memories]
    evidence = set(question.evidence)
    sources = [m.get("sources") or [] for m in memories]
    return {
        **question_fields(question),
        **score(question, ranking),
        "tokens": sum(metrics.count_tokens(m["memory_value"]) for m in memories),
        "chars": sum(len(m["memory_value"]) for m in memories),
        "latency_ms": latencies,
        "unmapped_sources": sum(
            1 for s in sources for source in s if source.get("content") not in contents
        ),
        "memories": [
            {
                "user_id": m.get("user_id"),
                "value": m["memory_value"],
                "memory_time": m.get("memory_time"),
                "relativity": m.get("relativity"),
                "sources": sorted(source_ids(m, contents), key=dia_order),
                "source_count": len(s),
                "counted": len(s) <= MAX_SOURCES,
                "holds_evidence": bool(counted & evidence),
            }
            for m, s, counted in zip(memories, sources, ranking, strict=True)
        ],
    }


def ask(client: Client, conversation: Conversation, question: Question) -> dict:
    """Searches both sides (timing each call from the client), merges, scores."""
    answers, latencies = [], []
    for side in conversation.speakers:
        user = user_id(conversation.stem, side)
        started = time.perf_counter()
        data = client.call(
            "/search/memory",
            {"user_id": user, "query": question.question, "memory_limit_number": MEMORY_LIMIT},
        )
        latencies.append(round((time.perf_counter() - started) * 1000, 2))
        answers.append([{**m, "user_id": user} for m in data["memory_detail_list"]])
    return service_record(question, merge(answers), conversation.contents, latencies)


def ingest(client: Client, conversations: list[Conversation], timeout: float) -> dict:
    """Every add first, then the wait for every extraction job."""
    started = time.perf_counter()
    tasks, messages = [], 0
    for conversation in conversations:
        for body in adds(conversation):
            tasks.append(client.call("/add/message", body)["task_id"])
            messages += len(body["messages"])
    accepted = time.perf_counter() - started
    print(
        f"  {len(tasks)} adds accepted in {accepted:.1f} s; waiting for extraction ...",
        file=sys.stderr,
    )
    statuses = wait_for_tasks(client, tasks, timeout)
    return {
        "adds": len(tasks),
        "messages": messages,
        "failed_jobs": failed(statuses),
        "add_seconds": round(accepted, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }


# --- the BM25 floor ------------------------------------------------------------------------


def bm25_tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def bm25_records(conversation: Conversation) -> list[dict]:
    """Every question of the conversation answered by BM25 over its raw turns, top 10."""
    from rank_bm25 import BM25Okapi

    turns = conversation.turns
    index = BM25Okapi([bm25_tokens(turn.content) for turn in turns])
    records = []
    for question in conversation.questions:
        scores = index.get_scores(bm25_tokens(question.question))
        top = [turns[i] for i in np.argsort(-scores, kind="stable")[:MEMORY_LIMIT]]
        records.append(
            {
                **question_fields(question),
                **score(question, [{turn.dia_id} for turn in top]),
                "tokens": sum(metrics.count_tokens(turn.content) for turn in top),
                "chars": sum(len(turn.content) for turn in top),
                "top": [turn.dia_id for turn in top],
            }
        )
    return records


# --- summaries -----------------------------------------------------------------------------


def groups(records: list[dict]) -> dict[str, list[dict]]:
    """all, then each category; scored questions only."""
    scored = [r for r in records if r["scored"]]
    return {
        "all": scored,
        **{c: [r for r in scored if r["category"] == c] for c in CATEGORIES.values()},
    }


def band_of(relativity: float) -> int:
    return bisect.bisect_right([high for _, high in BANDS[:-1]], relativity)


def calibration(records: list[dict]) -> dict:
    """For each relativity band, how many of the returned memories fall in it and the share
    of them that hold evidence for their question; the same for relativity >= 0.5."""
    counts = [[0, 0] for _ in BANDS]
    headline = [0, 0]
    without = 0
    for record in records:
        if not record["scored"]:
            continue
        for memory in record["memories"]:
            relativity = memory["relativity"]
            if relativity is None:
                without += 1
                continue
            cell = counts[band_of(relativity)]
            cell[0] += 1
            cell[1] += memory["holds_evidence"]
            if relativity >= HEADLINE_RELATIVITY:
                headline[0] += 1
                headline[1] += memory["holds_evidence"]

    def share(n: int, hits: int) -> float | None:
        return round(hits / n, 3) if n else None

    return {
        "bands": [
            {
                "band": f"[{low}, {high}{']' if high == 1.0 else ')'}",
                "memories": n,
                "with_evidence": share(n, hits),
            }
            for (low, high), (n, hits) in zip(BANDS, counts, strict=True)
        ],
        "relativity>=0.5": {"memories": headline[0], "with_evidence": share(*headline)},
        "without_relativity": without,
    }


def dataset(conversations: list[Conversation]) -> dict:
    questions = [q for c in conversations for q in c.questions]
    return {
        "conversations": [c.stem for c in conversations],
        "sessions": sum(len(c.sessions) for c in conversations),
        "turns": sum(len(c.turns) for c in conversations),
        "questions": len(questions),
        "by_category": {
            name: sum(1 for q in questions if q.category == name) for name in CATEGORIES.values()
        },
        "evidence_cleaned": sum(1 for q in questions if list(q.evidence) != list(q.released)),
        "not_scored": [f"{q.conversation}#{q.index}" for q in questions if not q.evidence],
    }


# --- report --------------------------------------------------------------------------------


def recall_table(summaries: dict[str, dict[str, dict]]) -> list[str]:
    """One row per system in each group (all, then the categories)."""
    head = (
        f"{'group':12} {'system':8} {'n':>5} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6} "
        f"{'tokens/q':>9} {'chars/q':>8}"
    )
    lines = [head, "-" * len(head)]
    for group in ("all", *CATEGORIES.values()):
        for i, (system, summary) in enumerate(summaries.items()):
            s = summary[group]
            lines.append(
                f"{group if i == 0 else '':12} {system:8} {s['questions']:>5} "
                f"{fmt(s['recall@1']):>6} {fmt(s['recall@5']):>6} "
                f"{fmt(s['recall@10']):>6} {fmt(s['mrr']):>6} "
                f"{fmt(s['tokens_per_query'], 1):>9} "
                f"{fmt(s.get('chars_per_query'), 1):>8}"
            )
    return lines


def describe(data: dict) -> str:
    n = len(data["conversations"])
    return (
        f"LoCoMo: {data['questions']} questions (categories 1-4) over {n} "
        f"conversation{'s' if n > 1 else ''} ({', '.join(data['conversations'])}), "
        f"{data['sessions']} sessions, {data['turns']} turns"
    )


NOTES = [
    "R@k: fraction of the question's evidence turns among the sources of the top k (merged) "
    f"memories, a memory with more than {MAX_SOURCES} sources counting for none; MRR: 1/rank "
    "of the first memory holding evidence;",
    "bm25: rank_bm25 BM25Okapi over the raw turns (one unit per turn), top 10, no service;",
    f"tokens/q, chars/q: size of the 10 returned memory_values (bm25: turns); "
    f"{metrics.TOKEN_RULE}.",
]


def floor_report(conversations: list[Conversation]) -> str:
    """The BM25 floor alone (`--bm25-only`)."""
    records = [r for c in conversations for r in bm25_records(c)]
    summary = {name: summarize(group) for name, group in groups(records).items()}
    data = dataset(conversations)
    return "\n".join(
        [
            f"\n{describe(data)}; {len(data['not_scored'])} without evidence not scored",
            "",
            *recall_table({"bm25": summary}),
            "",
            *NOTES[1:],
        ]
    )


def report(results: dict) -> str:
    data = results["dataset"]
    ingestion = results["ingestion"]
    latency = results["summary"]["service"]["all"]["latency_ms"]
    cal = results["calibration"]
    headline = cal["relativity>=0.5"]
    returned = results["returned"]
    lines = [
        f"\n{describe(data)}; {len(data['not_scored'])} without evidence not scored",
        "each conversation added from both speakers' sides; search/memory on both sides with "
        f"memory_limit_number {MEMORY_LIMIT}, no conversation_id, merged by relativity, top "
        f"{MEMORY_LIMIT}",
        f"ingestion + extraction: {ingestion['seconds']} s ({ingestion['adds']} adds, "
        f"{ingestion['messages']} messages, accepted in {ingestion['add_seconds']} s; "
        f"{ingestion['failed_jobs']} jobs failed)",
        "",
        *recall_table(results["summary"]),
        "",
        "search latency per call (client-measured, ms, two calls a question): "
        + (f"p50 {latency['p50']}  p95 {latency['p95']}  p99 {latency['p99']}" if latency else "-"),
        "",
        "relativity calibration (returned memories of the merged top 10):",
        f"{'band':12} {'memories':>8} {'with evidence':>14}",
        *(f"{b['band']:12} {b['memories']:>8} {fmt(b['with_evidence']):>14}" for b in cal["bands"]),
        f"of returned memories with relativity >= {HEADLINE_RELATIVITY}, share holding "
        f"evidence: {fmt(headline['with_evidence'])} ({headline['memories']} memories)",
        "",
        f"returned memories: {returned['memories']}; with more than {MAX_SOURCES} sources: "
        f"{returned['over_max_sources']}; sources matching no turn: "
        f"{returned['unmapped_sources']}; without relativity: {cal['without_relativity']}",
        *NOTES,
    ]
    return "\n".join(lines)


def run(
    conversations: list[Conversation], env: dict[str, str], *, timeout: float, out: Path
) -> dict:
    """The whole suite on its own fresh service: ingest, ask, score beside BM25, report and
    write `out`."""
    questions = sum(len(c.questions) for c in conversations)
    with fresh_service(env) as client:
        print(
            f"ingesting {len(conversations)} LoCoMo conversation(s) from both sides ...",
            file=sys.stderr,
        )
        ingestion = ingest(client, conversations, timeout)
        first = conversations[0]
        client.call(
            "/search/memory",
            {"user_id": user_id(first.stem, first.speakers[0]), "query": "warm up"},
        )  # one-off costs
        print(f"asking {questions} questions ...", file=sys.stderr)
        records = []
        for conversation in conversations:
            for question in conversation.questions:
                records.append(ask(client, conversation, question))
                if len(records) % 200 == 0:
                    print(f"  asked {len(records)}/{questions}", file=sys.stderr)
    floor = [r for c in conversations for r in bm25_records(c)]
    for record, bm25 in zip(records, floor, strict=True):
        record["bm25"] = {key: bm25[key] for key in (*(f"recall@{k}" for k in RECALL_AT), "top")}
    memories = [m for r in records for m in r["memories"]]
    results = {
        **run_info(env),
        "dataset": dataset(conversations),
        "ingestion": ingestion,
        "summary": {
            system: {name: summarize(group) for name, group in groups(rs).items()}
            for system, rs in zip(SYSTEMS, (records, floor), strict=True)
        },
        "calibration": calibration(records),
        "returned": {
            "memories": len(memories),
            "over_max_sources": sum(1 for m in memories if not m["counted"]),
            "unmapped_sources": sum(r["unmapped_sources"] for r in records),
        },
        "per_question": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(report(results))
    print(f"\nwritten to {out}")
    return results
