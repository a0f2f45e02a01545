"""The danger check against labelled messages in tests/safety_cases/.

`<lang>.toml` is the set the lexicons were tuned on; `held_out/<lang>.toml` was written at the
same time by someone else, before the detector changed, and is never tuned on. Each has calls
for help (`help`) and ordinary messages that use the same words (`ordinary`). Recall counts a
call for help that gets the emergency contact (either tier); a false alarm is an ordinary
message that gets the clear-danger reply (the emergency reply alone). Both figures, per
language and set, are printed at the end of every test run (see conftest), with the share of
ordinary messages that get the emergency line before their answer (possible danger).
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tgbot.settings import LANGUAGES
from tgbot.text.safety import Danger, default_safety_check
from tgbot.text.safety_model import default_model, train_on

CASES = Path(__file__).parent / "safety_cases"
SETS = {"tuned": CASES, "held-out": CASES / "held_out"}
MIN_RECALL = 0.98
MAX_FALSE_ALARMS = 0.03


@dataclass(frozen=True)
class Figures:
    recall: float
    false_alarms: float
    possible_on_ordinary: float


FIGURES: dict[tuple[str, str], Figures] = {}
"""(set, language) -> figures; printed in the terminal summary."""


def measure(set_name: str, language: str) -> tuple[Figures, list[str], list[str]]:
    cases = tomllib.loads((SETS[set_name] / f"{language}.toml").read_text("utf-8"))
    check = default_safety_check()
    helps = [(text, check.assess(text)) for text in cases["help"]]
    ordinary = [(text, check.assess(text)) for text in cases["ordinary"]]
    missed = [text for text, danger in helps if danger is Danger.NONE]
    alarms = [text for text, danger in ordinary if danger is Danger.CLEAR]
    possible = sum(danger is Danger.POSSIBLE for _, danger in ordinary)
    figures = Figures(
        recall=1 - len(missed) / len(helps),
        false_alarms=len(alarms) / len(ordinary),
        possible_on_ordinary=possible / len(ordinary),
    )
    FIGURES[set_name, language] = figures
    return figures, missed, alarms


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_tuned_set_meets_the_targets(language):
    figures, missed, alarms = measure("tuned", language)
    assert figures.recall >= MIN_RECALL, missed
    assert figures.false_alarms <= MAX_FALSE_ALARMS, alarms


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_held_out_set_is_measured_and_stays_close(language):
    """Its messages are not shown on failure: reading them would be tuning on them."""
    figures, missed, alarms = measure("held-out", language)
    assert figures.recall >= MIN_RECALL, f"{len(missed)} calls for help missed"
    assert figures.false_alarms <= MAX_FALSE_ALARMS, f"{len(alarms)} false alarms"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_set_has_enough_cases(language):
    for folder in SETS.values():
        cases = tomllib.loads((folder / f"{language}.toml").read_text("utf-8"))
        assert len(cases["help"]) >= 40
        assert len(cases["ordinary"]) >= 40


def test_the_shipped_model_is_trained_on_the_tuned_set():
    """After changing the tuned set, rebuild the model:
    `python -m tgbot.text.safety_model tests/safety_cases`."""
    assert train_on(CASES).dumps() == default_model().dumps()


def report_lines() -> list[str]:
    lines = []
    for set_name in SETS:
        row = [
            f"{language} recall {f.recall:.0%} false alarms {f.false_alarms:.0%}"
            f" (emergency line first on {f.possible_on_ordinary:.0%})"
            for language in LANGUAGES
            if (f := FIGURES.get((set_name, language)))
        ]
        if row:
            lines.append(f"Danger check on tests/safety_cases ({set_name}): " + ", ".join(row))
    return lines
