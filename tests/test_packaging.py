"""What `pip install .` ships: the bot, its handlers and texts; never the playground or tests."""

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_wheel_holds_the_bot_and_not_its_stand_ins(tmp_path):
    source = tmp_path / "source"  # setuptools writes build/ beside the project: not in ours
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("tgbot", "handlers", "locales", "playground", "tests"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("appeal_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("appeal_bot-")}
    assert tops == {"tgbot", "handlers", "locales"}
    assert "locales/ru/messages.toml" in names
    assert "locales/safety_ngrams.tsv" in names
    assert "tgbot/runtime/runner.py" in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = Parser().parsestr(zipfile.ZipFile(wheel).read(metadata).decode())
    plain = [r for r in requires.get_all("Requires-Dist") if "extra ==" not in r]
    assert not [r for r in plain if r.split()[0].lower() in {"pytest", "playwright", "pillow"}]
