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
from tgbot.textmatch import Vocabulary, stems

MAX_GAP = 2
MAX_MESSAGE_STEMS = 400
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
    """One language's danger phrases as stem sequences."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.phrases = [
            tuple(found)
            for phrase in load_toml(language, "safety")["phrases"]
            if (found := stems(phrase, language))
        ]
        self.vocabulary = Vocabulary(term for phrase in self.phrases for term in phrase)

    def found_in(self, text: str) -> bool:
        found = stems(text, self.language)[:MAX_MESSAGE_STEMS]
        message = [self.vocabulary.resolve(term) for term in found]
        present = set(message)
        return any(
            set(phrase) <= present and _occurs_in_order(phrase, message) for phrase in self.phrases
        )


class SafetyCheck:
    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        self.languages = [DangerPhrases(language) for language in languages]

    def is_danger(self, text: str) -> bool:
        return any(phrases.found_in(text) for phrases in self.languages)


@cache
def default_safety_check() -> SafetyCheck:
    return SafetyCheck()
