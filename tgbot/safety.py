"""Recognizing a message from someone who says they are in danger.

Phrases per language live in `locales/<lang>/safety.toml`. A message matches a phrase when the
phrase's stems occur in it in order, with at most `MAX_GAP` other words between two of them.
Every language is checked, whatever language the user chose: a frightened person writes in
the language they think in. Nothing here stores or logs the text.
"""

from collections.abc import Iterable, Sequence
from functools import cache

from tgbot.i18n import load_toml
from tgbot.settings import LANGUAGES
from tgbot.textmatch import Vocabulary, stem, stems, words

MAX_GAP = 2
SAFETY_TYPO_SCORE = 85.0
MAX_MESSAGE_WORDS = 250
"""A call for help comes early in a message; this bounds the work on hostile input."""


def _occurs_in_order(phrase: Sequence[str], message: Sequence[str]) -> bool:
    """Whether `phrase` is a subsequence of `message` with small gaps, starting anywhere."""
    for start, term in enumerate(message):
        if term != phrase[0]:
            continue
        position = start
        for wanted in phrase[1:]:
            window = message[position + 1 : position + 2 + MAX_GAP]
            if wanted not in window:
                break
            position += 1 + window.index(wanted)
        else:
            return True
    return False


class DangerPhrases:
    """One language's danger phrases.

    A one-word phrase («спасите», «SOS») must appear exactly as written: stemmed or forgiven a
    typo it would also match ordinary words («спасти», to save). Longer phrases match by stems,
    with a stricter typo tolerance than the FAQ's, since a false alarm is shown to a donor.
    """

    def __init__(self, language: str) -> None:
        self.language = language
        self.words: set[str] = set()
        self.phrases: list[tuple[str, ...]] = []
        for phrase in load_toml(language, "safety")["phrases"]:
            if len(found := words(phrase)) == 1:
                self.words.add(found[0])
            elif found:
                self.phrases.append(tuple(stems(phrase, language, mood=True)))
        terms = [term for phrase in self.phrases for term in phrase]
        self.vocabulary = Vocabulary(terms, typo_score=SAFETY_TYPO_SCORE)
        self.letters = frozenset("".join(terms))

    def found_in(self, text: str) -> bool:
        found = words(text)[:MAX_MESSAGE_WORDS]
        if self.words.intersection(found):
            return True
        message = [self._term(word) for word in found]
        present = set(message)
        return any(
            set(phrase) <= present and _occurs_in_order(phrase, message) for phrase in self.phrases
        )

    def _term(self, word: str) -> str:
        """The word as a phrase term; a word in another script cannot be one, so is left."""
        if self.letters.isdisjoint(word):
            return word
        return self.vocabulary.resolve(stem(word, self.language, True))


class SafetyCheck:
    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        self.languages = [DangerPhrases(language) for language in languages]

    def is_danger(self, text: str) -> bool:
        return any(phrases.found_in(text) for phrases in self.languages)


@cache
def default_safety_check() -> SafetyCheck:
    return SafetyCheck()
