"""Start-up refuses an emergency text that would fail a person in danger.

It is sent to someone who wrote that they are in danger: it must not be `.env.example`'s
placeholder, must not be a stub, and must give a way to reach a person.
"""

from pathlib import Path

import pytest

from tests.conftest import EMERGENCY, TOKEN
from tests.test_process import bot_env, run_cli
from tgbot.settings import SettingsError, load_settings

ENV_EXAMPLE = Path(__file__).parent.parent / ".env.example"
PLACEHOLDER = next(
    line.partition("=")[2]
    for line in ENV_EXAMPLE.read_text("utf-8").splitlines()
    if line.startswith("EMERGENCY_CONTACT_TEXT=")
)
REFUSED = {
    "the placeholder": PLACEHOLDER,
    "the placeholder inside": f"Call +1 555 0100. {PLACEHOLDER}",
    "too short": "+1 555 0100",
    "no way to reach anyone": "Please reach out to the caseworkers of the Network right away.",
}
ACCEPTED = [
    "Call the hotline: +1 555 0100 (any time)",
    "Write to the caseworkers: help@example.org",
    "Secure form: https://example.org/urgent-help",
    "On Telegram, write to @ExampleCaseworkers at once",
]


def settings(**overrides: str):
    values = {"bot_token": TOKEN, "emergency_contact_text": EMERGENCY, "_env_file": None}
    return load_settings(**(values | overrides))


@pytest.mark.parametrize("setting", ["emergency_contact_text", "emergency_contact_text_ru"])
@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_a_text_that_reaches_no_one_is_refused(setting, value):
    with pytest.raises(SettingsError, match=setting.upper()) as refused:
        settings(**{setting: value})
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("value", ACCEPTED)
def test_a_phone_number_link_address_or_handle_is_accepted(value):
    assert settings(emergency_contact_text=value).emergency_text("de") == value


async def test_the_bot_refuses_to_start_with_the_placeholder(tmp_path):
    env = bot_env(tmp_path, bot_token=TOKEN, emergency_contact_text=PLACEHOLDER)
    code, stderr = await run_cli(tmp_path, env)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert "EMERGENCY_CONTACT_TEXT" in line
    assert PLACEHOLDER not in line
