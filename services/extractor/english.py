"""One English dialogue turn in the third person, so a memory reads without its dialogue.

"I am allergic to peanuts, and my daughter Emma just started learning piano." said by the user
becomes "The user is allergic to peanuts, and the user's daughter Emma just started learning
piano."; a following "She is 7. We live in Hangzhou now." becomes "Emma is 7. The user's family
lives in Hangzhou now.". Pure rules over one pass of the turn's words (no model, no parser): the
extractor runs it on every English turn.

Who the pronouns become:
- I / me / my / mine → the speaker ("Caroline", "the user"); the verb after "I" agrees ("I am" →
  "is", "I have" → "has", "I love" → "loves"; past tense and modals stay).
- you / your → the listener, with "are you" → "is Melanie" in questions; "you guys", "you all"
  → "<listener> and others"; "Thank you" → "Caroline thanks Melanie"; "You're welcome" and a
  trailing "…, you know?" stay as they are.
- we / us → "<speaker>'s family", a singular subject ("we live" → "the user's family lives"),
  when the nearest turn that names a group (this turn first, then the recent ones, newest
  first) names the speaker's family: "my kids", "our daughter", "with family", "the wife" in
  the speaker's own turns, "your family" in the listener's. A turn naming another group
  ("friends", "team", "community", "people", …) decides for the default: "<speaker> and
  others", plural verb unchanged ("we live" → "Caroline and others live"). That default is
  never wrong, only vague: it says the speaker was part of it and claims nothing about who
  else was; "family" is said only on evidence. "since we last talked" is the speaker and the
  listener. our / ours → "<speaker>'s" either way ("our house" → "the user's house"), ourselves
  → "themselves".
- he / she / his / her opening a sentence → the one person named in the recent turns or earlier
  in this turn ("my daughter Emma", "a dog named Max", "this woman, Jean"), if exactly one
  person of that gender (or of unknown gender) is named and no unnamed one ("a little girl",
  "my mom") was mentioned after them; otherwise the pronoun stays.

Photo captions ("[shares a photo: …]") and double-quoted text are left as they are.
"""

import re
from collections.abc import Callable, Sequence

