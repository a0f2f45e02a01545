"""Recognizing a message from someone who may be in danger, built for recall.

Each language's lexicon (`locales/<lang>/safety.toml`) sorts words into concepts: a threat
(`kill*`), the writer (`me`, `my`), an agent (`father`, `police`), a call for help, and so on.
A pattern is a word (`me`), a prefix (`kill*`), or words that must follow each other with at
most two words between them (`help me`, `au secours`). Every language's lexicon is applied to
every message, since a frightened person writes in the language they think in; Latin-letter
words are also read as transliterated Russian («menya ub'yut»).

Rules combine concepts found close together into a verdict. A miss can cost a life and a
false alarm costs one extra line, so anything unsure is `Danger.POSSIBLE`: the emergency line
first, then the normal answer. A `Danger.CLEAR` message gets the emergency reply alone, unless
the same words talk about donations or other people, which makes it `POSSIBLE` again. What no
lexicon lists, a letter n-gram model learnt from labelled messages (`tgbot.text.safety_model`)
may still find: it can only make a message `POSSIBLE`.

Everything here is plain computation in memory: no I/O, no cache keyed by a person's words,
nothing stored or logged. Work is linear in the message's length.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cache

from tgbot.settings import LANGUAGES
from tgbot.text.i18n import load_toml
from tgbot.text.safety_model import NgramModel, default_model
from tgbot.text.safety_text import prepared, readings, words
from tgbot.text.textmatch import normalize

WINDOW = 24
"""Concepts count together when they fall within this many words of each other."""
MAX_PREFIX = 14
MIN_TYPO_LENGTH = 7
"""Shorter words are not forgiven a typo: too many ordinary words are one letter away."""
TYPO_CONCEPTS = frozenset({"threat", "beat", "suicide", "die"})
"""Concepts whose words are forgiven a typo: the words of harm itself. Others are too close
to ordinary words of another language ("médico" / "méxico", "erpress" / "empresa")."""
MAX_GAP = 2
"""Words allowed between the parts of a multi-word pattern."""
_PATTERN_PART = re.compile(r"[^\W_]+\*?")
"""Patterns are split into words as messages are ("кто-то" is "кто то")."""


class Danger(IntEnum):
    NONE = 0
    POSSIBLE = 1
    """Show the emergency line, then answer as usual."""
    CLEAR = 2
    """Answer with the emergency reply alone."""


Rule = frozenset[str]


def _rules(*groups: str) -> tuple[Rule, ...]:
    return tuple(frozenset(group.split()) for group in groups)


ACTS = (
    *("threat", "detain", "beat", "blackmail", "suicide"),
    *("die", "danger", "exorcism", "hide", "nohome"),
)
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
        "die return",
        "die nohome",
    ),
)
POSSIBLE_RULES = _rules("cry", "outed me", "marry me")
"""Possible danger whatever else the message says."""
WEAK_RULES = _rules("fear me", "flee me", "lookfor me", "treat me", "return me", "treat me agent")
"""Possible danger unless the message is about donations or people in general ("I'm
afraid my payment failed", "how do people flee?")."""
GENERAL_RULES = _rules(
    "danger",
    "outed agent",
    "lookfor agent",
    "nohome",
    "blackmail",
    "hide",
    "suicide",
    "exorcism",
    "fear",
    "threat agent",
    "detain agent",
    "beat agent",
    "flee urgent",
    "flee documents",
    "marry force",
    "treat agent force",
    "return chechnya force",
    "return chechnya urgent",
)
"""Possible danger unless the message is about people in general or something read."""
SOFTENERS = frozenset({"service", "others", "quantity", "hearsay"})
"""Concepts that make a clear match only possible: "is it dangerous for me to donate?",
"how many people were beaten?", "I read that the police torture people"."""
GENERAL_SOFTENERS = SOFTENERS - {"service"}
"""Money comes up in real calls for help ("they want money or…"): it softens only."""
SHORT_CRY = 3
"""A message of at most this many words with a help word in it ("help!!") is possible danger,
unless it offers help ("can I help?")."""


@dataclass(frozen=True, slots=True)
class _Pattern:
    concept: str
    rest: tuple[tuple[str, bool], ...]
    """Further parts of a multi-word pattern: each a word, and whether it is a prefix."""


class Lexicon:
    """Word patterns by concept, for one or several languages, with fast lookup.

    A word that matches no pattern may be a typo of one ("pomagite", "threatend"): words and
    prefixes of `MIN_TYPO_LENGTH` letters or more are also indexed by every spelling with
    one letter left out, so one letter wrong, added, missing or swapped is forgiven (for the
    words of harm only, `TYPO_CONCEPTS`).
    """

    def __init__(self, concepts: Iterable[tuple[str, str]]) -> None:
        self._exact: dict[str, list[_Pattern]] = {}
        self._prefix: dict[str, list[_Pattern]] = {}
        self._typo_exact: dict[str, list[_Pattern]] = {}
        self._typo_prefix: dict[str, list[_Pattern]] = {}
        for concept, pattern in concepts:
            first, *rest = _PATTERN_PART.findall(normalize(pattern))
            entry = _Pattern(
                concept, tuple((part.rstrip("*"), part.endswith("*")) for part in rest)
            )
            prefix = first.endswith("*")
            word = first.removesuffix("*")
            (self._prefix if prefix else self._exact).setdefault(word, []).append(entry)
            if len(word) >= MIN_TYPO_LENGTH and concept in TYPO_CONCEPTS:
                typos = self._typo_prefix if prefix else self._typo_exact
                for variant in _one_out(word):
                    typos.setdefault(variant, []).append(entry)

    def concepts_at(self, tokens: Sequence[str], index: int) -> set[str]:
        """The concepts whose pattern starts at `tokens[index]`."""
        found: set[str] = set()
        for entry in self._entries(tokens[index]):
            if entry.concept not in found and _followed_by(tokens, index, entry.rest):
                found.add(entry.concept)
        return found

    def _entries(self, token: str) -> list[_Pattern]:
        entries = list(self._exact.get(token, ()))
        for end in range(1, min(len(token), MAX_PREFIX) + 1):
            entries.extend(self._prefix.get(token[:end], ()))
        if entries or len(token) < MIN_TYPO_LENGTH:
            return entries
        for variant in _one_out(token):
            entries.extend(self._typo_exact.get(variant, ()))
        for end in range(MIN_TYPO_LENGTH - 1, min(len(token), MAX_PREFIX) + 1):
            for variant in _one_out(token[:end]):
                entries.extend(self._typo_prefix.get(variant, ()))
        return entries


def _one_out(word: str) -> set[str]:
    """The word and every spelling of it with one letter left out."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _followed_by(tokens: Sequence[str], index: int, rest: Sequence[tuple[str, bool]]) -> bool:
    """Whether the parts follow `tokens[index]` in order, each within `MAX_GAP` words."""
    position = index
    for word, prefix in rest:
        for candidate in range(position + 1, min(position + 2 + MAX_GAP, len(tokens))):
            token = tokens[candidate]
            if token.startswith(word) if prefix else token == word:
                position = candidate
                break
        else:
            return False
    return True


class SafetyCheck:
    """Tells how likely a message is to come from someone in danger."""

    def __init__(
        self, languages: Iterable[str] = LANGUAGES, model: NgramModel | None = None
    ) -> None:
        self.model = model if model is not None else default_model()
        lexicons = {language: _load(language) for language in languages}
        self.lexicon = Lexicon(pair for pairs in lexicons.values() for pair in pairs)
        self.russian = Lexicon(lexicons.get("ru", ()))

    def assess(self, text: str, *, learned: bool = True) -> Danger:
        """How likely `text` comes from someone in danger. Without `learned` only the
        lexicons judge: for inline queries, where a false alarm would hide the appeal card."""
        command = text.lstrip().startswith("/")  # its arguments are no prose to judge
        text = prepared(text)
        tokens = words(text)
        short = len(tokens) <= SHORT_CRY and not self._offers_help(tokens)
        verdict = _verdict(self.lexicon, tokens, short=short)
        for reading in readings(text):
            if verdict is Danger.CLEAR:
                break
            verdict = max(verdict, _verdict(self.russian, reading, short=short))
        if (
            verdict is Danger.NONE
            and learned
            and not command
            and self.model.is_possible_danger(text)
        ):
            return Danger.POSSIBLE  # words no lexicon lists, in the company of calls for help
        return verdict

    def _offers_help(self, tokens: Sequence[str]) -> bool:
        """Whether a short message offers help ("can I help?"), in any language."""
        return any("offer" in self.lexicon.concepts_at(tokens, i) for i in range(len(tokens)))

    def is_danger(self, text: str) -> bool:
        return self.assess(text) is not Danger.NONE


def _verdict(lexicon: Lexicon, tokens: Sequence[str], *, short: bool) -> Danger:
    """The strongest verdict of any window of the message, stopping at the first clear one."""
    concepts: list[set[str]] = []
    verdict = Danger.NONE
    for start in range(0, max(len(tokens) - WINDOW // 2, 1), WINDOW // 2):
        end = min(start + WINDOW, len(tokens))
        concepts += (lexicon.concepts_at(tokens, i) for i in range(len(concepts), end))
        present = set().union(*concepts[start:end])
        if short and "help" in present:
            verdict = Danger.POSSIBLE
        verdict = max(verdict, _judge(present))
        if verdict is Danger.CLEAR:
            break
    return verdict


def _judge(present: set[str]) -> Danger:
    softened = not present.isdisjoint(SOFTENERS)
    if any(rule <= present for rule in CLEAR_RULES):
        return Danger.POSSIBLE if softened else Danger.CLEAR
    possible = [*POSSIBLE_RULES, *(() if softened else WEAK_RULES)]
    if present.isdisjoint(GENERAL_SOFTENERS):
        possible += GENERAL_RULES
    return Danger.POSSIBLE if any(rule <= present for rule in possible) else Danger.NONE


def _load(language: str) -> list[tuple[str, str]]:
    concepts: dict[str, list[str]] = load_toml(language, "safety")["concepts"]
    return [(concept, pattern) for concept, patterns in concepts.items() for pattern in patterns]


@cache
def default_safety_check() -> SafetyCheck:
    return SafetyCheck()
