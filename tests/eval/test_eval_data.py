"""Checks of the evaluation dataset and metrics: a typo in an evidence id or a miscounted
recall would silently skew every number `make eval` reports, so both are tested here, fast and
without a service."""

import re
from collections import Counter
from datetime import datetime

import pytest

from tests.eval import metrics
from tests.eval.data import CLOCK, LANGUAGE, QUESTIONS, USERS

CATEGORIES = ("single", "multi_hop", "time", "updated")
CJK = re.compile(r"[\u4e00-\u9fff]")
RELATIVE_TIME = re.compile(
    r"昨天|昨晚|前天|大前天|今天|今早|上周|上个?星期|上礼拜|上个月|去年|前几天|[一二三两几\d]+天前"
    r"|[一二三两几\d]+个?(?:周|星期|月)前"
    r"|\byesterday\b|\blast (?:night|week|weekend|month|year|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday)\b|\bthe day before yesterday\b"
    r"|\b(?:\d+|a|one|two|three|four|five|six|a few|several) (?:days?|weeks?|months?) ago\b"
    r"|\bthis (?:morning|week)\b|\bearlier today\b",
    re.IGNORECASE,
)

MESSAGES = {
    m["id"]: (user, session, m)
    for user, sessions in USERS.items()
    for session in sessions
    for m in session["messages"]
}


def when(message_id: str) -> datetime:
    return datetime.strptime(MESSAGES[message_id][2]["chat_time"], CLOCK)


def test_users_and_sessions_have_the_intended_shape() -> None:
    assert Counter(LANGUAGE.values()) == {"zh": 4, "en": 4}
    for user, sessions in USERS.items():
        assert 3 <= len(sessions) <= 5, user
        for session in sessions:
            messages = session["messages"]
            assert 4 <= len(messages) <= 10, session["conversation_id"]
            assert [m["role"] for m in messages] == [
                "user" if i % 2 == 0 else "assistant" for i in range(len(messages))
            ]
            for m in messages:
                datetime.strptime(m["chat_time"], CLOCK)
                assert m["content"].strip()
                assert bool(CJK.search(m["content"])) == (LANGUAGE[user] == "zh"), m["id"]


def test_ids_are_unique() -> None:
    message_ids = [m["id"] for sessions in USERS.values() for s in sessions for m in s["messages"]]
    conversations = [s["conversation_id"] for sessions in USERS.values() for s in sessions]
    questions = [q["id"] for q in QUESTIONS]
    for ids in (message_ids, conversations, questions):
        assert len(ids) == len(set(ids))


def test_chat_times_increase_within_a_user() -> None:
    for user, sessions in USERS.items():
        times = [m["chat_time"] for s in sessions for m in s["messages"]]
        assert times == sorted(times) and len(set(times)) == len(times), user
        starts = [datetime.strptime(s["messages"][0]["chat_time"], CLOCK) for s in sessions]
        assert all((b - a).days >= 1 for a, b in zip(starts, starts[1:], strict=False)), user


def test_evidence_and_stale_ids_exist_and_belong_to_the_user() -> None:
    for q in QUESTIONS:
        assert q["user"] in USERS and q["evidence"], q["id"]
        for message_id in q["evidence"] + q.get("stale", []):
            assert message_id in MESSAGES, (q["id"], message_id)
            assert MESSAGES[message_id][0] == q["user"], (q["id"], message_id)
        assert len(set(q["evidence"])) == len(q["evidence"])
        assert q["answer"].strip()


def test_categories_are_large_enough_and_bilingual() -> None:
    assert len(QUESTIONS) >= 60
    assert {q["category"] for q in QUESTIONS} == set(CATEGORIES)
    for category in CATEGORIES:
        items = [q for q in QUESTIONS if q["category"] == category]
        assert len(items) >= 12, category
        assert {LANGUAGE[q["user"]] for q in items} == {"zh", "en"}, category
    per_language = Counter(LANGUAGE[q["user"]] for q in QUESTIONS)
    assert abs(per_language["zh"] - per_language["en"]) <= len(QUESTIONS) // 5


def test_questions_are_in_their_users_language() -> None:
    for q in QUESTIONS:
        assert bool(CJK.search(q["question"])) == (LANGUAGE[q["user"]] == "zh"), q["id"]


