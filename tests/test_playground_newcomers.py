"""The playground behaves like Telegram for a newcomer (issue 14).

One browser session covers what a person sees on the page: pop-up answers to button presses
(a toast that fades; with show_alert, a box to close), Markdown and Ctrl+I in the composer
sent as entities, a pasted text over 4096 characters sent as two messages, a button label
too wide for a phone flagged in the Bot API log, the favicon, and the checkout page in the
donor's language. Without a browser: the people and the database kept across a restart,
and `--reset`; the composer's parsing and splitting; the checkout and success pages in each
language; finding a Chromium.
"""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Route, async_playwright, expect

from playground.stripe import FakeStripe
from playground.stripe.checkout_text import NBSP, display_amount
from playground.telegram import Call
from playground.web.composer import compose, parse_markdown
from playground.web.page import answers_view, call_view
from playground.web.paid import paid_page
from playground.web.people import People
from tests import test_playground
from tests.test_conversation import plain
from tests.test_playground import (
    VIEWPORT,
    WAIT_MS,
    add_person,
    assert_stops_cleanly,
    bot_messages,
    find_chromium,
    launch_chromium,
    playground,
    say,
    state,
    wait_for_state,
)

TOO_WIDE = "💛 A label far too long for the keyboard of any phone"
ALERT = "Only admins can do this."
STALE = plain("en", "error.stale_button")
PARAGRAPH = ("Lorem ipsum dolor sit amet, " * 4).strip() + "\n"
LONG = PARAGRAPH * 45
"""About 5,000 characters, pasted at once: Telegram sends it as two messages."""


# -- the page in Chromium ------------------------------------------------------------------------


