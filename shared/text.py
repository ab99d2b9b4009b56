"""Language detection, keywords and word segmentation for Chinese and English."""

import logging
import re
import threading
from collections import Counter
from functools import lru_cache
from types import ModuleType

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+|\d+(?:\.\d+)?")
EN_STOPWORDS = frozenset(
    """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just let me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
i'm i've i'd i'll it's that's don't doesn't didn't can't won't isn't aren't yes yeah ok okay
sure thanks thank please really also well like get got go going want know think maybe much
many one two lot user assistant user's assistant's
""".split()
)
ZH_FILLERS = frozenset(
    """
肯定 收到 我会 一般 一起 可以 一下 这个 那个 什么 怎么 还是 就是 知道 觉得 好的 明白 对吗
是不是 然后 因为 所以 但是 而且 已经 现在 比较 非常 用户 助手
""".split()
)

_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba() -> ModuleType:
    with _jieba_lock:
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        loaded: ModuleType = jieba
        return loaded


def is_chinese(text: str) -> bool:
    cjk = len(CJK.findall(text))
    latin = sum(len(w) for w in LATIN_WORD.findall(text))
    return cjk > 0 and cjk * 3 >= latin


def language(text: str) -> str:
    return "zh" if is_chinese(text) else "en"


def keywords(text: str, limit: int = 5) -> list[str]:
    """The words that say what a text is about, most telling first."""
    found: list[str] = []
    if CJK.search(text):
        jieba = _jieba()
        for word in jieba.analyse.extract_tags(text, topK=limit * 3):
            if word not in ZH_FILLERS and not LATIN_WORD.fullmatch(word):
                found.append(word)
    words = [w.lower() for w in LATIN_WORD.findall(text)]
    counts = Counter(
        w for w in words if w not in EN_STOPWORDS and len(w) > 2 and not w[0].isdigit()
    )
    found.extend(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], words.index(kv[0]))))
    return list(dict.fromkeys(found))[:limit]


def segment(text: str) -> list[str]:
    """Words for a lexical index: Chinese in search mode (国庆 also matches 国庆节)."""
    tokens = [w.lower() for w in LATIN_WORD.findall(text)]
    if CJK.search(text):
        tokens += [w for w in _jieba().lcut_for_search(text) if CJK.search(w)]
    return tokens
