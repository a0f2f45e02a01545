"""Start-up failures an operator meets first: each is one clear line, never a traceback."""

import asyncio
import signal
import socket

from tests.test_process import (
    START_TIMEOUT,
    free_port,
    live_env,
    run_cli,
    running,
    stop,
)


async def test_a_port_in_use_is_one_line_naming_the_setting_and_exit_2(tmp_path, bot_api):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await run_cli(tmp_path, live_env(tmp_path, bot_api, port))
    assert code == 2
    assert output.strip().splitlines() == [
        f"127.0.0.1:{port} is in use by another program: set PORT (or HOST)."
    ]
    assert bot_api.calls_to("getMe") == []  # it failed before reaching for Telegram


async def test_a_refused_token_is_one_line_and_exit_2(tmp_path, bot_api):
    bot_api.fail_next("getMe", 401, count=1)
    code, output = await run_cli(tmp_path, live_env(tmp_path, bot_api, free_port()))
    assert code == 2
    assert output.strip().splitlines()[-1] == (
        "BOT_TOKEN: Telegram refused this token; get it again from @BotFather."
    )
    assert "Traceback" not in output


async def test_telegram_out_of_reach_at_start_is_retried_with_one_line_each(tmp_path, bot_api):
    bot_api.drop_next("getMe", count=2)
    async with running(tmp_path, live_env(tmp_path, bot_api, free_port())) as process:
        await bot_api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)  # polling starts
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    retries = [line for line in log.splitlines() if "cannot reach Telegram" in line]
    assert len(retries) == 2
    assert retries[0].endswith("cannot reach Telegram (NetworkError); trying again in 1 s")
    assert retries[1].endswith("trying again in 2 s")
    assert "Traceback" not in log


async def test_a_signal_while_waiting_for_telegram_stops_cleanly(tmp_path, bot_api):
    bot_api.fail_next("getMe", 502, count=100)
    async with running(tmp_path, live_env(tmp_path, bot_api, free_port())) as process:
        while len(bot_api.calls_to("getMe")) < 2:  # noqa: ASYNC110 - polling the emulator
            await asyncio.sleep(0.05)
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert bot_api.calls_to("getUpdates") == []