async def test_the_page_shows_what_telegram_would(tmp_path):
    async with playground(tmp_path) as running, async_playwright() as driver:
        browser = await launch_chromium(driver)
        page = await (await browser.new_context(viewport=VIEWPORT)).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: errors.append(f"native dialog: {dialog.message}"))
        await page.goto(running.url)
        async with httpx.AsyncClient(timeout=10, follow_redirects=True) as http:
            icon = await page.locator("link[rel=icon]").get_attribute("href")
            for address in (icon, "/favicon.ico"):
                response = await http.get(httpx.URL(running.url).join(address))
                assert response.status_code == 200, address
                assert response.headers["content-type"].startswith("image/svg+xml")

        carla = await add_person(page, "Carla", "en")
        boris = await add_person(page, "Boris", "ru")
        carla_id = int(await carla.get_attribute("data-user-id"))

        # Markdown typed as in Telegram Desktop, and Ctrl+I on a selection, become entities
        box = carla.locator("textarea[name=text]")
        await box.fill("hello world")
        await box.evaluate("box => box.setSelectionRange(6, 11)")
        await box.press("Control+i")
        await expect(box).to_have_value("hello __world__")
        await box.evaluate("box => box.setSelectionRange(box.value.length, box.value.length)")
        await page.keyboard.insert_text(" **bold** [site](https://example.org/a) `x**y`")
        await box.press("Enter")
        sent = carla.locator("li.message.user").last
        await expect(sent).to_have_text("hello world bold site x**y", timeout=WAIT_MS)
        await expect(sent.locator("i")).to_have_text("world")
        await expect(sent.locator("b")).to_have_text("bold")
        await expect(sent.locator("a")).to_have_attribute("href", "https://example.org/a")
        await expect(sent.locator("code")).to_have_text("x**y")

        # a paste over 4096 characters goes as two messages, cut between paragraphs
        before = await carla.locator("li.message.user").count()
        await box.fill(LONG)
        await expect(box).to_have_value(LONG)  # nothing cut off by the text box
        await box.press("Enter")
        parts = carla.locator("li.message.user")
        await expect(parts).to_have_count(before + 2, timeout=WAIT_MS)
        first, second = [await parts.nth(before + i).inner_text() for i in range(2)]
        assert len(first) <= 4096 < len(LONG)
        assert f"{first}\n{second}" == LONG.strip()

        # a label a phone would wrap: outlined in the chat, flagged in the Bot API log
        async with httpx.AsyncClient(timeout=10) as http:
            keyboard = [[{"text": TOO_WIDE, "callback_data": "gone:1"}]]
            response = await http.post(
                f"{running.bot_api}sendMessage",
                json={
                    "chat_id": carla_id,
                    "text": "A button from long ago",
                    "reply_markup": {"inline_keyboard": keyboard},
                },
            )
            assert response.json()["ok"], response.text
        wide = carla.locator("button.inline-button.too-wide", has_text=TOO_WIDE)
        await expect(wide).to_be_visible(timeout=WAIT_MS)
        flagged = page.locator("#state-log li.warned", has_text=f"sendMessage → {carla_id}")
        await expect(flagged.locator(".too-wide-badge")).to_have_count(1)
        assert TOO_WIDE in (await flagged.locator(".too-wide-badge").get_attribute("title"))

        # the bot's answer to a press shows as a toast that fades, as in Telegram
        await wide.click()
        toast = carla.locator(".toast")
        await expect(toast).to_have_text(STALE, timeout=WAIT_MS)
        await expect(toast).to_be_visible()
        await expect(toast).to_be_hidden(timeout=5_000)

        # with show_alert, a box that stays until OK (the bot never asks for one, so the
        # page is handed one in its state)
        async def with_alert(route: Route) -> None:
            response = await route.fetch()
            data = await response.json()
            for person in data["people"]:
                if person["id"] == carla_id:
                    person["answers"].append({"id": "alert-1", "text": ALERT, "show_alert": True})
            await route.fulfill(response=response, json=data)

        await page.route("**/playground/api/state", with_alert)
        alert = page.locator("#callback-alert")
        await expect(alert).to_be_visible(timeout=WAIT_MS)
        await expect(alert).to_contain_text(ALERT)
        await page.unroute("**/playground/api/state")
        await alert.get_by_role("button", name="OK").click()
        await expect(alert).to_be_hidden()
        await page.wait_for_timeout(1_000)  # later polls show it no more
        await expect(alert).to_be_hidden()

        # the checkout page speaks the donor's language and shows the amount once
        await say(boris, "/donate 10 EUR")
        link = bot_messages(boris).last.locator("a.url-button")
        await expect(link).to_have_count(1, timeout=WAIT_MS)
        checkout = await page.context.new_page()
        await checkout.goto(await link.get_attribute("href"))
        await expect(checkout.locator("html")).to_have_attribute("lang", "ru")
        await expect(checkout.locator("#checkout-amount")).to_have_text(f"10,00{NBSP}€")
        assert (await checkout.locator("main").inner_text()).count("10,00") == 1
        await expect(checkout.locator("label[for=card-number]")).to_have_text("Номер карты")
        await expect(checkout.locator("#pay")).to_have_text("Пожертвовать")
        await checkout.locator("#cancel").click()  # to a page of its own, not the playground
        await expect(checkout.locator("#paid-title")).to_contain_text("Payment cancelled")
        await expect(checkout.locator("#chats")).to_have_count(0)
        await checkout.close()

        assert errors == [], "the page raised or opened a native dialog"
        await browser.close()
        await assert_stops_cleanly(running)


# -- a restart, through the JSON API ------------------------------------------------------------


