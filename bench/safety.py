"""The danger check's cost per message, on ordinary questions and on hostile 4,096-character ones.

    .venv/bin/python -m bench.safety [--repeat 20]

The check runs on every message before anything else, so its cost is added to every answer.
Ordinary texts are every phrasing in tests/faq_cases/<language>.toml `[topics]`; the FAQ's
own match on the same texts is timed alongside, since the check's p50 must add at most 1 ms
to an ordinary answer. Hostile texts are 4,096 characters (Telegram's limit) built to make the
check work hardest: words from every lexicon, one endless word, thousands of one-letter words,
Latin text full of `j` (read twice as Russian), and prefixes of danger words that end short.
Baseline in the same run: normalizing and splitting the same text into words, which any check
has to do (`textmatch.words`).
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable

from bench.common import percentile
from bench.faq import test_set
from tgbot.settings import LANGUAGES
from tgbot.text.faq import default_faq
from tgbot.text.i18n import load_toml
from tgbot.text.safety import default_safety_check
from tgbot.text.textmatch import words

MAX_TEXT = 4096


def latencies(function: Callable[[str], object], texts: list[str], passes: int) -> list[float]:
    found = []
    for _ in range(passes):
        for text in texts:
            before = time.perf_counter()
            function(text)
            found.append(time.perf_counter() - before)
    return found


def describe(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values) * 1e6:,.0f} µs, p99 {percentile(values, 0.99) * 1e6:,.0f}"
        f" µs, max {max(values) * 1e6:,.0f} µs"
    )


def lexicon_words() -> list[str]:
    found = []
    for language in LANGUAGES:
        for patterns in load_toml(language, "safety")["concepts"].values():
            found += [word.rstrip("*") for pattern in patterns for word in pattern.split()]
    return found


def filled(parts: list[str], rng: random.Random) -> str:
    text = ""
    while len(text) < MAX_TEXT:
        text += rng.choice(parts) + " "
    return text[:MAX_TEXT]


def hostile_texts(rng: random.Random) -> dict[str, str]:
    vocabulary = lexicon_words()
    return {
        "lexicon words": filled(vocabulary, rng),
        "one endless word": "убь" * (MAX_TEXT // 3),
        "one-letter words": "я " * (MAX_TEXT // 2),
        "latin with j": filled(["jajaja", "mojj", "jizn", "zaderjali", "jjjj"], rng),
        "danger-word prefixes": filled([word[: max(1, len(word) - 1)] for word in vocabulary], rng),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over the texts (20)")
    args = parser.parse_args()
    check, faq = default_safety_check(), default_faq()
    ordinary = [question for _, question, _ in test_set()]
    print(f"safety: {len(ordinary)} ordinary texts, {args.repeat} passes")

    checked = latencies(check.assess, ordinary, args.repeat)
    matched = latencies(lambda text: faq.match(text, "en"), ordinary, args.repeat)
    split = latencies(words, ordinary, args.repeat)
    print(f"danger check, ordinary texts: {describe(checked)}")
    print(f"FAQ match, same texts: {describe(matched)}")
    print(f"baseline (normalize and split), same texts: {describe(split)}")
    added = statistics.median(checked) / statistics.median(matched)
    print(
        f"danger check adds {statistics.median(checked) * 1e3:.3f} ms at p50 to an FAQ answer"
        f" (x{added:.2f} of the FAQ match itself)"
    )

    rng = random.Random(7)  # noqa: S311 (only to vary the hostile texts)
    for name, text in hostile_texts(rng).items():
        hostile = latencies(check.assess, [text], max(args.repeat, 20))
        floor = latencies(words, [text], max(args.repeat, 20))
        print(f"hostile 4,096 chars, {name}: {describe(hostile)}; baseline p50"
              f" {statistics.median(floor) * 1e6:,.0f} µs")  # fmt: skip


if __name__ == "__main__":
    main()
