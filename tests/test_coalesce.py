"""A burst of requests for the same follow-up work runs it twice at most, never once each."""

import asyncio

import pytest

from tgbot.runtime.coalesce import Coalescer


async def test_calls_during_a_run_become_one_more_run():
    coalescer, runs, release = Coalescer(), [], asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        await release.wait()

    first = asyncio.create_task(coalescer.run(job))
    await asyncio.sleep(0)
    others = [asyncio.create_task(coalescer.run(job)) for _ in range(20)]
    await asyncio.gather(*others)  # they return at once: the running job will go again
    release.set()
    await first
    assert runs == [0, 1]


async def test_a_failing_run_does_not_block_the_next_call():
    coalescer, calls = Coalescer(), []

    async def failing() -> None:
        calls.append("fail")
        raise RuntimeError("boom")

    async def working() -> None:
        calls.append("ok")

    with pytest.raises(RuntimeError):
        await coalescer.run(failing)
    await coalescer.run(working)
    assert calls == ["fail", "ok"]
