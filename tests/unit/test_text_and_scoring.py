import numpy as np

from services.retriever.instructions import template_full_instruction, template_instruction
from services.retriever.ranking import FITTED, MEMORY_FEATURES, SESSION_FEATURES, scale
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


def test_relativity_is_the_probability_from_half_up_and_stretched_below() -> None:
    p = np.array([0.0, 0.01, 0.02, 0.26, 0.5, 0.8, 1.0])
    shown = scale(p, low=0.02)
    assert np.allclose(shown, [0.0, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0])
    fine = np.linspace(0, 1, 1001)
    assert (np.diff(scale(fine, low=0.03)) > 0).all()  # the order of the probabilities kept


def test_each_fitted_model_has_a_weight_for_every_feature() -> None:
    for model in FITTED.values():
        assert len(model.memory) == len(MEMORY_FEATURES) + 1  # and the bias
        assert len(model.session) == len(SESSION_FEATURES) + 1
        assert 0 < model.low < 0.5
