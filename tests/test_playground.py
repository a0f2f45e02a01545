"""`python -m playground` as a real process: its JSON API, and the page in Chromium.

The browser test drives the page as a person would: three people chat with the bot, one
donates on the simulated Stripe's checkout page, two subscribe, an admin downloads the
donations as CSV and posts news in two languages (bold made with Ctrl+B) that each
subscriber gets once, in their own language.

It needs a Chromium and the `playwright` package from the dev extras. The system's Chromium
or Chrome is used when there is one (Debian's /usr/bin/chromium, which `.ci/run` installs,
or chromium-browser, google-chrome... on the PATH; PLAYGROUND_CHROMIUM names another), else
the one `python -m playwright install chromium` downloads. Without any the test fails, saying
how to install one; it does not skip.

To refresh the screenshot in the docs, run it with a path to write to:

    PLAYGROUND_SCREENSHOT=docs/playground.png .venv/bin/python -m pytest tests/test_playground.py

The page is captured (1400×900) once the news has arrived.
"""

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    Dialog,
    Locator,
    Page,
    Playwright,
    async_playwright,
    expect,
)
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from handlers.admin import CSV_COLUMNS
from tests.test_conversation import plain
from tests.test_process import START_TIMEOUT, bot_env

CHROMIUM_PATHS = (
    Path("/usr/bin/chromium"),
    Path("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"),
    Path("/Applications/Chromium.app/Contents/MacOS/Chromium"),
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
NO_CHROMIUM = (
    "The browser tests need Chromium and found none: not {paths}, nothing called {names} on "
    "the PATH, and no Playwright download. Install one with "
    "`.venv/bin/python -m playwright install chromium` (downloads Playwright's build), or "
    "your system's package (`apt-get install -y chromium` on Debian, as .ci/run does); "
    "PLAYGROUND_CHROMIUM=/path/to/chrome picks another."
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium's own background connections get it refused on CI machines
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000
"""For `expect`: the page polls the server every 0.7 s, and the bot answers within that."""
VIEWPORT = {"width": 1400, "height": 900}
TEST_CARD = "4242 4242 4242 4242"
PAID_URL = re.compile(r"/playground/paid\?session=cs_test_")
"""The playground's DONATION_SUCCESS_URL, with Stripe's {CHECKOUT_SESSION_ID} filled in."""
NEWS_EN = "Two more people are safe"
BOLD = "Two more"
NEWS_RU = "Ещё двое в безопасности"
RAISED = "$12.70"
"""£10 in dollars at the playground's rate GBP=1.27 (playground/run.py)."""
SETTLED_AT_RATE = (
    "£10 counts as $12.70 at the playground's GBP=1.27; $10.00 would mean the simulated Stripe "
    "settled the pounds into dollars 1:1"
)


@dataclass
class Playground:
    process: asyncio.subprocess.Process
    url: str
    """The page, e.g. http://127.0.0.1:8123/playground."""
    api: str
    stderr: Path
    stdout: Path

    @property
    def bot_api(self) -> str:
        """The Bot API emulator with the bot's token: `{bot_api}sendMessage` is a method."""
        found = re.search(r"Bot API emulator: (\S+)", _text(self.stdout))
        assert found, _text(self.stdout)
        return found[1]

    async def stop(self) -> str:
        """SIGTERM, as a person's Ctrl+C or a service manager would; the log it wrote."""
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), START_TIMEOUT)
        return self.stderr.read_text("utf-8", errors="replace")


