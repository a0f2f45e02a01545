"""Turning free text into comparable word stems, per language.

Used by the FAQ matcher (and `normalize` by the danger check). Text is normalized (Unicode
NFKC, case-folded, invisible and control characters dropped, `ё` read as `е`), split into
words, and each word is reduced to a stem: Russian words are first lemmatized with pymorphy3,
which handles the heavy inflection (`убьют` and `убить` share a lemma), then every language
goes through its Snowball stemmer. `Vocabulary` adds tolerance for typos and for stems of the
same root that the stemmer left apart (`эвакуац` / `эвакуирова`).

Only the knowledge base's own words are cached (`learn`): a cache keyed by what people write
would keep their words in memory long after the answer.
"""

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

import pymorphy3
import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

SNOWBALL_NAMES = {"en": "english", "ru": "russian", "de": "german", "fr": "french", "es": "spanish"}

_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_WORD = re.compile(r"[^\W_]+")
_LATIN_ACCENTED = re.compile(r"[\u00c0-\u024f]")
_CYRILLIC = re.compile(r"[а-яё]+")  # pymorphy3 only knows Russian words, and fails on some
_MIN_FUZZY_LENGTH = 5
_MIN_SHARED_PREFIX = 5
_SHARED_SHARE = 0.7
TYPO_SCORE = 80.0
SHORT_STEM = 6
SHORT_TYPO_SCORE = 88.0
"""In a stem of five or six letters one changed letter already scores 80: allow only one
letter added or dropped there (`situt` for `situat`), not `derni` for `derri`."""


def normalize(text: str) -> str:
    """Case-folded NFKC text without invisible or control characters."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return text.casefold().replace("ё", "е")


def unaccented(word: str) -> str:
    """A Latin word without its accents (`où` → `ou`); other scripts are left as they are:
    Cyrillic `й` must not become `и`."""
    if not word.isascii() and _LATIN_ACCENTED.search(word):
        decomposed = unicodedata.normalize("NFD", word)
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return word


def words(text: str) -> list[str]:
    """The words of a text, normalized; punctuation and apostrophes split words."""
    return _WORD.findall(normalize(text))


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(SNOWBALL_NAMES[language])


_KNOWN_STEMS: dict[tuple[str, str], str] = {}
"""Stems of the knowledge bases' own words, by (word, language)."""


def stem(word: str, language: str) -> str:
    """The stem of one normalized word in `language`."""
    known = _KNOWN_STEMS.get((word, language))
    return known if known is not None else _stem(word, language)


def _stem(word: str, language: str) -> str:
    if language == "ru" and _CYRILLIC.fullmatch(word):
        word = _morph().parse(word)[0].normal_form.replace("ё", "е")
    stemmer = _stemmer(language)
    found = stemmer.stemWord(word)
    stemmer.set_current("")  # a Snowball stemmer keeps the last word it was given
    return found


def learn(texts: Iterable[str], language: str) -> None:
    """Cache the stems of a knowledge base's words: they come up in questions again and again."""
    for text in texts:
        for word in words(text):
            if (word, language) not in _KNOWN_STEMS:
                _KNOWN_STEMS[(word, language)] = _stem(word, language)


def stems(text: str, language: str) -> list[str]:
    return [stem(word, language) for word in words(text)]


class Vocabulary:
    """A set of known stems that maps a new stem to the known one it is a variant of.

    A variant is a typo (Indel similarity of at least `typo_score`, in percent) or the same
    root left with a different suffix (a shared prefix of five letters or more, covering 70%
    of the shorter).
    Stems under five letters must match exactly: too short to tell a typo from another word.
    """

    def __init__(self, terms: Iterable[str], typo_score: float = TYPO_SCORE) -> None:
        self.terms = frozenset(terms)
        self.typo_score = typo_score
        self._choices = sorted(self.terms)
        self._by_prefix: dict[str, list[str]] = {}
        for term in self._choices:
            if len(term) >= _MIN_FUZZY_LENGTH:
                self._by_prefix.setdefault(term[:_MIN_SHARED_PREFIX], []).append(term)

    def __contains__(self, term: str) -> bool:
        return term in self.terms

    def resolve(self, term: str) -> str:
        if term in self.terms or len(term) < _MIN_FUZZY_LENGTH:
            return term
        return self._same_root(term) or self._typo_of(term) or term

    def _same_root(self, term: str) -> str | None:
        """The known stem sharing the longest prefix with `term`, if long enough."""
        candidates = [
            (len(_common_prefix(term, known)), -abs(len(known) - len(term)), known)
            for known in self._by_prefix.get(term[:_MIN_SHARED_PREFIX], ())
        ]
        fitting = [c for c in candidates if c[0] >= _SHARED_SHARE * min(len(term), len(c[2]))]
        return max(fitting)[2] if fitting else None

    def _typo_of(self, term: str) -> str | None:
        """The known stem `term` is a misspelling of: close overall, or two letters swapped."""
        short = len(term) <= SHORT_STEM
        cutoff = max(self.typo_score, SHORT_TYPO_SCORE) if short else self.typo_score
        found = process.extractOne(term, self._choices, scorer=fuzz.ratio, score_cutoff=cutoff)
        if found:
            return found[0]
        swapped = process.extractOne(term, self._choices, scorer=OSA.distance, score_cutoff=1)
        if swapped and sorted(swapped[0]) == sorted(term):
            return swapped[0]
        return None


def _common_prefix(a: str, b: str) -> str:
    for index, (left, right) in enumerate(zip(a, b, strict=False)):
        if left != right:
            return a[:index]
    return a[: min(len(a), len(b))]
