"""FAQ matching: speed and accuracy of `default_faq().match()` on the FAQ test set.

    .venv/bin/python -m bench.faq [--repeat 20]

The set is every phrasing in tests/faq_cases/<language>.toml `[topics]` (the `none` ones
must match nothing), asked in its own language; a question is right when the topic matched
(or "none" for no match) is the one it is listed under, as tests/test_faq.py counts it.

Figures: building the knowledge bases (`Faq()`, what `default_faq()` does once per process);
one pass over the set right after (the stem and typo caches see each question for the first
time, as for a new message); then `--repeat` passes (cached); per-call latency p50/p99 and
answers/s; accuracy per language (the danger check, which runs before the FAQ on every
text, has its own benchmark: bench/safety.py). Baseline in the same run: a
trivial matcher over the same knowledge bases (`str.lower()`, then the share of an example
question's words of 4+ letters found as substrings of the question; best example wins if at
least half its words are found).
"""

import argparse
import re
import statistics
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import REPO, percentile
from tgbot.settings import LANGUAGES
from tgbot.text.faq import Faq
from tgbot.text.i18n import load_toml

CASES = REPO / "tests" / "faq_cases"
_WORD = re.compile(r"\w+")
TRIVIAL_THRESHOLD = 0.5


def test_set() -> list[tuple[str, str, str]]:
    """(language, question, expected topic) for every phrasing of tests/faq_cases/."""
    found = []
    for language in LANGUAGES:
        topics = tomllib.loads((CASES / f"{language}.toml").read_text("utf-8"))["topics"]
        found += [(language, q, topic) for topic, questions in topics.items() for q in questions]
    return found


class TrivialMatcher:
    """The baseline: lower-case substring matching over the same example questions."""

    def __init__(self) -> None:
        self.examples = []
        for language in LANGUAGES:
            for topic_id, topic in load_toml(language, "faq")["topics"].items():
                for question in topic["questions"]:
                    words = [w for w in _WORD.findall(question.lower()) if len(w) >= 4]
                    self.examples.append((topic_id, question.lower(), words))

    def match(self, text: str, _language: str) -> str | None:
        lowered = text.lower()
        best, best_score = None, 0.0
        for topic_id, example, words in self.examples:
            if example in lowered:
                score = 1.0
            elif words:
                score = sum(word in lowered for word in words) / len(words)
            else:
                continue
            if score > best_score:
                best, best_score = topic_id, score
        return best if best_score >= TRIVIAL_THRESHOLD else None


@dataclass
class Timing:
    seconds: float
    latencies: list[float]

    def describe(self) -> str:
        count = len(self.latencies)
        return (
            f"{count / self.seconds:,.0f} answers/s, p50"
            f" {statistics.median(self.latencies) * 1e6:.0f} µs, p99"
            f" {percentile(self.latencies, 0.99) * 1e6:.0f} µs"
        )


def timed(function: Callable[[str, str], object], cases: list, passes: int) -> Timing:
    latencies = []
    started = time.perf_counter()
    for _ in range(passes):
        for language, question, _ in cases:
            before = time.perf_counter()
            function(question, language)
            latencies.append(time.perf_counter() - before)
    return Timing(time.perf_counter() - started, latencies)


def accuracy(match: Callable[[str, str], str | None], cases: list) -> dict[str, float]:
    right: dict[str, list[bool]] = {language: [] for language in LANGUAGES}
    for language, question, expected in cases:
        right[language].append((match(question, language) or "none") == expected)
    return {language: sum(hits) / len(hits) for language, hits in right.items()}


def describe_accuracy(shares: dict[str, float]) -> str:
    mean = sum(shares.values()) / len(shares)
    return ", ".join(f"{lang} {share:.0%}" for lang, share in shares.items()) + f"; mean {mean:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="cached passes over the set (20)")
    args = parser.parse_args()
    cases = test_set()
    print(f"faq: {len(cases)} test phrasings in {len(LANGUAGES)} languages")

    started = time.perf_counter()
    faq = Faq()
    built = time.perf_counter() - started

    def topic(question: str, language: str) -> str | None:
        found = faq.match(question, language)
        return found.topic if found else None

    first = timed(faq.match, cases, 1)
    warm = timed(faq.match, cases, args.repeat)
    print(f"bot FAQ: knowledge bases built in {built * 1000:.0f} ms")
    print(f"bot FAQ: first pass {first.describe()}; {args.repeat} more passes {warm.describe()}")
    print(f"bot FAQ: accuracy {describe_accuracy(accuracy(topic, cases))}")

    started = time.perf_counter()
    trivial = TrivialMatcher()
    trivial_built = time.perf_counter() - started
    baseline = timed(trivial.match, cases, args.repeat)
    print(f"trivial matcher: built in {trivial_built * 1000:.0f} ms; {baseline.describe()}")
    print(f"trivial matcher: accuracy {describe_accuracy(accuracy(trivial.match, cases))}")
    slower = statistics.median(warm.latencies) / statistics.median(baseline.latencies)
    print(f"bot FAQ vs trivial matcher: p50 latency x{slower:.1f}")


if __name__ == "__main__":
    main()