def playground_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment that finds the playground in this checkout, as `dev.py run` does
    from its root: the playground is not part of the installed bot."""
    return bot_env(tmp_path) | {"PYTHONPATH": str(Path(__file__).parent.parent)}


@asynccontextmanager
async def playground(tmp_path: Path, *arguments: str) -> AsyncIterator[Playground]:
    """The playground in `tmp_path` (its database goes to `tmp_path/data`), ready to use.

    It picks its own free port (`--port 0`) and names it in its first line of output.
    Its output goes to files: a pipe nobody reads could fill up and stall it.
    """
    stdout, stderr = tmp_path / "playground.stdout", tmp_path / "playground.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "playground", "--port", "0", *arguments,
            cwd=tmp_path, env=playground_env(tmp_path), stdout=out, stderr=err,
        )  # fmt: skip
    try:
        running = await _wait_until_ready(process, stdout, stderr)
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _wait_until_ready(
    process: asyncio.subprocess.Process, stdout: Path, stderr: Path
) -> Playground:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    running: Playground | None = None
    response: httpx.Response | None = None
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            if process.returncode is not None:
                pytest.fail(f"the playground exited early:\n{_text(stderr)}")
            if running is None and (found := re.search(r"open (http://\S+)", _text(stdout))):
                url = found[1]
                running = Playground(process, url, f"{url}/api", stderr, stdout)
            if running is not None:
                try:
                    response = await http.get(f"{running.api}/state")
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == HTTPStatus.OK:
                    return running
            if asyncio.get_running_loop().time() > deadline:
                detail = f"last answer {response.status_code}" if response else "no answer"
                pytest.fail(
                    f"the playground's state API is not ready ({detail}):\n" + _text(stderr)[-3000:]
                )
            await asyncio.sleep(0.1)


def _text(path: Path) -> str:
    return path.read_text("utf-8", errors="replace")


async def assert_stops_cleanly(running: Playground) -> None:
    log = await running.stop()
    assert running.process.returncode == 0, log
    assert "Traceback" not in log, log


# -- the JSON API, without a browser ---------------------------------------------------------


async def state(http: httpx.AsyncClient, running: Playground) -> dict[str, Any]:
    response = await http.get(f"{running.api}/state")
    assert response.status_code == HTTPStatus.OK
    return response.json()


async def wait_for_state(http, running, predicate, seconds: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        current = await state(http, running)
        if predicate(current):
            return current
        assert asyncio.get_running_loop().time() < deadline, "the state never came"
        await asyncio.sleep(0.1)


async def test_the_api_refuses_bad_requests_and_nothing_happens(tmp_path):
    async with playground(tmp_path) as running, httpx.AsyncClient(timeout=10) as http:
        api = running.api
        for bad in ({"name": "Zed", "language": "xx"}, {"name": "  ", "language": "en"}, {}):
            response = await http.post(f"{api}/people", json=bad)
            assert response.status_code == HTTPStatus.BAD_REQUEST, bad
            assert response.json()["ok"] is False
        response = await http.post(f"{api}/people", content=b"not json")
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert (await state(http, running))["people"] == []

        response = await http.post(f"{api}/people/55555/send", json={"text": "hello"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        response = await http.post(f"{api}/people/55555/press", json={"data": "menu:about"})
        assert response.status_code == HTTPStatus.BAD_REQUEST

        response = await http.post(f"{api}/people", json={"name": "Eve", "language": "en"})
        assert response.status_code == HTTPStatus.CREATED
        eve = response.json()["id"]
        for empty in ({"text": "   "}, {"text": "x" * 70_000}, {}):
            response = await http.post(f"{api}/people/{eve}/send", json=empty)
            assert response.status_code == HTTPStatus.BAD_REQUEST, empty
        response = await http.post(f"{api}/people/{eve}/send", json={"text": "/start"})
        assert response.status_code == HTTPStatus.OK

        def menu_shown(current: dict[str, Any]) -> bool:
            (person,) = current["people"]
            return any(message["buttons"] for message in person["messages"])

        before = await wait_for_state(http, running, menu_shown)
        (menu,) = [m for m in before["people"][0]["messages"] if m["buttons"]]
        for press in (
            {"message_id": menu["id"], "data": "no:such:button"},
            {"message_id": 999_999, "data": "menu:about"},  # no such message
            {"message_id": "abc", "data": "menu:about"},
            {"message_id": [menu["id"]], "data": "menu:about"},
            {"data": "menu:about"},
        ):
            response = await http.post(f"{api}/people/{eve}/press", json=press)
            assert response.status_code == HTTPStatus.BAD_REQUEST, press
            assert response.json()["ok"] is False
        await asyncio.sleep(1.0)  # time for the bot to answer, if a press had gone through
        after = await state(http, running)
        assert after["people"] == before["people"]
        assert [c for c in after["calls"] if c["method"] == "answerCallbackQuery"] == []
        await assert_stops_cleanly(running)


def raw_get(port: int, path: str) -> int:
    """The status of `GET path` sent as it is: HTTP clients would remove the `..` first."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        head = sock.recv(1024).decode("latin-1")
    return int(head.split()[1])