def test_time_evidence_holds_a_relative_time() -> None:
    for q in QUESTIONS:
        if q["category"] == "time":
            assert any(RELATIVE_TIME.search(MESSAGES[m][2]["content"]) for m in q["evidence"]), q[
                "id"
            ]


def test_multi_hop_joins_sessions_and_updated_replaces_older_facts() -> None:
    for q in QUESTIONS:
        sessions = {MESSAGES[m][1]["conversation_id"] for m in q["evidence"]}
        if q["category"] == "multi_hop":
            assert len(q["evidence"]) >= 2 and len(sessions) >= 2, q["id"]
        if q["category"] == "updated":
            assert q.get("stale"), q["id"]
            assert not set(q["stale"]) & set(q["evidence"]), q["id"]
            assert max(when(m) for m in q["stale"]) < min(when(m) for m in q["evidence"])
            stale_sessions = {MESSAGES[m][1]["conversation_id"] for m in q["stale"]}
            assert not stale_sessions & sessions, q["id"]
        else:
            assert "stale" not in q, q["id"]


def _shared_run(question: str, evidence: str, chinese: bool) -> int:
    """Length of the longest run the two texts share: characters for Chinese, words for
    English."""
    if chinese:
        a, b = question, evidence
    else:
        a, b = (re.findall(r"[a-z0-9'£]+", text.lower()) for text in (question, evidence))
    best = 0
    for i in range(len(a)):
        for j in range(len(b)):
            length = 0
            while i + length < len(a) and j + length < len(b) and a[i + length] == b[j + length]:
                length += 1
            best = max(best, length)
    return best


def test_questions_paraphrase_rather_than_copy_the_evidence() -> None:
    for q in QUESTIONS:
        chinese = LANGUAGE[q["user"]] == "zh"
        limit = 4 if chinese else 3
        for message_id in q["evidence"]:
            shared = _shared_run(q["question"], MESSAGES[message_id][2]["content"], chinese)
            assert shared <= limit, (q["id"], message_id, shared)


# --- metrics ---------------------------------------------------------------------------------

RANKING = [{"a"}, {"x", "b"}, {"y"}, {"s"}, {"c", "s"}]


def test_recall_at_k() -> None:
    assert metrics.recall_at(RANKING, ["a"], 1) == 1.0
    assert metrics.recall_at(RANKING, ["b", "c"], 1) == 0.0
    assert metrics.recall_at(RANKING, ["b", "c"], 2) == 0.5
    assert metrics.recall_at(RANKING, ["b", "c"], 5) == 1.0
    assert metrics.recall_at(RANKING, ["b", "z"], 10) == 0.5
    assert metrics.recall_at([], ["a"], 10) == 0.0
    with pytest.raises(ValueError):
        metrics.recall_at(RANKING, [], 1)


def test_reciprocal_rank() -> None:
    assert metrics.reciprocal_rank(RANKING, ["a"]) == 1.0
    assert metrics.reciprocal_rank(RANKING, ["c", "b"]) == 0.5
    assert metrics.reciprocal_rank(RANKING, ["y"]) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(RANKING, ["z"]) == 0.0
    assert metrics.mean([1.0, 0.5, 0.0, 0.25]) == 0.4375


def test_stale_first() -> None:
    assert metrics.stale_first(RANKING, evidence=["c"], stale=["s"])  # stale at 4, evidence 5
    assert not metrics.stale_first(RANKING, evidence=["b"], stale=["s"])  # evidence at 2
    assert metrics.stale_first(RANKING, evidence=["z"], stale=["q"])  # evidence missing
    assert not metrics.stale_first(RANKING, evidence=["y"], stale=["q"])  # stale missing
    assert not metrics.stale_first([{"new", "old"}], evidence=["new"], stale=["old"])  # tie


def test_token_count() -> None:
    assert metrics.count_tokens("") == 0
    assert metrics.count_tokens("用户喜欢芒果。") == 6
    assert metrics.count_tokens("The user's iPhone 15 Pro!") == 6  # The user s iPhone 15 Pro
    assert metrics.count_tokens("[user观点]用户换成了iPhone 15") == 10
    assert metrics.count_tokens("£400 a day, 2024-04-26") == 6


def test_percentile() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert metrics.percentile(samples, 50) == 50.5
    assert metrics.percentile(samples, 95) == pytest.approx(95.05)
    assert metrics.percentile([7.0], 99) == 7.0
    assert metrics.percentile([3.0, 1.0], 50) == 2.0
