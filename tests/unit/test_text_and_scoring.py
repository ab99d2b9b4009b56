from services.retriever.instructions import template_full_instruction, template_instruction
from shared.text import is_chinese, keywords, language, segment


def test_language_detection() -> None:
    assert is_chinese("我想暑假出去玩") and language("我用 Python 写代码") == "zh"
    assert language("I write code in Python, 偶尔") == "en"


def test_keywords_skip_fillers_in_both_languages() -> None:
    assert keywords("我想暑假出去玩，你能帮我推荐下吗？")[:2] == ["出去玩", "暑假"]
    assert keywords("I really want to learn the piano and the violin") == [
        "learn",
        "piano",
        "violin",
    ]


def test_search_segmentation_splits_compounds() -> None:
    assert {"国庆", "国庆节"} <= set(segment("国庆节快乐"))


def test_instruction_templates_strip_attribution() -> None:
    text = template_instruction("国庆去哪玩", ["[user观点]用户全家出游。"])
    assert "- 用户全家出游。" in text and "[user观点]" not in text
    assert template_full_instruction("Where to go?", []).startswith("You are")
