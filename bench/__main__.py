"""Run every benchmark and append what they print to bench/RESULTS.md.

    .venv/bin/python -m bench [--quick] [--only faq,updates] [--no-record]

Each benchmark runs as its own process (`python -m bench.<name> ...`, the command is recorded
with its output); `--quick` uses small sizes (about three minutes in all instead of about
twenty). The results are appended with the date (UTC), the machine (`platform.platform()`,
CPU count, Python version), the commit and the exact command.
"""

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import REPO

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = """# Benchmark results

Appended by `python -m bench` (see `bench/__main__.py`); each run's figures are what the
scripts printed. Figures from different machines or loads are not comparable; the baselines
in each run are.
"""

#: name, module, arguments, arguments with --quick
SUITE = (
    ("faq", "bench.faq", [], ["--repeat", "5"]),
    ("safety", "bench.safety", [], ["--repeat", "5"]),
    ("startup", "bench.startup", [], []),
    ("updates", "bench.updates", [], ["--updates", "1000", "--paced", "300", "--per-kind", "300"]),
    ("fairness", "bench.fairness", [], ["--seconds", "10"]),
    ("broadcast", "bench.broadcast", [], ["--subscribers", "200"]),
    (
        "broadcast-sizes",
        "bench.broadcast",
        ["--sizes", "10000,100000", "--limit", "1000"],
        ["--sizes", "1000,10000", "--limit", "1000", "--naive-seconds", "5"],
    ),
    ("payments", "bench.payments", [], ["--events", "300"]),
    ("memory", "bench.memory", [], ["--people", "1000,10000"]),
)


def git_revision() -> str:
    def git(*args: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return result.stdout.strip()

    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    dirty = " with uncommitted changes" if git("status", "--porcelain") else ""
    return f"{revision} on {branch}{dirty}"


def run_one(module: str, args: list[str]) -> tuple[int, str, float]:
    """Run one benchmark, echoing its output; returns exit code, output and seconds."""
    command = [sys.executable, "-m", module, *args]
    lines = []
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as errors:
        with subprocess.Popen(  # noqa: S603 - our own modules
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=errors, text=True, bufsize=1
        ) as process:
            for line in process.stdout or ():
                print(line, end="", flush=True)
                lines.append(line)
        code = process.returncode
        if code != 0:
            errors.seek(0)
            tail = errors.read().splitlines()[-20:]
            print("\n".join(tail), file=sys.stderr)
            lines += [
                f"FAILED (exit code {code}); stderr ends with:\n",
                *[f"  {t}\n" for t in tail],
            ]
    return code, "".join(lines), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        help=f"comma-separated names: {', '.join(name for name, *_ in SUITE)}",
    )
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()
    unknown = (args.only or set()) - {name for name, *_ in SUITE}
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}"
        f"; commit {git_revision()}"
    )
    command = shlex.join(["python", "-m", "bench", *sys.argv[1:]])
    sections, failures = [], 0
    for name, module, full, quick in SUITE:
        if args.only and name not in args.only:
            continue
        arguments = quick if args.quick else full
        shown = shlex.join(["python", "-m", module, *arguments])
        print(f"== {name}: {shown}", flush=True)
        code, output, seconds = run_one(module, arguments)
        failures += code != 0
        sections.append(f"### {name}: `{shown}` ({seconds:.0f} s)\n\n```text\n{output}```\n")
    if not args.no_record:
        text = f"\n## {when}: `{command}`\n\n{machine}\n\n" + "\n".join(sections)
        existing = RESULTS.read_text("utf-8") if RESULTS.exists() else HEADER
        RESULTS.write_text(existing + text, "utf-8")
        print(f"appended to {RESULTS.relative_to(REPO)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
