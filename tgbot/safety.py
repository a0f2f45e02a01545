"""Recognizing a message from someone who may be in danger, built for recall.

Each language's lexicon (`locales/<lang>/safety.toml`) sorts words into concepts: a threat
(`kill*`), the writer (`me`, `my`), an agent (`father`, `police`), a call for help, and so on.
A pattern is a word (`me`), a prefix (`kill*`), or words that must follow each other with at
most one word between them (`help me`, `au secours`). Every language's lexicon is applied to
every message, since a frightened person writes in the language they think in; Latin-letter
words are also read as transliterated Russian («menya ub'yut»).

`RULES` combine concepts found close together into a verdict. A miss can cost a life and a
false alarm costs one extra line, so anything unsure is `Danger.POSSIBLE`: the emergency line
first, then the normal answer. A `Danger.CLEAR` message gets the emergency reply alone, unless
the same words talk about donations or other people, which makes it `POSSIBLE` again.

Everything here is plain computation in memory: no I/O, no cache keyed by a person's words,
nothing stored or logged. Work is linear in the message's length.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cache

from tgbot.i18n import load_toml
from tgbot.settings import LANGUAGES
from tgbot.textmatch import normalize

WINDOW = 24
"""Concepts count together when they fall within this many words of each other."""
MAX_PREFIX = 14
MAX_GAP = 1
"""Words allowed between the parts of a multi-word pattern."""


class Danger(IntEnum):
    NONE = 0
    POSSIBLE = 1
    """Show the emergency line, then answer as usual."""
    CLEAR = 2
    """Answer with the emergency reply alone."""


Rule = frozenset[str]


def _rules(*groups: str) -> tuple[Rule, ...]:
    return tuple(frozenset(group.split()) for group in groups)


ACTS = "threat detain beat blackmail suicide die danger exorcism hide nohome".split()
"""Concepts that, said of the writer or someone close to them, are danger in themselves."""
CLEAR_RULES = (
    *_rules(*(f"{act} me" for act in ACTS)),
    *_rules(
        "lookfor me agent",
        "outed me agent",
        "marry me force",
        "marry me agent",
        "return me chechnya",
        "return me agent",
        "return me force",
        "treat me agent",
        "treat me force",
        "flee me urgent",
        "flee me chechnya",
        "fear life",
        "fear me agent",
        "fear me threat",
        "cry threat",
        "cry detain",
        "cry beat",
        "cry lookfor",
        "cry danger",
        "return agent force",
        "marry force",
        "die return",
        "die nohome",
    ),
)
POSSIBLE_RULES = _rules(
    "cry",
    "fear me",
    "outed me",
    "flee me",
    "lookfor me",
    "marry me",
    "treat me",
    "return me",
    "danger",
    "suicide",
    "blackmail",
    "exorcism",
    "threat agent",
    "hide",
    "fear",
    "flee urgent",
    "flee documents",
)
SOFTENERS = frozenset({"service", "others", "quantity", "hearsay"})
"""Concepts that make a clear match only possible: "is it dangerous for me to donate?",
"how many people were beaten?", "I read that the police torture people"."""
SHORT_CRY = 3
"""A message of at most this many words with a help word in it ("help!!") is possible danger."""


@dataclass(frozen=True, slots=True)
class _Pattern:
    concept: str
    rest: tuple[str, ...]
    """Further parts of a multi-word pattern, each a word or a `prefix*`."""


class Lexicon:
    """Word patterns by concept, for one or several languages, with fast lookup."""

    def __init__(self, concepts: Iterable[tuple[str, str]]) -> None:
        self._exact: dict[str, list[_Pattern]] = {}
        self._prefix: dict[str, list[_Pattern]] = {}
        for concept, pattern in concepts:
            first, *rest = normalize(pattern).split()
            entry = _Pattern(concept, tuple(rest))
            if first.endswith("*"):
                self._prefix.setdefault(first[:-1], []).append(entry)
            else:
                self._exact.setdefault(first, []).append(entry)

    def concepts_at(self, tokens: Sequence[str], index: int) -> set[str]:
        """The concepts whose pattern starts at `tokens[index]`."""
        found: set[str] = set()
        for entry in self._entries(tokens[index]):
            if not entry.rest or _followed_by(tokens, index, entry.rest):
                found.add(entry.concept)
        return found

    def _entries(self, token: str) -> list[_Pattern]:
        entries = list(self._exact.get(token, ()))
        for end in range(1, min(len(token), MAX_PREFIX) + 1):
            entries.extend(self._prefix.get(token[:end], ()))
        return entries


def _part_matches(part: str, token: str) -> bool:
    return token.startswith(part[:-1]) if part.endswith("*") else token == part


def _followed_by(tokens: Sequence[str], index: int, rest: Sequence[str]) -> bool:
    position = index
    for part in rest:
        window = tokens[position + 1 : position + 2 + MAX_GAP]
        hit = next((i for i, token in enumerate(window) if _part_matches(part, token)), None)
        if hit is None:
            return False
        position += 1 + hit
    return True


# Transliterated Russian, longest spellings first («shch» before «sh» before «s»).
_LATIN_TO_CYRILLIC = {
    "shch": "щ", "sch": "щ", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш",
    "yu": "ю", "ju": "ю", "iu": "ю", "ya": "я", "ja": "я", "ia": "я", "yo": "е", "jo": "е", "ye": "е", "je": "е",
    "'": "ь", "’": "ь", "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з",
    "i": "и", "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р",
    "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "c": "ц", "y": "ы", "w": "ш", "x": "х",
    "q": "к",
}  # fmt: skip
_LATIN = re.compile("|".join(sorted(map(re.escape, _LATIN_TO_CYRILLIC), key=len, reverse=True)))
_WORD = re.compile(r"[^\W_]+")
_LATIN_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)*")
_Y_AFTER_VOWEL = re.compile("(?<=[аеиоуыэюя])ы")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def _transliterated(text: str) -> list[str] | None:
    """The words of `text` read as Latin-letter Russian, or None when there is no Latin."""
    if not _LATIN_WORD.search(text):
        return None
    cyrillic = _LATIN_WORD.sub(lambda m: _LATIN.sub(lambda x: _LATIN_TO_CYRILLIC[x[0]], m[0]), text)
    return _tokens(_Y_AFTER_VOWEL.sub("й", cyrillic))


class SafetyCheck:
    """Tells how likely a message is to come from someone in danger."""

    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        lexicons = {language: _load(language) for language in languages}
        self.lexicon = Lexicon(pair for pairs in lexicons.values() for pair in pairs)
        self.russian = Lexicon(lexicons.get("ru", ()))

    def assess(self, text: str) -> Danger:
        text = normalize(text)
        if text.startswith("/"):  # a command's own name ("/help") is no call for help
            text = text.partition(" ")[2]
        tokens = _tokens(text)
        verdict = _verdict(self.lexicon, tokens, short=len(tokens) <= SHORT_CRY)
        if verdict is not Danger.CLEAR and (latin := _transliterated(text)) is not None:
            verdict = max(verdict, _verdict(self.russian, latin, short=len(tokens) <= SHORT_CRY))
        return verdict

    def is_danger(self, text: str) -> bool:
        return self.assess(text) is not Danger.NONE


def _verdict(lexicon: Lexicon, tokens: Sequence[str], *, short: bool) -> Danger:
    """The strongest verdict of any window of the message."""
    concepts = [lexicon.concepts_at(tokens, i) for i in range(len(tokens))]
    verdict = Danger.NONE
    if short and any("help" in found for found in concepts):
        verdict = Danger.POSSIBLE
    for start in range(0, max(len(tokens) - WINDOW // 2, 1), WINDOW // 2):
        verdict = max(verdict, _judge(set().union(*concepts[start : start + WINDOW])))
        if verdict is Danger.CLEAR:
            break
    return verdict


def _judge(present: set[str]) -> Danger:
    if any(rule <= present for rule in CLEAR_RULES):
        return Danger.POSSIBLE if present & SOFTENERS else Danger.CLEAR
    if any(rule <= present for rule in POSSIBLE_RULES):
        return Danger.POSSIBLE
    return Danger.NONE


def _load(language: str) -> list[tuple[str, str]]:
    concepts: dict[str, list[str]] = load_toml(language, "safety")["concepts"]
    return [(concept, pattern) for concept, patterns in concepts.items() for pattern in patterns]


@cache
def default_safety_check() -> SafetyCheck:
    return SafetyCheck()
