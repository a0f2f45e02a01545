"""Turning free text into comparable word stems, per language.

Shared by the FAQ matcher and the safety check. Text is normalized (Unicode NFKC, case-folded,
invisible and control characters dropped, `ё` read as `е`), split into words, and each word is
reduced to a stem: Russian words are first lemmatized with pymorphy3, which handles the heavy
inflection (`убьют` and `убить` share a lemma), then every language goes through its Snowball
stemmer. `Vocabulary` adds tolerance for typos and for stems of the same root that the stemmer
left apart (`эвакуац` / `эвакуирова`).
"""

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache

import pymorphy3
import snowballstemmer
from rapidfuzz import fuzz, process

SNOWBALL_NAMES = {"en": "english", "ru": "russian", "de": "german", "fr": "french", "es": "spanish"}

_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_WORD = re.compile(r"[^\W_]+")
_MIN_FUZZY_LENGTH = 5
_MIN_SHARED_PREFIX = 5
_SHARED_SHARE = 0.7
_TYPO_SCORE = 80.0


def normalize(text: str) -> str:
    """Case-folded NFKC text without invisible or control characters."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return text.casefold().replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of a text, normalized; punctuation and apostrophes split words."""
    return _WORD.findall(normalize(text))


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(SNOWBALL_NAMES[language])


@lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    """The stem of one normalized word in `language`."""
    if language == "ru" and not word.isascii():
        word = _morph().parse(word)[0].normal_form.replace("ё", "е")
    return _stemmer(language).stemWord(word)


def stems(text: str, language: str) -> list[str]:
    return [stem(word, language) for word in words(text)]


class Vocabulary:
    """A set of known stems that maps a new stem to the known one it is a variant of.

    A variant is a typo (Indel similarity of at least 80%) or the same root left with a
    different suffix (a shared prefix of at least five letters covering 70% of the shorter).
    Stems under five letters must match exactly: too short to tell a typo from another word.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = frozenset(terms)
        self._choices = sorted(self.terms)
        self._by_prefix: dict[str, list[str]] = {}
        for term in self._choices:
            if len(term) >= _MIN_FUZZY_LENGTH:
                self._by_prefix.setdefault(term[:_MIN_SHARED_PREFIX], []).append(term)
        self.resolve = lru_cache(maxsize=16384)(self._resolve)

    def __contains__(self, term: str) -> bool:
        return term in self.terms

    def _resolve(self, term: str) -> str:
        if term in self.terms or len(term) < _MIN_FUZZY_LENGTH:
            return term
        for known in self._by_prefix.get(term[:_MIN_SHARED_PREFIX], ()):
            if len(_common_prefix(term, known)) >= _SHARED_SHARE * min(len(term), len(known)):
                return known
        found = process.extractOne(term, self._choices, scorer=fuzz.ratio, score_cutoff=_TYPO_SCORE)
        return found[0] if found else term


def _common_prefix(a: str, b: str) -> str:
    for index, (left, right) in enumerate(zip(a, b, strict=False)):
        if left != right:
            return a[:index]
    return a[: min(len(a), len(b))]
