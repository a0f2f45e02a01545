"""The outbound limiter on its own: pacing, reply priority and Telegram's retry_after."""

import asyncio
import time
from datetime import timedelta

import pytest
from telegram.error import RetryAfter

from tgbot.broadcasts.limiter import FLOOD_RETRIES, RETRY_MARGIN, OutboundLimiter, Priority


class Telegram:
    """Stands in for the HTTP call the limiter wraps: records when each request went out."""

    def __init__(self, refusals: list[int | timedelta] | None = None) -> None:
        self.sent: list[float] = []
        self.refusals = list(refusals or [])

    async def __call__(self) -> bool:
        self.sent.append(time.monotonic())
        if self.refusals:
            raise RetryAfter(self.refusals.pop(0))
        return True


async def request(
    limiter: OutboundLimiter,
    telegram: Telegram,
    priority: Priority | None = None,
    endpoint: str = "sendMessage",
) -> object:
    return await limiter.process_request(telegram, (), {}, endpoint, {}, priority)


async def test_broadcast_messages_are_paced_at_the_rate():
    limiter, telegram = OutboundLimiter(rate=50), Telegram()
    for _ in range(11):
        await request(limiter, telegram, Priority.BULK)
    elapsed = telegram.sent[-1] - telegram.sent[0]
    assert elapsed >= 9 / 50 * 0.95  # ten intervals of 1/50 s, one of them spare


async def test_replies_never_wait_for_the_broadcast_but_use_up_its_budget():
    limiter, telegram = OutboundLimiter(rate=20), Telegram()
    for _ in range(10):  # replies: all at once, none queued
        await request(limiter, telegram)
    assert telegram.sent[-1] - telegram.sent[0] < 0.05
    started = time.monotonic()
    await request(limiter, telegram, Priority.BULK)
    assert time.monotonic() - started >= 9 / 20 * 0.9  # the broadcast makes up for them


async def test_a_retry_after_pauses_every_message_then_retries_the_same_request():
    limiter, telegram = OutboundLimiter(rate=100), Telegram(refusals=[timedelta(seconds=1)])
    bulk = asyncio.create_task(request(limiter, telegram, Priority.BULK))
    await asyncio.sleep(0.05)
    chat = Telegram()
    reply = asyncio.create_task(request(limiter, chat))
    assert await bulk is True
    await reply
    refused_at, retried_at = telegram.sent
    assert retried_at - refused_at >= 1 + RETRY_MARGIN * 0.9
    assert chat.sent[0] - refused_at >= 1  # the reply waited out the pause as well
    assert limiter.pauses == 1


async def test_an_int_retry_after_is_honoured_too():
    limiter, telegram = OutboundLimiter(rate=100), Telegram(refusals=[1])
    assert await request(limiter, telegram) is True
    assert telegram.sent[1] - telegram.sent[0] >= 1


async def test_endless_refusals_reach_the_caller_after_a_few_retries():
    limiter = OutboundLimiter(rate=100)
    telegram = Telegram(refusals=[timedelta(seconds=0.01)] * (FLOOD_RETRIES + 1))
    with pytest.raises(RetryAfter):
        await request(limiter, telegram)
    assert len(telegram.sent) == FLOOD_RETRIES + 1


async def test_other_requests_pass_straight_through():
    limiter, telegram = OutboundLimiter(rate=1), Telegram()
    started = time.monotonic()
    for _ in range(5):
        await request(limiter, telegram, Priority.BULK, endpoint="answerCallbackQuery")
    assert time.monotonic() - started < 0.5


def test_the_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        OutboundLimiter(rate=0)