# A word (with its contraction: "I'm", "don't") or a span never rewritten: a bracketed caption
# or a quotation. Spans stay inside the gaps between words, so no rule can touch them.
_TOKEN = re.compile(r"\[[^\]]*\]|\"[^\"]*\"|“[^”]*”|([A-Za-z]+(?:['’][A-Za-z]+)*)")
_SPACE = re.compile(r"[ \t]+")
_SENTENCE_END = re.compile(r"[.!?…\n\]][^\w,;:]*$")
_CLAUSE_BREAK = re.compile(r"[,;:()\-–—]")
_ANY_PRONOUN = re.compile(
    r"\b(?:i|me|my|mine|myself|you|your|yours|yourself|yourselves|y|we|us|our|ours|ourselves"
    r"|he|she|his|her)(?:['’][a-z]+)?\b",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^\s*([A-Z][\w .'-]{0,40}?):\s")

_ADVERBS = frozenset(
    "just really also still always never usually often actually only even finally recently "
    "definitely totally absolutely honestly sometimes truly personally kinda sorta literally "
    "seriously generally mostly rarely hardly barely already almost nearly simply certainly "
    "genuinely probably now then once first occasionally normally typically constantly ever "
    "def myself".split()
)
_LY_VERBS = frozenset("apply reply rely supply fly comply imply multiply bully rally tally".split())
_MODALS = frozenset(
    "can could should might must would will may shall cannot can't couldn't shouldn't wouldn't "
    "won't mightn't mustn't shan't ought gonna".split()
)
_PAST = frozenset(
    "was wasn't were weren't did didn't had hadn't used got went saw made took came found felt "
    "thought knew told said gave bought brought met left lost ran began wrote won heard kept sent "
    "spent taught caught built sold held stood understood sat slept drove rode flew fell forgot "
    "became chose wore ate drank swam sang paid arose awoke bore bent bit blew broke burnt crept "
    "dealt dug drew dreamt fed fought fled forgave froze grew hung hid knelt laid led leapt "
    "learnt lent lay lit meant rang rose sought shook shone shot shrank sank slid spoke sped spun "
    "sprang stole stuck stung struck swore swept swung tore threw woke wept wound overcame "
    "withdrew been seen done gone taken given known written eaten driven grown shown spoken "
    "chosen broken fallen forgotten gotten begun drunk ridden hidden flown thrown worn".split()
)
# Same spelling in present and past: conjugating them would guess the tense.
_AMBIGUOUS = frozenset(
    "put let hit cut set hurt quit shut read cast cost spread bet upset bid split burst beat "
    "fit".split()
)
_NON_VERBS = frozenset(
    "and or but nor too as so than that this these those who which whom whose what the a an to "
    "in on at for with of from by about into onto over under not no yes all both either neither "
    "here there again guys alone each one two three back out up down off away around more most "
    "less some any many much very quite well soon today tomorrow yesterday tonight together ok "
    "okay please everything something anything nothing someone anyone everyone it him her them "
    "me us you my your his their our".split()
)
_PARTICIPLES = frozenset(
    "been seen done gone had known taken given gotten made heard thought found told said left "
    "lost met forgotten written eaten driven grown shown spoken chosen broken fallen begun "
    "brought bought caught taught felt kept slept spent sent built better".split()
)
# Third person singular of the forms whose agreement is not "+s".
_SINGULAR = dict(
    pair.split("=")
    for pair in "am=is are=is were=was aren't=isn't weren't=wasn't have=has haven't=hasn't "
    "do=does don't=doesn't".split()
) | {"wanna": "wants to", "gotta": "has to"}
_PAST_PREFIXES = ("re", "mis", "out", "over", "under", "up", "with", "fore", "un")
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes"}
_AUX = _MODALS | frozenset(
    "am is are was were do does did have has had aren't isn't wasn't weren't don't doesn't didn't "
    "haven't hasn't hadn't".split()
)
_SUBJECTS = frozenset("i we they he she it you who that which there".split())
# Before these, "you" is an object ("for you", "thank you", "give you"), so the word after it
# is no verb of its ("give you advice"): only "you are/have/do" can still be a clause of its own.
_OBJECT_BEFORE = frozenset(
    "for with to about at on from of by into onto over under around behind near without toward "
    "towards love loved miss missed thank thanks tell told give gave show showed ask asked send "
    "call called wish owe bring brought get got take took meet met hug invite invited remind "
    "reminds reminded join visit trust pay paid text keep kept leave beat catch caught guide "
    "teach taught buy bought treat follow congratulate encourage inspire inspires inspired "
    "support supported want wanted need needed like adore admire appreciate bless".split()
)
_OBJECT_START = frozenset(
    "a an the my your his her our their its this that these those some it them me him us".split()
)
_CLAUSE_WORDS = frozenset("it he she they we you i me him her us them that which who to".split())
_WH = frozenset("how what where when why who which".split())
_CAUSATIVES = frozenset("let lets letting make makes made making help helps helped helping".split())
_FINITE = (
    _AUX | _PAST | frozenset("i it he she they we it's that's there's he's she's what's".split())
)
_ROMAN_BEFORE = frozenset(
    "War Part Chapter Season Volume Phase Episode Act Book Level Stage Round Henry Louis "
    "Elizabeth Charles George James Edward William".split()
)

# Who "she" can be: a named relative, pet or person ("my daughter Emma", "a dog named Max",
# "this woman, Jean"); unnamed ones ("a little girl", "my mom") block older names.
_PEOPLE = {
    "f": "daughter daughters wife sister sisters mom mum mother girlfriend aunt niece "
    "grandma grandmother granddaughter stepdaughter woman women girl girls lady",
    "m": "son sons husband brother brothers dad father boyfriend uncle nephew grandpa "
    "grandfather grandson stepson man men boy boys guy",
    "": "friend friends boss teacher dog dogs cat cats puppy kitten cousin cousins "
    "neighbor neighbour coworker colleague partner kid kids child children baby pet "
    "roommate mentor coach buddy bestie someone somebody person",
}
_GENDER = {word: gender for gender, words in _PEOPLE.items() for word in words.split()}
_PLURAL = frozenset(
    "daughters sisters women girls sons brothers men boys guys friends dogs cats "
    "cousins kids children".split()
)
_PERSON = re.compile(
    r"\b(" + "|".join(sorted(_GENDER, key=len, reverse=True)) + r")\b"
    r"(?:(?:,\s*|\s+(?:named|called)\s+|\s+)(?-i:([A-Z][a-z]+)))?",  # a name is capitalised
    re.IGNORECASE,
)
_NAME_THEN_RELATION = re.compile(
    r"\b([A-Z][a-z]+),\s+(?:my|our|a|an|the|this)\s+(" + "|".join(_GENDER) + r")\b"
)
_NON_NAMES = frozenset(
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May "
    "June July August September October November December Christmas Easter Thanksgiving "
    "Halloween The And But So Then Oh Hey Hi Yes No It This That We You He She They Mom Mum "
    "Dad Mama Papa Grandma Grandpa Nana God English Spanish French Chinese German Japanese".split()
)
# Evidence of who "we" is. In the speaker's own turns a family must be theirs ("my kids", "our
# daughter", "with family", "the wife"): "no other family", "the kids" say nothing of "we".
# In the listener's turns only what they say of the speaker's ("your family") counts.
_FAMILY_WORDS = (
    r"(?:famil(?:y|ies)|fam|kids?|kiddos|children|child|daughters?|sons?|husband"
    r"|hubby|wife|parents|bab(?:y|ies))"
)
_OTHER_WORDS = (
    r"(?:friends?|buddies|pals|team(?:mates)?|group|club|class(?:mates)?|colleagues"
    r"|co-?workers|crew|band|volunteers|community|people)"
)
_FAMILY = re.compile(
    rf"\b(?:my|our|with)\s+(?:\w+\s+)?{_FAMILY_WORDS}\b"
    r"|\bthe\s+(?:wife|husband|hubby|family|fam)\b",
    re.IGNORECASE,
)
_OTHER_GROUP = re.compile(rf"\b{_OTHER_WORDS}\b", re.IGNORECASE)
_YOUR_FAMILY = re.compile(rf"\byour\s+(?:\w+\s+)?{_FAMILY_WORDS}\b", re.IGNORECASE)
_YOUR_OTHER_GROUP = re.compile(rf"\byour\s+(?:\w+\s+)?{_OTHER_WORDS}\b", re.IGNORECASE)
_SINCE_WE_TALKED = re.compile(r"\s+(?:last\s+)?(?:chatted|talked|spoke|caught up|hung out)\b")


def _conjugate(word: str) -> str | None:
    """The third person singular of a present-tense verb ("love" → "loves"), or None when the
    word is not plainly one: past, modal, ambiguous tense, or a known non-verb."""
    if (
        not word.isalpha()
        or not word.islower()
        or len(word) < 2
        or word in _MODALS
        or word in _PAST
        or word in _AMBIGUOUS
        or word in _NON_VERBS
    ):
        return None
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if any(word.startswith(p) and word[len(p) :] in _PAST for p in _PAST_PREFIXES):  # retook
        return None
    if word.endswith("ed") and not word.endswith("eed"):  # started, but need, feed
        return None
    if word.endswith("s") and not word.endswith(("ss", "us")):  # already agrees, or a noun
        return None
    if word.endswith("ing") and len(word) > 5:  # going; but sing, bring
        return None
    if word.endswith(("s", "sh", "ch", "x", "z", "o")):
        return word + "es"
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _is_adverb(word: str) -> bool:
    return word in _ADVERBS or (word.endswith("ly") and len(word) > 4 and word not in _LY_VERBS)


def _possessive(name: str) -> str:
    return name + "'s"


def _reflexive(person: str) -> str:
    return "itself" if person == "the assistant" else "themselves"


def _unquoted(text: str) -> str:
    """The text with its captions and quotations blanked: not the speaker's own words."""
    return _TOKEN.sub(lambda m: m.group() if m.group(1) else " ", text)


def _strip_prefix(turn: str) -> tuple[str, str | None]:
    """'Melanie: How is Emma?' → ('How is Emma?', 'Melanie')."""
    match = _PREFIX.match(turn)
    return (turn[match.end() :], match.group(1)) if match else (turn, None)


def _mentions(text: str) -> list[tuple[str | None, str]]:
    """People mentioned in order, as (name or None, gender 'f'/'m'/'' for unknown). Plural
    nouns without a name ("my kids") are no one "she" could be, so they are left out."""
    found: list[tuple[int, str | None, str]] = []
    for match in _PERSON.finditer(text):
        noun, name = match.group(1).lower(), match.group(2)
        if name in _NON_NAMES:
            name = None
        if name or noun not in _PLURAL:
            found.append((match.start(), name, _GENDER[noun]))
    for match in _NAME_THEN_RELATION.finditer(text):
        if match.group(1) not in _NON_NAMES:
            found.append((match.start(), match.group(1), _GENDER[match.group(2).lower()]))
    return [(name, gender) for _, name, gender in sorted(found, key=lambda f: f[0])]


def _referent(gender: str, sources: Sequence[str], known: set[str]) -> str | None:
    """The one person "she" (gender 'f') or "he" ('m') can be in sources (oldest first), or
    None when there is none, more than one, or an unnamed one came after the named one.
    `known` are the speakers, never meant by "she"."""
    fits = [
        (name, g)
        for source in sources
        for name, g in _mentions(source)
        if g in (gender, "") and (name is None or name.lower() not in known)
    ]
    names = {name for name, _ in fits if name}
    if len(names) != 1:
        return None
    last = max(k for k, (name, _) in enumerate(fits) if name)
    return None if any(name is None for name, _ in fits[last + 1 :]) else names.pop()


class _Turn:
    """The turn as words and the gaps around them (gaps[k] precedes words[k]; the last gap
    trails), with the rewritten words in `out`. Decisions read the original words in `low`."""

    def __init__(self, text: str, subject: str, listener: str, recent: Sequence[str]) -> None:
        self.text, self.subject, self.listener, self.recent = text, subject, listener, recent
        self.words: list[str] = []
        self.pos: list[int] = []
        self.gaps: list[str] = []
        last = 0
        for match in _TOKEN.finditer(text):
            if match.group(1):  # a caption or quotation stays inside the gap
                self.gaps.append(text[last : match.start()])
                self.words.append(match.group(1))
                self.pos.append(match.start())
                last = match.end()
        self.gaps.append(text[last:])
        self.low = [w.lower().replace("’", "'") for w in self.words]
        self.out = list(self.words)
        self.start = [
            (k == 0 and not re.search(r"[\w,;:]", gap)) or bool(_SENTENCE_END.search(gap))
            for k, gap in enumerate(self.gaps[:-1])
        ]
        self.seen: set[str] = set()  # "i", "you": subjects met in this sentence, for reflexives
        self._group: tuple[str, bool] | None = None
        self._context: list[tuple[str, str | None]] | None = None

    def put(self, k: int, new: str) -> None:
        """Replace word k, capitalised when it opens a sentence, keeping curly apostrophes."""
        if self.start[k]:
            new = new[:1].upper() + new[1:]
        if "’" in self.words[k]:
            new = new.replace("'", "’")
        self.out[k] = new

    def drop(self, k: int) -> None:
        self.out[k], self.gaps[k] = "", ""

    def spaced(self, k: int) -> bool:
        """Word k follows the word before it across plain spaces (no punctuation)."""
        return 0 < k < len(self.low) and bool(_SPACE.fullmatch(self.gaps[k]))

    def render(self) -> str:
        return "".join(g + w for g, w in zip(self.gaps, self.out, strict=False)) + self.gaps[-1]

    def context(self) -> list[tuple[str, str | None]]:
        """The recent turns as (text without captions and quotations, speaker or None)."""
        if self._context is None:
            self._context = [
                (_unquoted(body), speaker) for body, speaker in map(_strip_prefix, self.recent)
            ]
        return self._context

    def group(self) -> tuple[str, bool]:
        """What "we" means here, and whether it takes a singular verb: the speaker's family
        when the nearest turn naming a group (this one, then the recent ones, newest first)
        names the speaker's family; else the speaker and others."""
        if self._group is None:
            family = False
            own = self.subject.lower().removeprefix("the ")
            turns = [(_unquoted(self.text), None), *reversed(self.context())]
            for body, speaker in turns:
                theirs = speaker is None or speaker.lower().removeprefix("the ") == own
                if (_OTHER_GROUP if theirs else _YOUR_OTHER_GROUP).search(body):
                    break
                if (_FAMILY if theirs else _YOUR_FAMILY).search(body):
                    family = True
                    break
            self._group = (
                (_possessive(self.subject) + " family", True)
                if family
                else (self.subject + " and others", False)
            )
        return self._group


def _verb_after(t: _Turn, k: int) -> int | None:
    """The word that would be the verb of subject word k, past up to two adverbs ("I really
    love"), or None when punctuation comes first ("I, too, …")."""
    j = k + 1
    for _ in range(3):
        if not t.spaced(j):
            return None
        if not _is_adverb(t.low[j]):
            return j
        j += 1
    return None


def _agree(t: _Turn, j: int, regular: bool, were: bool) -> None:
    """Make verb j agree with a third-person singular subject. `regular`: also conjugate plain
    present verbs (only where the word before is surely the subject); `were`: "were" → "was"
    (not for "I": "if I were" is a subjunctive)."""
    word = t.low[j]
    if word in _SINGULAR and (were or word not in ("were", "weren't")):
        t.put(j, _SINGULAR[word])
    elif regular and (verb := _conjugate(t.words[j])):
        t.put(j, verb)
    else:
        return
    if regular:
        _coordinated(t, j)


def _coordinated(t: _Turn, j: int) -> None:
    """A second verb of the same subject agrees too: "I stay positive and find a way". Only
    when an object follows it ("and find a way"), so "I love pizza and pasta" keeps its pasta,
    and not past a pronoun or "to" ("it helps me relax and increase", "want to go and see")."""
    for m in range(j + 1, min(j + 10, len(t.low) - 2)):
        if t.start[m] or ";" in t.gaps[m] or t.low[m] in _CLAUSE_WORDS:
            return
        if t.low[m] in ("and", "or"):
            if t.spaced(m + 1) and t.spaced(m + 2) and t.low[m + 2] in _OBJECT_START:
                word = t.low[m + 1]
                verb = _SINGULAR.get(word) if word in ("have", "do") else _conjugate(t.words[m + 1])
                if verb:
                    t.put(m + 1, verb)
            return


def _inverted(t: _Turn, k: int) -> int | None:
    """The auxiliary before subject word k in a question ("are you going?", "do I need"), or
    None. "I have you to thank" is no question: a subject comes before its "have"."""
    if not t.spaced(k):
        return None
    aux = t.low[k - 1]
    if aux.endswith("'re") and aux[:-3] in _WH:  # "How're you doing?"
        return k - 1
    if aux not in _AUX or (t.spaced(k + 1) and t.low[k + 1] == "and"):  # "do you and Jo"
        return None
    before = t.low[k - 2] if t.spaced(k - 1) else ""
    if before in _SUBJECTS or before in _MODALS or before == "to" or "'" in before:
        return None
    return k - 1


def _invert(t: _Turn, k: int, aux: int, were: bool) -> None:
    """The auxiliary agrees with the new singular subject: "are you" → "is Melanie"."""
    word = t.low[aux]
    if word.endswith("'re"):
        t.put(aux, t.words[aux][:-3] + " is")
    elif word in _SINGULAR and word not in ("wanna", "gotta") and (were or word[:4] != "were"):
        t.put(aux, _SINGULAR[word])


def _would_or_had(t: _Turn, k: int) -> str:
    """Which "'d": "I'd love" is "would love", "I'd never been" is "had never been"."""
    j = _verb_after(t, k)
    if j is None:
        return "would"
    word = t.low[j]
    return (
        "had"
        if word in _PARTICIPLES or (word.endswith("ed") and not word.endswith("eed"))
        else "would"
    )


def _compound(t: _Turn, k: int) -> bool:
    """A plural subject ("my wife and I love"), so its verb stays: "and" right before "I",
    after a short clause (at most three words, none a verb or a subject pronoun)."""
    if not t.spaced(k) or t.low[k - 1] != "and":
        return False
    for count, j in enumerate(range(k - 2, -1, -1), start=1):
        word = t.low[j]
        if (
            count > 3
            or word in _FINITE
            or word.endswith("ed")
            or ("'" in word and not word.endswith("'s"))
        ):  # "I'm happy and I love"
            return False
        if t.start[j] or _CLAUSE_BREAK.search(t.gaps[j]):
            return True
    return False


def _not_pronoun_i(t: _Turn, k: int) -> bool:
    """An "I" that is no one: "World War I", "Part I", "i.e."."""
    if t.low[k] != "i":
        return False
    if t.words[k] == "i" and t.gaps[k + 1].startswith(".") and t.low[k + 1 : k + 2] == ["e"]:
        return True
    return t.spaced(k) and t.words[k - 1] in _ROMAN_BEFORE


def _contraction(t: _Turn, k: int, pronoun: str, person: str) -> bool:
    """I'm, you've, I'd… → the person and the verb in the third person; False for the bare
    pronoun."""
    word = t.low[k]
    if word == pronoun:
        return False
    tails = {"'m": "is", "'re": "is", "'ve": "has", "'ll": "will"}
    tail = tails.get(word[len(pronoun) :].replace("’", "'")) or _would_or_had(t, k)
    t.put(k, f"{person} {tail}")
    return True


def _first(t: _Turn, k: int) -> None:
    """I, I'm, I've, I'll, I'd → the speaker, with the verb agreeing."""
    if _not_pronoun_i(t, k):
        return
    t.seen.add("i")
    if _contraction(t, k, "i", t.subject):
        return
    t.put(k, t.subject)
    if (aux := _inverted(t, k)) is not None:
        _invert(t, k, aux, were=False)
    elif not _compound(t, k) and (j := _verb_after(t, k)) is not None:
        _agree(t, j, regular=True, were=False)
    if t.spaced(k + 1) and t.low[k + 1] == "myself":  # "I myself love": the emphasis goes
        t.drop(k + 1)


def _vocative_after(t: _Turn, k: int) -> None:
    """A vocative repeating the new name goes: "nice of you, John." → "nice of John."."""
    if (
        t.gaps[k + 1 : k + 2] == [", "]
        and k + 1 < len(t.low)
        and t.low[k + 1] == t.listener.lower()
        and re.match(r"[,.?!]|$", t.gaps[k + 2])
    ):
        t.drop(k + 1)


def _you_plural(t: _Turn, k: int) -> bool:
    """The listener and others, verbs left plural: "you guys", "you're all", "you both"."""
    if not t.spaced(k + 1) or t.low[k + 1] not in ("guys", "all", "both"):
        return False
    tail = {"you're": " are", "you've": " have", "you'll": " will", "you'd": " would"}
    t.put(k, t.listener + " and others" + tail.get(t.low[k], ""))
    t.drop(k + 1)
    return True


_PARTINGS = {"soon", "later", "then", "tomorrow", "around", "there", "next"}


def _you_formula(t: _Turn, k: int) -> bool:
    """Set phrases: "You're welcome" and "…, you know?" stay; "Thank you" opening a clause →
    "Caroline thanks Melanie"."""
    after = t.low[k + 1] if t.spaced(k + 1) else ""
    if after == "welcome" and t.low[k] in ("you're", "you"):
        return True
    if t.low[k] != "you":
        return False
    ends = k + 2 > len(t.low) - 1 or re.match(r"\s*[,.?!]", t.gaps[k + 2])
    opens = not t.spaced(k) or t.start[k - 1] or _CLAUSE_BREAK.search(t.gaps[k - 1])
    if (after == "bet" and ends) or (
        after == "never" and t.spaced(k + 2) and t.low[k + 2] == "know"
    ):
        return True  # "You bet!", "you never know": nobody in particular
    if t.spaced(k) and t.low[k - 1] == "see" and opens and (ends or after in _PARTINGS):
        return True  # "See you soon!" is a goodbye
    if (
        after in ("know", "see")
        and _inverted(t, k) is None
        and (k + 2 > len(t.low) - 1 or re.match(r"\s*[,.?!]", t.gaps[k + 2]))
    ):
        return True
    if (
        t.spaced(k)
        and t.low[k - 1] == "thank"
        and (t.start[k - 1] or _CLAUSE_BREAK.search(t.gaps[k - 1]))
    ):
        t.put(k - 1, t.subject + " thanks")
        t.out[k] = t.listener
        _vocative_after(t, k)
        return True
    return False


def _second(t: _Turn, k: int) -> None:
    """you, you're, you've, you'll, you'd → the listener, with the verb agreeing."""
    if _you_formula(t, k) or _you_plural(t, k):
        return
    t.seen.add("you")
    if _contraction(t, k, "you", t.listener):
        return
    t.put(k, t.listener)
    _vocative_after(t, k)
    before = t.low[k - 1] if t.spaced(k) else ""
    if (aux := _inverted(t, k)) is not None:
        _invert(t, k, aux, were=True)
    elif before not in _CAUSATIVES and (j := _verb_after(t, k)) is not None:
        _agree(t, j, regular=before not in _OBJECT_BEFORE, were=True)


def _we(t: _Turn, k: int) -> None:
    """we, we're, we've, we'll, we'd → the speaker's family (singular verb) or the speaker and
    others (plural verb); "since we last talked" → the speaker and the listener."""
    word = t.low[k]
    talked = (
        t.spaced(k) and t.low[k - 1] == "since" and _SINCE_WE_TALKED.match(t.text, t.pos[k] + 2)
    )
    who, singular = (f"{t.subject} and {t.listener}", False) if talked else t.group()
    t.seen.add("we")
    if word != "we":
        tails = {"we're": ("are", "is"), "we've": ("have", "has"), "we'll": ("will", "will")}
        tail = tails[word][singular] if word in tails else _would_or_had(t, k)
        t.put(k, f"{who} {tail}")
        return
    t.put(k, who)
    if not singular:
        return
    if (aux := _inverted(t, k)) is not None:
        _invert(t, k, aux, were=True)
    elif (j := _verb_after(t, k)) is not None:
        _agree(t, j, regular=True, were=True)


def _us(t: _Turn, k: int) -> None:
    t.seen.add("we")  # "it helps us learn about ourselves": "themselves"
    t.put(k, t.group()[0])


def _speaker_owns(t: _Turn, k: int) -> None:
    """my, mine, our, ours → "Caroline's"."""
    t.put(k, _possessive(t.subject))


def _listener_owns(t: _Turn, k: int) -> None:
    t.put(k, _possessive(t.listener))


def _me(t: _Turn, k: int) -> None:
    t.seen.add("i")
    t.put(k, t.subject)


def _myself(t: _Turn, k: int) -> None:
    """Reflexive when the speaker is already in the sentence: "I taught myself" → "Caroline
    taught themselves"; else the name: "a gift for myself" → "a gift for Caroline"."""
    t.put(k, _reflexive(t.subject) if "i" in t.seen else t.subject)


def _yourself(t: _Turn, k: int) -> None:
    t.put(k, _reflexive(t.listener) if "you" in t.seen else t.listener)


def _third(t: _Turn, k: int) -> None:
    """He/She/His/Her (and "She's", "He'll") opening a sentence → the one person they can be
    (see _referent)."""
    word, _, contraction = t.low[k].partition("'")
    if not t.start[k] or (word in ("his", "her") and not t.spaced(k + 1)):
        return
    known = {t.subject.lower(), t.listener.lower()}
    known.update(speaker.lower() for _, speaker in t.context() if speaker)
    sources = [body for body, _ in t.context()] + [_unquoted(t.text[: t.pos[k]])]
    name = _referent("m" if word in ("he", "his") else "f", sources, known)
    if not name:
        return
    if word in ("his", "her") or contraction == "s":  # "She's 7" → "Emma's 7"
        t.put(k, _possessive(name))
    elif contraction:
        t.put(k, f"{name} {'will' if contraction == 'll' else _would_or_had(t, k)}")
    else:
        t.put(k, name)


_HANDLERS: dict[str, Callable[[_Turn, int], None]] = {
    **dict.fromkeys(("i", "i'm", "i've", "i'll", "i'd"), _first),
    **dict.fromkeys(("you", "you're", "you've", "you'll", "you'd"), _second),
    **dict.fromkeys(("we", "we're", "we've", "we'll", "we'd"), _we),
    **dict.fromkeys(("my", "mine", "our", "ours"), _speaker_owns),
    **dict.fromkeys(("your", "yours"), _listener_owns),
    **dict.fromkeys(("he", "she", "his", "her", "he's", "she's", "he'll", "she'll"), _third),
    **dict.fromkeys(("he'd", "she'd"), _third),
    "me": _me,
    "us": _us,
    "myself": _myself,
    "yourself": _yourself,
    "ourselves": lambda t, k: t.put(k, "themselves" if "we" in t.seen else t.group()[0]),
    "yourselves": lambda t, k: t.put(k, "themselves"),
    "y'all": lambda t, k: t.put(k, t.listener + " and others"),
}


def third_person(text: str, subject: str, listener: str, recent: Sequence[str] = ()) -> str:
    """`text`, one English turn said by `subject` ("Caroline", "the user") to `listener`
    ("Melanie", "the assistant"), rewritten in the third person: see the module docstring.
    `recent`: the turns before it, oldest first, raw (may start "Name: "); they only decide
    who "she"/"he" is and whether "we" is a family."""
    if not _ANY_PRONOUN.search(text):
        return text
    t = _Turn(text, subject, listener, recent)
    for k, word in enumerate(t.low):
        if t.start[k]:
            t.seen = set()
        handler = _HANDLERS.get(word)
        if handler and t.out[k] == t.words[k]:  # not already rewritten ("I myself")
            handler(t, k)
    return t.render()
