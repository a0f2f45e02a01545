"""A second opinion for the danger check: letter n-grams learnt from labelled messages.

The lexicons (`tgbot.text.safety`) know the words someone listed; a person in danger also writes
words nobody listed. This model scores a message by the pieces of words it shares with calls
for help and with ordinary messages of the labelled set in `tests/safety_cases/` (naive
Bayes: the mean log-likelihood ratio of its words and their 3- to 5-letter pieces). Above
`THRESHOLD` the message is possible danger: it gets the emergency line first, never the
emergency reply alone. On messages written after the lexicons were tuned, it lifted recall
from 91-98% to 98-100% per language while adding alarms to at most one ordinary message in
thirty (measured once, before the threshold was fixed).

The counts ship as `locales/safety_ngrams.tsv`; after changing the labelled set, rebuild it:

    .venv/bin/python -m tgbot.text.safety_model tests/safety_cases
"""

import math
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from tgbot.settings import LANGUAGES
from tgbot.text.safety_text import prepared, readings, words

THRESHOLD = 0.3
"""Mean log-likelihood ratio above which a message is possible danger (chosen on fresh
messages, not on the labelled set the model learns from)."""
SIZES = (3, 4, 5)
MIN_COUNT = 2
"""Features seen in fewer labelled messages are left out: they describe one message only."""
SMOOTHING = 0.5
MIN_EVIDENCE = 12
"""Known features a message needs before the model has an opinion: "/start 2" has too few."""
MODEL_FILE = "safety_ngrams.tsv"
MAX_WORDS = 150
"""Words of each reading the model looks at: a call for help comes early, and this bounds
the work a hostile 4,096-character message can cause."""
MAX_WORD_LENGTH = 40
"""Longer "words" are no words of any language: they are skipped."""


def features(text: str) -> set[str]:
    """The words of a message (also read as Russian when in Latin letters) and their pieces."""
    text = prepared(text)
    found = set()
    for reading in (words(text), *readings(text)):
        for word in reading[:MAX_WORDS]:
            if not word.isalpha() or len(word) > MAX_WORD_LENGTH:
                continue  # numbers say nothing of danger
            found.add(f"={word}")
            padded = f" {word} "
            for size in SIZES:
                found.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return found


@dataclass(frozen=True, slots=True)
class NgramModel:
    help_messages: int
    ordinary_messages: int
    counts: dict[str, tuple[int, int]]
    """feature -> (calls for help, ordinary messages) it occurs in."""

    @classmethod
    def train(cls, helps: Iterable[str], ordinary: Iterable[str]) -> "NgramModel":
        help_counts, ordinary_counts = Counter[str](), Counter[str]()
        helps, ordinary = list(helps), list(ordinary)
        for text in helps:
            help_counts.update(features(text))
        for text in ordinary:
            ordinary_counts.update(features(text))
        counts = {
            feature: (help_counts[feature], ordinary_counts[feature])
            for feature in help_counts.keys() | ordinary_counts.keys()
            if help_counts[feature] + ordinary_counts[feature] >= MIN_COUNT
        }
        return cls(len(helps), len(ordinary), counts)

    def score(self, text: str) -> float:
        """Mean log-likelihood ratio, help over ordinary, of the message's known features;
        0 when too few are known to judge."""
        ratios = [
            math.log((helps + SMOOTHING) / (self.help_messages + 1))
            - math.log((ordinary + SMOOTHING) / (self.ordinary_messages + 1))
            for helps, ordinary in filter(None, map(self.counts.get, features(text)))
        ]
        return sum(ratios) / len(ratios) if len(ratios) >= MIN_EVIDENCE else 0.0

    def is_possible_danger(self, text: str) -> bool:
        return self.score(text) > THRESHOLD

    def dumps(self) -> str:
        lines = [f"\t{self.help_messages}\t{self.ordinary_messages}"]
        lines += [f"{f}\t{h}\t{o}" for f, (h, o) in sorted(self.counts.items())]
        return "\n".join(lines) + "\n"

    @classmethod
    def loads(cls, text: str) -> "NgramModel":
        header, *rows = text.rstrip("\n").split("\n")
        _, helps, ordinary = header.split("\t")
        counts = {}
        for row in rows:
            feature, help_count, ordinary_count = row.rsplit("\t", 2)
            counts[feature] = (int(help_count), int(ordinary_count))
        return cls(int(helps), int(ordinary), counts)


def train_on(folder: Path) -> NgramModel:
    """A model of the labelled sets `<folder>/<language>.toml` (`help` and `ordinary`)."""
    sets = [tomllib.loads((folder / f"{lang}.toml").read_text("utf-8")) for lang in LANGUAGES]
    return NgramModel.train(
        (text for cases in sets for text in cases["help"]),
        (text for cases in sets for text in cases["ordinary"]),
    )


@cache
def default_model() -> NgramModel:
    return NgramModel.loads(files("locales").joinpath(MODEL_FILE).read_text("utf-8"))


def main() -> int:
    """Rebuild the shipped model from the labelled sets in the folder given."""
    if len(sys.argv) != 2:
        print("usage: python -m tgbot.text.safety_model tests/safety_cases", file=sys.stderr)
        return 2
    model = train_on(Path(sys.argv[1]))
    target = Path(str(files("locales").joinpath(MODEL_FILE)))
    target.write_text(model.dumps(), "utf-8")
    print(f"{len(model.counts)} features from {model.help_messages} calls for help and")
    print(f"{model.ordinary_messages} ordinary messages written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