async def test_static_files_are_only_the_pages_own(tmp_path):
    async with playground(tmp_path) as running, httpx.AsyncClient(timeout=10) as http:
        port = int(re.search(r":(\d+)/", running.url)[1])
        static = f"{running.url}/static"
        for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
            response = await http.get(f"{static}/{name}")
            assert response.status_code == HTTPStatus.OK
            assert response.headers["content-type"].startswith(kind)
        page = await http.get(running.url)
        assert page.status_code == HTTPStatus.OK
        assert "<textarea" in page.text
        for path in (
            "/playground/static/../x",
            "/playground/static/../server.py",
            "/playground/static/../../settings.py",
            "/playground/static/..%2Fserver.py",
            "/playground/static/%2e%2e%2f%2e%2e%2fsettings.py",
            "/playground/static/..",
            "/playground/static/index.html",
            "/playground/static/nothing.js",
            "/playground/static/",
        ):
            status = await asyncio.to_thread(raw_get, port, path)
            assert status == HTTPStatus.NOT_FOUND, path
        await assert_stops_cleanly(running)


# -- the page in Chromium ------------------------------------------------------------------------


def chat_of(page: Page, name: str) -> Locator:
    return page.locator("section.chat", has=page.locator(".chat-title", has_text=f"{name} ("))


def bot_messages(chat: Locator) -> Locator:
    return chat.locator("li.message.bot")


async def add_person(page: Page, name: str, language: str, admin: bool = False) -> Locator:
    await page.locator("#person-name").fill(name)
    await page.locator("#person-language").select_option(language)
    await page.locator("#person-admin").set_checked(admin)
    await page.locator("#add-person").click()
    chat = chat_of(page, name)
    await expect(chat).to_be_visible(timeout=WAIT_MS)
    await expect(chat).to_have_attribute("data-user-id", re.compile(r"^\d+$"))
    return chat


async def say(chat: Locator, text: str) -> None:
    """Type `text` and press Enter, as a person sends a message."""
    box = chat.locator("form.composer textarea[name=text]")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")
    await expect(chat.locator("li.message.user").last).to_have_text(text, timeout=WAIT_MS)


async def tap(chat: Locator, label: str) -> None:
    """The newest inline button with this label (older menus keep theirs, as in Telegram)."""
    await chat.locator("button.inline-button", has_text=label).last.click()


async def expect_reply(chat: Locator, text: str | re.Pattern[str]) -> None:
    await expect(bot_messages(chat).last).to_contain_text(text, timeout=WAIT_MS)


async def pay_on_checkout_page(page: Page, url: str) -> None:
    """The simulated Stripe's hosted page in a new tab: card 4242…, Donate, then the success
    page, which says the tab can be closed."""
    checkout = await page.context.new_page()
    await checkout.goto(url)
    await expect(checkout.locator("#checkout-amount")).to_have_text("£10.00")
    summary = await checkout.locator("main").inner_text()
    assert summary.count("£10.00") == 1, f"the amount, once and without 'gbp': {summary}"
    assert "gbp" not in summary.lower()
    await checkout.locator("#card-number").fill(TEST_CARD)
    await expect(checkout.locator("#pay")).to_have_text("Donate")
    await checkout.locator("#pay").click()
    try:  # Stripe sends the donor to the success URL: the playground's success page
        await checkout.wait_for_url(
            re.compile(r"/playground/paid\?session=cs_test_"), timeout=WAIT_MS
        )
    except PlaywrightTimeoutError:
        problem = await checkout.locator("#checkout-error").all_inner_texts()
        pytest.fail(f"the checkout page did not send the donor on: {problem}")
    await expect(checkout.locator("#paid-title")).to_contain_text(
        "Payment received — you can close this tab"
    )
    await expect(checkout.locator("#paid-amount")).to_have_text("£10.00")
    await expect(checkout.locator("#chats")).to_have_count(0)  # not the playground again
    await checkout.close()


