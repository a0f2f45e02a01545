"""The benchmarks still run: each at a tiny size, checked for the lines its report needs.

The figures are not judged here (speed targets live in `python -m bench`, beside baselines
measured in the same run); a benchmark that broke would otherwise go unnoticed until then.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUNS = {
    "bench.updates": (
        ["--updates", "30", "--paced", "10", "--per-kind", "6", "--no-concurrent-echo"],
        [
            "bot: burst of 30",
            "bot: CPU per update by kind: start",
            "bot vs echo (PTB defaults), help: CPU per update",
            "bot: first-reply p99",
        ],
    ),
    "bench.fairness": (
        ["--seconds", "1", "--rate", "10", "--flood", "50"],
        ["alone: others' first reply over 10 updates", "flooded:", "the flood adds"],
    ),
}


@pytest.mark.parametrize("module", RUNS)
def test_a_benchmark_runs_and_reports(module):
    arguments, expected = RUNS[module]
    result = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", module, *arguments],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for line in expected:
        assert line in result.stdout, result.stdout
