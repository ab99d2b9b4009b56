"""The pure parts of the LoCoMo suite, on hand-made conversations: a slip in what is sent or
in how sources are mapped back to turns would skew every figure `make eval` reports."""

import os
from pathlib import Path

import pytest

from tests.eval import locomo, metrics
from tests.eval.common import summarize

RAW = {
    "speaker_a": "Ann",
    "speaker_b": "Bob",
    "session_1_date_time": "1:56 pm on 8 May, 2023",
    "session_1": [
        {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a puppy named Rex!"},
        {"speaker": "Bob", "dia_id": "D1:2", "text": "Congrats! What breed?"},
        {
            "speaker": "Ann",
            "dia_id": "D1:3",
            "text": "A beagle, look.",
            "img_url": ["https://example.invalid/rex.jpg"],
            "blip_caption": "a photo of a dog",
        },
    ],
    "session_2_date_time": "9:05 am on 21 January, 2024",
    "session_2": [
        {"speaker": "Bob", "dia_id": "D2:1", "text": "I started learning the violin."},
        {"speaker": "Ann", "dia_id": "D2:2", "text": "See you!"},
        {"speaker": "Bob", "dia_id": "D2:3", "text": "See you!"},
    ],
    "session_1_summary": "not a session",
    "qa": [
        {
            "question": "Which puppy did Ann get?",
            "answer": "Rex",
            "evidence": ["D1:1"],
            "category": 4,
        },
        {
            "question": "Which instrument is Bob learning?",
            "answer": "violin",
            "evidence": ["D2:1 D1:2"],
            "category": 1,
        },
        {
            "question": "What is Bob's favourite colour?",
            "evidence": ["D1:2"],
            "category": 5,
            "adversarial_answer": "red",
        },
        {
            "question": "When did Ann adopt Rex?",
            "answer": "May 2023",
            "evidence": ["D:1:1", "D1:03", "D", "D9:9"],
            "category": 2,
        },
        {"question": "Would Ann like cats?", "answer": "maybe", "evidence": [], "category": 3},
    ],
}


@pytest.fixture
def conversation() -> locomo.Conversation:
    return locomo.parse("99", RAW)


def memory(relativity: float, *contents: str, value: str = "a memory") -> dict:
    return {
        "memory_value": value,
        "relativity": relativity,
        "sources": [{"id": f"m{i}", "content": c} for i, c in enumerate(contents)],
    }


def test_content_and_chat_time() -> None:
    assert locomo.content(RAW["session_1"][0]) == "Ann: I adopted a puppy named Rex!"
    assert (
        locomo.content(RAW["session_1"][2])
        == "Ann: A beagle, look. [shares a photo: a photo of a dog]"
    )
    assert locomo.chat_time("1:56 pm on 8 May, 2023") == "2023-05-08 13:56:00"
    assert locomo.chat_time("12:09 am on 13 September, 2023") == "2023-09-13 00:09:00"
    assert locomo.chat_time("9:05 am on 21 January, 2024") == "2024-01-21 09:05:00"


def test_adds_one_per_session_from_each_side(conversation: locomo.Conversation) -> None:
    adds = locomo.adds(conversation)
    assert [(a["user_id"], a["conversation_id"]) for a in adds] == [
        ("locomo-99-Ann", "locomo-99-s1"),
        ("locomo-99-Ann", "locomo-99-s2"),
        ("locomo-99-Bob", "locomo-99-s1"),
        ("locomo-99-Bob", "locomo-99-s2"),
    ]
    assert all(a["async_mode"] is True for a in adds)
    ann_s1, ann_s2, bob_s1, _ = adds
    assert ann_s1["messages"] == [
        {
            "role": "user",
            "content": "Ann: I adopted a puppy named Rex!",
            "chat_time": "2023-05-08 13:56:00",
        },
        {
            "role": "assistant",
            "content": "Bob: Congrats! What breed?",
            "chat_time": "2023-05-08 13:56:00",
        },
        {
            "role": "user",
            "content": "Ann: A beagle, look. [shares a photo: a photo of a dog]",
            "chat_time": "2023-05-08 13:56:00",
        },
    ]
    assert [m["role"] for m in bob_s1["messages"]] == ["assistant", "user", "assistant"]
    assert [m["content"] for m in bob_s1["messages"]] == [m["content"] for m in ann_s1["messages"]]
    assert {m["chat_time"] for m in ann_s2["messages"]} == {"2024-01-21 09:05:00"}


def test_questions_skip_adversarial_and_clean_evidence(conversation: locomo.Conversation) -> None:
    questions = conversation.questions
    assert [q.index for q in questions] == [0, 1, 3, 4]
    assert [q.category for q in questions] == ["single_hop", "multi_hop", "temporal", "open_domain"]
    assert questions[1].evidence == ("D2:1", "D1:2")
    assert questions[2].evidence == ("D1:1", "D1:3")  # "D" and a turn that is not there: gone
    assert questions[3].evidence == ()
    assert locomo.clean_evidence(
        ["D30:05", "D:11:26", "D1:1; D1:2"], {"D30:5", "D11:26", "D1:1", "D1:2"}
    ) == (["D30:5", "D11:26", "D1:1", "D1:2"], [])


def test_sources_map_back_to_dia_ids_by_content(conversation: locomo.Conversation) -> None:
    contents = conversation.contents
    found = memory(
        0.9,
        "Ann: A beagle, look. [shares a photo: a photo of a dog]",
        "Bob: See you!",
        "Ann: something never said",
    )
    assert locomo.source_ids(found, contents) == {"D1:3", "D2:3"}
    assert locomo.source_ids(memory(0.9, "Ann: See you!"), contents) == {"D2:2"}
    assert locomo.source_ids(memory(0.9, "Ann: A beagle, look."), contents) == set()  # exact


def test_a_memory_with_more_than_eight_sources_counts_for_nothing(
    conversation: locomo.Conversation,
) -> None:
    contents = conversation.contents
    rex = "Ann: I adopted a puppy named Rex!"
    eight = memory(0.9, rex, *["Bob: See you!"] * 7)
    nine = memory(0.9, rex, *["Bob: See you!"] * 8)
    assert locomo.counted_ids(eight, contents) == {"D1:1", "D2:3"}
    assert locomo.counted_ids(nine, contents) == set()
    question = conversation.questions[0]  # evidence D1:1
    record = locomo.service_record(question, [nine, eight], contents, [1.0, 2.0])
    assert record["recall@1"] == 0.0 and record["recall@5"] == 1.0
    assert [m["counted"] for m in record["memories"]] == [False, True]
    assert [m["holds_evidence"] for m in record["memories"]] == [False, True]
    assert record["memories"][0]["sources"] == ["D1:1", "D2:3"]  # recorded, not counted


def test_merge_by_relativity_keeps_order_on_ties() -> None:
    side_a = [memory(0.9, value="a1"), memory(0.4, value="a2"), memory(0.4, value="a3")]
    side_b = [memory(0.95, value="b1"), memory(0.4, value="b2"), memory(0.1, value="b3")]
    merged = locomo.merge([side_a, side_b])
    assert [m["memory_value"] for m in merged] == ["b1", "a1", "a2", "a3", "b2", "b3"]
    assert [m["memory_value"] for m in locomo.merge([side_a, side_b], limit=3)] == [
        "b1",
        "a1",
        "a2",
    ]


def test_service_record_scores_the_merged_top(conversation: locomo.Conversation) -> None:
    question = conversation.questions[1]  # evidence D2:1, D1:2
    memories = [
        memory(0.8, "Bob: I started learning the violin.", value="Bob plays violin"),
        memory(0.6, "Ann: See you!", value="bye"),
        memory(0.3, "Bob: Congrats! What breed?", value="Bob asked"),
    ]
    record = locomo.service_record(question, memories, conversation.contents, [3.0, 5.0])
    assert (record["recall@1"], record["recall@5"], record["recall@10"]) == (0.5, 1.0, 1.0)
    assert record["rr"] == 1.0 and record["scored"] is True
    assert record["tokens"] == 3 + 1 + 2 and record["chars"] == 16 + 3 + 9
    assert record["evidence_as_released"] == ["D2:1 D1:2"]
    calibration = locomo.calibration([record])
    assert [b["memories"] for b in calibration["bands"]] == [0, 0, 1, 1, 1]
    assert [b["with_evidence"] for b in calibration["bands"]] == [None, None, 1.0, 0.0, 1.0]
    assert calibration["relativity>=0.5"] == {"memories": 2, "with_evidence": 0.5}
    summary = summarize(locomo.groups([record])["multi_hop"])
    assert summary["latency_ms"]["p50"] == 4.0 and summary["recall@1"] == 0.5


def test_a_question_without_evidence_is_recorded_but_not_scored(
    conversation: locomo.Conversation,
) -> None:
    question = conversation.questions[3]
    record = locomo.service_record(question, [], conversation.contents, [1.0, 1.0])
    assert record["scored"] is False and record["recall@10"] is None
    assert locomo.groups([record])["all"] == []


def test_relativity_bands() -> None:
    assert [locomo.band_of(r) for r in (0.0, 0.09, 0.1, 0.3, 0.49, 0.5, 0.7, 0.99, 1.0)] == [
        0,
        0,
        1,
        2,
        2,
        3,
        4,
        4,
        4,
    ]


def test_bm25_floor_on_a_tiny_conversation(conversation: locomo.Conversation) -> None:
    assert locomo.bm25_tokens("Ann: A beagle, look. [shares a photo]") == [
        "ann",
        "a",
        "beagle",
        "look",
        "shares",
        "a",
        "photo",
    ]
    records = locomo.bm25_records(conversation)
    assert len(records) == 4
    dog, violin = records[0], records[1]
    assert dog["top"][0] == "D1:1"  # the one turn with "puppy"
    assert dog["recall@1"] == 1.0
    assert violin["top"][0] == "D2:1"  # the one turn with "learning"
    assert violin["recall@1"] == 0.5 and violin["recall@10"] == 1.0
    assert sorted(violin["top"]) == sorted(t.dia_id for t in conversation.turns)  # all 6
    assert violin["tokens"] == sum(metrics.count_tokens(t.content) for t in conversation.turns)
    assert records[3]["scored"] is False


DEV = Path(os.environ.get("LOCOMO_DIR") or locomo.DEFAULT_DIR)


@pytest.mark.skipif(
    not DEV.is_dir(), reason=f"the LoCoMo development set is not at {DEV} (set LOCOMO_DIR)"
)
def test_the_development_set_loads_whole() -> None:
    conversations = locomo.load(DEV)
    assert [c.stem for c in conversations] == ["41", "42", "43", "44", "47", "48", "49", "50"]
    questions = [q for c in conversations for q in c.questions]
    assert len(questions) == 1307
    assert sum(len(c.turns) for c in conversations) == 5094
    assert sum(1 for q in questions if not q.evidence) == 2
    for c in conversations:
        known = {t.dia_id for t in c.turns}
        assert all(set(q.evidence) <= known for q in c.questions), c.stem
        assert len(locomo.adds(c)) == 2 * len(c.sessions)
    assert [c.stem for c in locomo.load(DEV, ["42", "41"])] == ["41", "42"]
    with pytest.raises(SystemExit, match="no 40"):
        locomo.load(DEV, ["40"])


def test_a_missing_directory_says_how_to_point_at_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--locomo-dir"):
        locomo.load(tmp_path / "nowhere")