def find_chromium(bundled: str | None) -> Path:
    """The system's Chromium or Chrome, else Playwright's download (`bundled`), else a failure
    that says how to install one."""
    if chosen := os.environ.get("PLAYGROUND_CHROMIUM"):
        if not Path(chosen).exists():
            pytest.fail(f"PLAYGROUND_CHROMIUM={chosen} does not exist")
        return Path(chosen)
    for path in CHROMIUM_PATHS:
        if path.exists():
            return path
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return Path(found)
    if bundled and Path(bundled).exists():
        return Path(bundled)
    pytest.fail(
        NO_CHROMIUM.format(
            paths=", ".join(map(str, CHROMIUM_PATHS)), names=", ".join(CHROMIUM_NAMES)
        )
    )


async def launch_chromium(driver: Playwright) -> Browser:
    chromium = find_chromium(driver.chromium.executable_path)
    return await driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


async def download_text(page: Page, link: Locator) -> tuple[str, str]:
    """Click a download link; the file's suggested name and its text."""
    async with page.expect_download() as started:
        await link.click()
    download = await started.value
    path = await download.path()
    return download.suggested_filename, await asyncio.to_thread(Path(path).read_text, "utf-8")


async def test_three_people_donate_subscribe_and_get_news_in_their_language(tmp_path):
    async with playground(tmp_path) as running, async_playwright() as driver:
        browser = await launch_chromium(driver)
        context = await browser.new_context(viewport=VIEWPORT)
        page = await context.new_page()
        errors: list[str] = []  # the page alerts when the API refuses an action

        async def on_dialog(dialog: Dialog) -> None:
            errors.append(f"alert: {dialog.message}")
            await dialog.dismiss()

        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", on_dialog)
        await page.goto(running.url)
        await expect(page.locator("#no-chats")).to_be_visible()

        alice = await add_person(page, "Alice", "en")
        boris = await add_person(page, "Boris", "ru")
        ada = await add_person(page, "Ada", "en", admin=True)
        await expect(page.locator("section.chat")).to_have_count(3)
        await expect(page.locator("#no-chats")).to_be_hidden()

        await say(alice, "/start")
        await expect_reply(alice, plain("en", "start.greeting"))
        await tap(alice, "🌐 Language")
        await expect_reply(alice, plain("en", "language.prompt"))
        await tap(alice, "English")
        await expect_reply(alice, plain("en", "language.changed"))

        await say(alice, "how much does it cost to evacuate one person?")
        await expect_reply(alice, "4,555")

        await say(alice, "/donate 10 GBP")
        link = bot_messages(alice).last
        await expect(link).to_contain_text("£10.00", timeout=WAIT_MS)
        href = await link.locator("a.url-button").get_attribute("href")
        await pay_on_checkout_page(page, href)
        await expect_reply(alice, re.compile(r"Thank you!.*£10\.00 has arrived"))
        raised = page.locator("#state-raised")
        await expect(raised, SETTLED_AT_RATE).to_contain_text(RAISED)
        # the command menu fills in the command; Enter sends it
        await alice.locator("select.commands").select_option("/progress")
        await expect(alice.locator("textarea[name=text]")).to_have_value("/progress ")
        await alice.locator("textarea[name=text]").press("Enter")
        await expect_reply(alice, plain("en", "progress.title"))
        await expect(bot_messages(alice).last).to_contain_text(RAISED)
        await tap(alice, "🔔 Get news")
        await expect_reply(alice, plain("en", "subscribe.done"))

        # the admin's export is a file to download, as Telegram shows a document
        await say(ada, "/export_donations")
        csv_link = bot_messages(ada).last.locator("a.media.document")
        await expect(csv_link).to_have_text(re.compile(r"donations-.*\.csv"), timeout=WAIT_MS)
        name, csv_text = await download_text(page, csv_link)
        assert re.fullmatch(r"donations-\d{4}-\d{2}-\d{2}\.csv", name), name
        header, *rows = csv_text.splitlines()
        assert header == ",".join(CSV_COLUMNS)
        assert len(rows) == 1
        assert ",GBP,once,paid," in rows[0], rows

        await say(boris, "/subscribe")
        await expect_reply(boris, plain("ru", "subscribe.done"))
        await expect(page.locator("#state-subscribers")).to_contain_text("en 1")
        await expect(page.locator("#state-subscribers")).to_contain_text("ru 1")

        # Two blocks, each on its own line: Shift+Enter starts the second line, Enter sends.
        # "Two more" is made bold as in Telegram Desktop: selected, then Ctrl+B.
        box = ada.locator("form.composer textarea[name=text]")
        await box.fill(f"/post [en] {NEWS_EN}")
        start = len("/post [en] ")
        await box.evaluate(f"box => box.setSelectionRange({start}, {start + len(BOLD)})")
        await box.press("Control+b")
        await expect(box).to_have_value(f"/post [en] **{BOLD}**{NEWS_EN.removeprefix(BOLD)}")
        await box.evaluate("box => box.setSelectionRange(box.value.length, box.value.length)")
        await box.press("Shift+Enter")
        await page.keyboard.insert_text(f"[ru] {NEWS_RU}")
        await box.press("Enter")
        sent = ada.locator("li.message.user").last
        await expect(sent).to_contain_text(NEWS_RU)
        await expect(sent.locator("b")).to_have_text(BOLD)
        send = ada.locator('button.inline-button[data-data^="post:send:"]')
        await expect(send).to_have_count(1, timeout=WAIT_MS)
        await expect(send).to_have_text(plain("en", "post.send_button", count=2))
        preview = bot_messages(ada).filter(has_text=NEWS_EN)
        await expect(preview).to_have_count(1)
        await expect(preview.locator("b")).to_have_text(BOLD)  # the formatting is kept
        await expect(bot_messages(ada).filter(has_text=NEWS_RU)).to_have_count(1)
        await send.click()
        await expect(bot_messages(ada).filter(has_text="has finished sending")).to_have_count(
            1, timeout=WAIT_MS
        )
        await expect(bot_messages(alice).filter(has_text=NEWS_EN)).to_have_count(1)
        await expect(bot_messages(alice).filter(has_text=NEWS_EN).locator("b")).to_have_text(BOLD)
        await expect(bot_messages(boris).filter(has_text=NEWS_RU)).to_have_count(1)
        await expect(bot_messages(alice).filter(has_text=NEWS_RU)).to_have_count(0)
        await expect(bot_messages(boris).filter(has_text=NEWS_EN)).to_have_count(0)
        await expect(page.locator("#state-violations")).to_have_text("")

        if screenshot := os.environ.get("PLAYGROUND_SCREENSHOT"):
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=screenshot)
        assert errors == [], "the page raised or alerted"
        await browser.close()
        await assert_stops_cleanly(running)


async def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "playground", "--port", str(port),
            cwd=tmp_path, env=playground_env(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode == 2
    assert err.decode().strip() == f"Port {port} is in use: choose another with --port."
    assert out == b""


async def test_the_pre_flight_check_passes_against_the_playground(tmp_path):
    """README: an operator can try `python -m tgbot check` on the playground's emulators."""
    async with playground(tmp_path) as running:
        found = re.search(r"check` against it: (.+)", _text(running.stdout))
        assert found, _text(running.stdout)
        settings = dict(pair.split("=", 1) for pair in found[1].split())
        env = bot_env(tmp_path, emergency_contact_text="Hotline +1 555 0100, help@example.org")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tgbot", "check", cwd=tmp_path, env=env | settings,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
        await assert_stops_cleanly(running)
    report = out.decode()
    assert process.returncode == 0, report + err.decode()
    assert "✗" not in report
    assert "✓ Stripe webhook endpoint" in report
