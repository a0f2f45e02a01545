"""One person flooding the bot is slowed down without anyone else noticing."""

from tests.conftest import ADMIN_ID
from tests.test_conversation import plain, say, with_emergency_line
from tgbot.runtime.throttle import BURST, UserThrottle, Verdict

SLOW_DOWN = with_emergency_line("de", "error.slow_down")
"""The warning carries the emergency line: someone in panic sends many messages."""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_one_warning_then_silence_until_it_refills():
    clock = Clock()
    throttle = UserThrottle(burst=3, per_minute=60, clock=clock)
    assert [throttle.check(1) for _ in range(6)] == [Verdict.ALLOW] * 3 + [
        Verdict.WARN, Verdict.DROP, Verdict.DROP,
    ]  # fmt: skip
    assert throttle.check(2) is Verdict.ALLOW  # someone else is not affected
    clock.now += 1.0  # one more update per second
    assert throttle.check(1) is Verdict.ALLOW
    assert throttle.check(1) is Verdict.WARN  # warned again after being let through


async def test_a_flood_gets_one_warning_and_others_are_answered(bot):
    api = bot.api
    flooder = api.make_user(70, language_code="de")
    for number in range(BURST * 3):
        api.send_message(flooder, f"/help {number}")
    other = api.make_user(71, language_code="en")
    assert (await say(bot, other, "/start")).text == plain("en", "start.greeting")
    warning = await api.wait_for_message(70, predicate=lambda m: m.text == SLOW_DOWN, timeout=10)
    assert warning is not None
    await api.wait_for_call("getUpdates", predicate=lambda call: call.ok and not call.result)
    replies = api.sent_messages(70)
    assert len([m for m in replies if m.text == plain("de", "help.text")]) == BURST
    assert len([m for m in replies if m.text == SLOW_DOWN]) == 1


async def test_admins_are_never_throttled(bot):
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    for _ in range(BURST + 5):
        bot.api.send_message(admin, "/help")
    for _ in range(BURST + 5):
        assert (await bot.api.wait_for_message(ADMIN_ID)).text == plain("en", "help.text")