async def add(http: httpx.AsyncClient, running, name: str) -> int:
    response = await http.post(f"{running.api}/people", json={"name": name, "language": "en"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def reply_to(http, running, user_id: int, text: str) -> str:
    """Send `text` as the person; the text of the bot's answer."""
    count = len(_person(await state(http, running), user_id)["messages"])
    response = await http.post(f"{running.api}/people/{user_id}/send", json={"text": text})
    assert response.status_code == 200, response.text

    def answered(current: dict[str, Any]) -> bool:
        return len(_person(current, user_id)["messages"]) >= count + 2

    current = await wait_for_state(http, running, answered)
    return _person(current, user_id)["messages"][count + 1]["html"]


def _person(current: dict[str, Any], user_id: int) -> dict[str, Any]:
    (person,) = [person for person in current["people"] if person["id"] == user_id]
    return person


async def test_a_restart_keeps_the_people_the_database_knows_and_reset_forgets_both(tmp_path):
    people_file = tmp_path / "data" / "playground-people.json"
    async with playground(tmp_path) as running, httpx.AsyncClient(timeout=10) as http:
        alice = await add(http, running, "Alice")
        assert plain("en", "subscribe.done") in await reply_to(http, running, alice, "/subscribe")
        await assert_stops_cleanly(running)
    assert json.loads(people_file.read_text())["people"][0]["id"] == alice

    async with playground(tmp_path) as running, httpx.AsyncClient(timeout=10) as http:
        current = await state(http, running)
        assert [(p["id"], p["name"]) for p in current["people"]] == [(alice, "Alice")]
        assert current["subscribers"] == {"en": 1}
        bea = await add(http, running, "Bea")
        assert bea != alice
        # a new person is new to the bot too, not Alice again
        assert plain("en", "subscribe.done") in await reply_to(http, running, bea, "/subscribe")
        assert plain("en", "subscribe.already") in await reply_to(
            http, running, alice, "/subscribe"
        )
        await assert_stops_cleanly(running)

    async with playground(tmp_path, "--reset") as running, httpx.AsyncClient(timeout=10) as http:
        current = await state(http, running)
        assert (current["people"], current["subscribers"]) == ([], {})
        assert json.loads(people_file.read_text())["people"] == []
        cleo = await add(http, running, "Cleo")
        assert cleo == alice  # ids start again with the database
        assert plain("en", "subscribe.done") in await reply_to(http, running, cleo, "/subscribe")
        await assert_stops_cleanly(running)

    # a database without its people (a playground from before they were kept) goes too
    people_file.unlink()
    async with playground(tmp_path) as running, httpx.AsyncClient(timeout=10) as http:
        current = await state(http, running)
        assert (current["people"], current["subscribers"]) == ([], {})
        assert "starting afresh" in running.stdout.read_text()
        await assert_stops_cleanly(running)


# -- the pieces, without a browser ----------------------------------------------------------------


def test_the_composer_sends_markdown_as_entities():
    text, entities = parse_markdown(
        "**Good news:** __two__ ~~more~~ [people](https://example.org) `**safe**`"
    )
    assert text == "Good news: two more people **safe**"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 10},
        {"type": "italic", "offset": 11, "length": 3},
        {"type": "strikethrough", "offset": 15, "length": 4},
        {"type": "text_link", "offset": 20, "length": 6, "url": "https://example.org"},
        {"type": "code", "offset": 27, "length": 8},
    ]
    # nested, after an emoji (offsets in UTF-16), with the command Telegram detects
    ((text, entities),) = compose("/post 💛 **a __b__ c**")
    assert text == "/post 💛 a b c"
    assert entities == [
        {"type": "bot_command", "offset": 0, "length": 5},
        {"type": "bold", "offset": 9, "length": 5},
        {"type": "italic", "offset": 11, "length": 1},
    ]
    # a marker without its pair, or around nothing but spaces, stays as typed
    for typed in ("2 ** 3", "a ** b", "snake__case__name", "[a](javascript:x)", "``"):
        assert compose(typed) == [(typed, [])], typed
    assert compose("```python\nprint('/start')```") == [
        ("print('/start')", [{"type": "pre", "offset": 0, "length": 15, "language": "python"}])
    ]


def test_the_composer_splits_a_long_text_as_telegram_desktop_does():
    (first, _), (second, _) = compose(LONG)
    assert first.endswith("amet,")
    assert len(first) <= 4096
    assert f"{first}\n{second}" == LONG.strip()
    # a bold run over the cut is bold in both parts; no break at all: cut at the limit
    (one, bold_one), (two, bold_two) = compose("**" + "a" * 5000 + "**")
    assert (len(one), len(two)) == (4096, 904)
    assert bold_one == [{"type": "bold", "offset": 0, "length": 4096}]
    assert bold_two == [{"type": "bold", "offset": 0, "length": 904}]
    # the limit counts UTF-16 units, as Telegram does: an emoji takes two
    parts = compose("💛" * 3000)
    assert [len(part) for part, _ in parts] == [2048, 952]


def test_pop_up_answers_and_too_wide_buttons_for_the_page():
    people = People([90_001])
    people.pressed(10_001, "7")
    people.pressed(10_001, "8")
    people.pressed(10_001, "9")
    answers = {
        "7": {"text": "Done.", "show_alert": False},
        "8": {"text": None, "show_alert": False},  # answered without a pop-up
        "9": {"text": "Careful!", "show_alert": True},
    }
    assert answers_view(people.presses, answers, 10_001) == [
        {"id": "7", "text": "Done.", "show_alert": False},
        {"id": "9", "text": "Careful!", "show_alert": True},
    ]
    assert answers_view(people.presses, answers, 10_002) == []

    def sent(*labels: str) -> Call:
        row = [{"text": label, "callback_data": "x"} for label in labels]
        params = {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [row]}}
        return Call("sendMessage", params, {"ok": True}, 200)

    assert call_view(sent("OK", "Back"), violation=False)["too_wide"] == []
    (problem,) = call_view(sent("💛 Пожертвовать", "OK"), violation=False)["too_wide"]
    assert problem.startswith("'💛 Пожертвовать' is ")


def test_people_are_kept_and_new_ids_never_reuse_old_ones(tmp_path):
    kept = tmp_path / "people.json"
    people = People([90_001], kept)
    assert people.add("Ann", "en", admin=False)["id"] == 10_001
    assert people.add("Ada", "de", admin=True)["id"] == 90_001
    again = People.load([90_001], kept)
    assert again.people == people.people
    assert again.add("Ben", "fr", admin=False)["id"] == 10_002
    with pytest.raises(ValueError, match="at most 1 admins"):
        again.add("Abe", "en", admin=True)
    kept.write_text("{not json")
    assert People.load([90_001], kept).people == {}


@pytest.mark.parametrize(
    ("locale", "amount", "card", "donate", "paid"),
    [
        ("en", "€1,250.00", "Card number", "Donate", "Payment received"),
        ("de", f"1.250,00{NBSP}€", "Kartennummer", "Spenden", "Zahlung erhalten"),
        ("fr", f"1\u202f250,00{NBSP}€", "Numéro de carte", "Faire un don", "Paiement reçu"),
        ("es", f"1.250,00{NBSP}€", "Número de tarjeta", "Donar", "Pago recibido"),
        ("ru", f"1{NBSP}250,00{NBSP}€", "Номер карты", "Пожертвовать", "Платёж получен"),
    ],
)
async def test_the_checkout_and_success_pages_follow_the_sessions_locale(
    locale, amount, card, donate, paid
):
    async with FakeStripe() as stripe:
        session = stripe.create_session(
            {
                "mode": "payment",
                "submit_type": "donate",
                "locale": locale,
                "line_items": [
                    {
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 125_000,
                            "product_data": {"name": "Donation"},
                        },
                        "quantity": 1,
                    }
                ],
                "success_url": "http://127.0.0.1:1/playground/paid",
            }
        )
        async with httpx.AsyncClient() as browser:
            page = (await browser.get(session["url"])).text
            declined = await browser.post(
                session["url"], data={"action": "pay", "card_number": "4000 0000 0000 0002"}
            )
    assert f'<html lang="{locale}">' in page
    assert f'<span id="checkout-amount">{amount}</span>' in page
    assert page.count(amount) == 1
    assert " eur" not in page
    assert f'<label for="card-number">{card}</label>' in page
    assert re.search(rf'<button type="submit" id="pay"[^>]*>{donate}</button>', page)
    if locale != "en":
        assert "Your card was declined." not in declined.text
        assert "Card number" not in declined.text
    assert paid in paid_page(session | {"status": "complete"})
    assert amount in paid_page(session)
    assert display_amount(1_000, "usd", locale).count("10") == 1


def test_amounts_read_as_people_write_them():
    assert display_amount(1000, "gbp") == "£10.00"
    assert display_amount(1000, "chf", "en") == f"CHF{NBSP}10.00"
    assert display_amount(1000, "chf", "de-CH") == f"10,00{NBSP}CHF"
    assert display_amount(500, "jpy", "auto") == "¥500"


def test_without_any_chromium_the_browser_tests_fail_and_say_how_to_install_one(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(test_playground, "CHROMIUM_PATHS", (tmp_path / "no-chromium",))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PLAYGROUND_CHROMIUM", raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"python -m playwright install chromium"):
        find_chromium(bundled=str(tmp_path / "ms-playwright" / "chrome"))
    bundled = tmp_path / "chrome"
    bundled.touch()
    assert find_chromium(bundled=str(bundled)) == bundled
    monkeypatch.setenv("PATH", str(Path("/usr/bin")))
    if Path("/usr/bin/chromium").exists():  # the system's comes first
        assert find_chromium(bundled=str(bundled)) == Path("/usr/bin/chromium")
