"""News posts end to end: an admin drafts, previews and sends; subscribers get one copy each.

Everything runs through the real Application against the fake Bot API, which enforces
Telegram's flood limit (429 with retry_after), blocked users (403) and injected faults.
"""

import asyncio
import time
from datetime import UTC, datetime

import pytest

from playground.telegram import FakeBotAPI, SentMessage
from tests.conftest import ADMIN_ID, RunningBot, running_bot
from tests.test_conversation import plain, say, visible
from tgbot.storage.broadcasts import Status
from tgbot.text.i18n import texts


def is_news(sent: SentMessage) -> bool:
    return any(button.get("callback_data") == "sub:off" for button in sent.buttons)


def news_to(api: FakeBotAPI, chat_id: int) -> list[SentMessage]:
    return [sent for sent in api.sent_messages(chat_id) if is_news(sent)]


def discreetly(language: str, text: str) -> str:
    """What a discreet news reader sees: the neutral first line, a blank line, the news."""
    return f"{plain(language, 'discreet.first_line')}\n\n{text}"


def entity(kind: str, text: str, part: str, **extra) -> dict:
    """An entity over the first `part` of `text` (ASCII and Cyrillic: UTF-16 = indices)."""
    return {"type": kind, "offset": text.index(part), "length": len(part), **extra}


async def subscribe(api: FakeBotAPI, user_id: int, language: str) -> dict:
    user = api.make_user(user_id, language_code=language)
    api.send_message(user, "/subscribe")
    await api.wait_for_message(user_id)
    return user


async def seed_subscribers(bot: RunningBot, languages: dict[int, str]) -> None:
    """Many subscribers at once: stored as /subscribe stores them, chats known to the fake."""
    for user_id, language in languages.items():
        bot.api.open_private_chat(bot.api.make_user(user_id, language_code=language))
        await bot.storage.users.set_subscribed(user_id, language, True)


async def delivered(api: FakeBotAPI, recipients: dict[int, str], count: int) -> None:
    """Wait until Telegram has accepted `count` more messages to `recipients`."""
    for _ in range(count):
        await api.wait_for_call(
            "sendMessage", predicate=lambda call: call.ok and call.params["chat_id"] in recipients
        )


def is_summary(sent: SentMessage) -> bool:
    return any(b.get("callback_data", "").startswith("post:discard:") for b in sent.buttons)


async def draft(bot: RunningBot, text: str, entities: list[dict] | None = None) -> SentMessage:
    """The admin sends `text` (a /post or a block); returns the draft's summary message."""
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    if entities is not None and text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": text.index(" ")}, *entities]
    bot.api.send_message(admin, text, entities=entities)
    return await bot.api.wait_for_message(ADMIN_ID, predicate=is_summary, timeout=10)


async def admin_says(bot: RunningBot, text: str, reply_start: str) -> SentMessage:
    """The admin's command and its reply (skipping previews and reports still unread)."""
    bot.api.send_message(bot.api.users[ADMIN_ID], text)
    return await bot.api.wait_for_message(
        ADMIN_ID, predicate=lambda m: m.text.startswith(reply_start)
    )


def button(sent: SentMessage, prefix: str) -> str:
    return next(b["callback_data"] for b in sent.buttons if b["callback_data"].startswith(prefix))


async def send(bot: RunningBot, summary: SentMessage) -> int:
    """Press Send; returns the broadcast's id once the admin sees it started."""
    data = button(summary, "post:send:")
    bot.api.press_button(bot.api.users[ADMIN_ID], summary, data)
    await bot.api.wait_for_call("editMessageText")
    return int(data.rsplit(":", 1)[1])


async def finished(bot: RunningBot, broadcast_id: int) -> None:
    """Wait for the report the admin gets when the broadcast ends."""
    await bot.api.wait_for_message(
        ADMIN_ID, predicate=lambda m: f"#{broadcast_id} " in m.text and "📬" in m.text,
        timeout=30,
    )  # fmt: skip


async def test_a_post_reaches_each_subscriber_once_in_their_language_with_formatting(bot):
    api = bot.api
    for user_id, language in ((11, "en"), (12, "ru"), (13, "de")):
        await subscribe(api, user_id, language)
    text = "/post [en] Evacuation news: read more\n[ru] Новости эвакуации"
    summary = await draft(
        bot,
        text,
        [
            entity("bold", text, "Evacuation news"),
            entity("text_link", text, "read more", url="https://example.org/news?a=1&b=2"),
            entity("italic", text, "Новости"),
        ],
    )
    assert "No block for de, fr, es: they get the [en] text." in summary.text
    assert "Recipients now: en 1, ru 1, de 1, 3 in all." in summary.text
    previews = [m for m in api.sent_messages(ADMIN_ID) if is_news(m)]
    assert [m.text for m in previews] == ["Evacuation news: read more", "Новости эвакуации"]

    broadcast_id = await send(bot, summary)
    await finished(bot, broadcast_id)

    en, ru, de = (news_to(api, user_id) for user_id in (11, 12, 13))
    assert [len(en), len(ru), len(de)] == [1, 1, 1]
    assert en[0].text == de[0].text == "Evacuation news: read more"
    assert ru[0].text == discreetly("ru", "Новости эвакуации")  # on by default in Russian
    assert {(e["type"], e["offset"], e["length"]) for e in en[0].entities} >= {
        ("bold", 0, 15),
        ("text_link", 17, 9),
    }
    link = next(e for e in en[0].entities if e["type"] == "text_link")
    assert link["url"] == "https://example.org/news?a=1&b=2"
    assert ru[0].entities[0]["type"] == "italic"
    assert de[0].buttons[0]["text"] == plain("de", "news.stop_button")

    report = (await bot.storage.broadcasts.summary(broadcast_id)).counts
    assert (report.sent, report.pending, report.failed, report.blocked) == (3, 0, 0, 0)


async def test_send_twice_or_after_discard_sends_once(bot):
    await subscribe(bot.api, 21, "en")
    summary = await draft(bot, "/post [en] Once only")
    data = button(summary, "post:send:")
    admin = bot.api.users[ADMIN_ID]
    bot.api.press_button(admin, summary, data)
    bot.api.press_button(admin, summary, data)
    await finished(bot, int(data.rsplit(":", 1)[1]))
    assert len(news_to(bot.api, 21)) == 1
    await bot.api.wait_for_call(
        "answerCallbackQuery", predicate=lambda c: c.params.get("text") == plain("en", "post.gone")
    )

    summary = await draft(bot, "/post [en] Never sent")
    bot.api.press_button(admin, summary, button(summary, "post:discard:"))
    await bot.api.wait_for_call("editMessageText")
    bot.api.press_button(admin, summary, button(summary, "post:send:"), check_button=False)
    await bot.api.wait_for_call(
        "answerCallbackQuery", predicate=lambda c: c.params.get("text") == plain("en", "post.gone")
    )
    assert len(news_to(bot.api, 21)) == 1


async def test_step_by_step_untagged_text_is_the_default_language(bot):
    await subscribe(bot.api, 31, "ru")
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    instructions = await say(bot, admin, "/post")
    assert instructions.text.startswith("📝 New news post")
    summary = await draft(bot, "Plain English news")
    assert "Texts: en." in summary.text
    assert "No block for ru, de, fr, es" in summary.text
    summary = await draft(bot, "[ru] Русские новости")
    assert "Texts: en, ru." in summary.text
    assert "No block for de, fr, es" in summary.text
    await finished(bot, await send(bot, summary))
    assert [m.text for m in news_to(bot.api, 31)] == [discreetly("ru", "Русские новости")]


async def test_a_photo_post_keeps_its_caption_per_language(bot):
    await subscribe(bot.api, 41, "fr")
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    await say(bot, admin, "/post")
    bot.api.send_update(
        {
            "message": {
                "from": admin,
                "photo": [{"file_id": "PHOTO-1", "file_unique_id": "u1", "width": 90,
                           "height": 90}],
                "caption": "[en] Safe at last\n[fr] Enfin en sécurité",
            }
        }
    )  # fmt: skip
    summary = await bot.api.wait_for_message(ADMIN_ID, predicate=is_summary)
    assert plain("en", "post.with_photo") in summary.text
    await finished(bot, await send(bot, summary))
    (photo,) = news_to(bot.api, 41)
    assert (photo.method, photo.text) == ("sendPhoto", "Enfin en sécurité")


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("/post hello\n[ru] привет", "post.text_before_tag", {"default": "en"}),
        (
            "/post [it] ciao",
            "post.unknown_language",
            {"language": "it", "available": "en, ru, de, fr, es"},
        ),
        ("/post [en] one\n[en] two", "post.repeated_language", {"language": "en"}),
        ("/post [en]\n[ru] привет", "post.empty_block", {"language": "en"}),
    ],
)
async def test_malformed_posts_are_explained(bot, text, key, params):
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    reply = await say(bot, admin, text)
    assert reply.text == visible(texts("en")(key, **params))


async def test_a_draft_without_the_default_language_cannot_be_sent(bot):
    summary = await draft(bot, "/post [ru] только по-русски")
    assert plain("en", "post.no_default", default="en") in summary.text
    assert not any(b["callback_data"].startswith("post:send:") for b in summary.buttons)
    bot.api.press_button(
        bot.api.users[ADMIN_ID], summary, summary.buttons[0]["callback_data"].replace(
            "discard", "send"), check_button=False,
    )  # fmt: skip
    call = await bot.api.wait_for_call("answerCallbackQuery")
    assert call.params["text"] == plain("en", "post.needs_default", default="en")
    assert await bot.storage.broadcasts.recent(5) == []


async def test_non_admins_cannot_use_or_see_any_admin_command(bot):
    await subscribe(bot.api, 51, "en")
    summary = await draft(bot, "/post [en] Admins only")
    stranger = bot.api.make_user(52, language_code="en")
    for command in ("/stats", "/export_donations", "/post [en] hi", "/broadcasts",
                    "/cancel_broadcast 1"):  # fmt: skip
        reply = await say(bot, stranger, command)
        assert reply.text == plain("en", "error.unknown_command"), command
    forged = await say(bot, stranger, "/start")
    bot.api.press_button(stranger, forged, button(summary, "post:send:"), check_button=False)
    call = await bot.api.wait_for_call("answerCallbackQuery")
    assert call.params["text"] == plain("en", "error.stale_button")
    # the stranger's text is a question, not part of the admin's draft
    reply = await say(bot, stranger, "how much does one evacuation cost?")
    assert "4,555" in reply.text
    assert (await bot.storage.broadcasts.draft(ADMIN_ID)).texts == {"en": "Admins only"}
    assert await bot.storage.broadcasts.recent(5) == []
    assert news_to(bot.api, 51) == []
    actions = [entry.action for entry in await bot.storage.audit.entries()]
    assert actions == ["post.draft"]  # only the admin's own action


async def test_admin_commands_are_audited_and_shown_only_to_admins(bot):
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    await say(bot, admin, "/stats")
    await say(bot, admin, "/broadcasts")
    await say(bot, admin, "/cancel_broadcast 99")
    entries = await bot.storage.audit.entries()
    assert [(e.admin_id, e.action, e.target) for e in entries] == [
        (ADMIN_ID, "cancel_broadcast", "99"),
        (ADMIN_ID, "broadcasts", None),
        (ADMIN_ID, "stats", None),
    ]


async def test_429_storms_are_waited_out_and_every_subscriber_gets_one_copy(bot_api, make_settings):
    async with running_bot(bot_api, make_settings(send_rate=50)) as bot:
        subscribers = {100 + n: "en" for n in range(40)}
        await seed_subscribers(bot, subscribers)
        summary = await draft(bot, "/post [en] Storm test")
        bot_api.set_flood_limit(15)
        bot_api.fail_next("sendMessage", 429, retry_after=1, count=2)
        await finished(bot, await send(bot, summary))
        assert {
            user_id: len(news_to(bot_api, user_id)) for user_id in subscribers
        } == dict.fromkeys(subscribers, 1)
        assert len(bot_api.flood_events) > 0
        assert bot_api.early_retries == 0


async def test_blocked_users_are_marked_skipped_and_back_when_they_write(bot):
    api = bot.api
    for user_id in (61, 62, 63):
        await subscribe(api, user_id, "en")
    api.block_user(62)  # silently: the bot learns it from the 403
    await finished(bot, await send(bot, await draft(bot, "/post [en] First")))
    assert (await bot.storage.users.get(62)).blocked
    assert (await bot.storage.users.get(61)).blocked is False
    stats = await admin_says(bot, "/stats", "📊")
    assert plain("en", "admin.blocked", count=1) in stats.text

    api.user_blocks_bot(api.users[63])  # Telegram tells the bot at once
    await api.wait_for_call("getUpdates", predicate=lambda c: len(c.result or []) == 0)
    for _ in range(50):
        if (await bot.storage.users.get(63)).blocked:
            break
        await asyncio.sleep(0.05)
    assert (await bot.storage.users.get(63)).blocked
    calls_before = len(api.calls_to("sendMessage"))
    broadcast_id = await send(bot, await draft(bot, "/post [en] Second"))
    await finished(bot, broadcast_id)
    to_blocked = [c for c in api.calls_to("sendMessage")[calls_before:]
                  if c.params["chat_id"] in (62, 63)]  # fmt: skip
    assert to_blocked == []
    assert len(news_to(api, 61)) == 2

    api.unblock_user(62)
    await say(bot, api.users[62], "/start")
    assert (await bot.storage.users.get(62)).blocked is False


async def test_server_errors_and_dropped_connections_are_retried_and_reported(bot):
    api = bot.api
    for user_id in (71, 72, 73):
        await subscribe(api, user_id, "en")
    api.make_user(74, language_code="en")
    await bot.storage.users.set_subscribed(74, "en", True)  # never started the bot
    summary = await draft(bot, "/post [en] Faults")
    api.fail_next("sendMessage", 502, count=2)
    api.drop_next("sendMessage")
    broadcast_id = await send(bot, summary)
    await finished(bot, broadcast_id)
    assert [len(news_to(api, user_id)) for user_id in (71, 72, 73)] == [1, 1, 1]
    result = await bot.storage.broadcasts.summary(broadcast_id)
    assert (result.counts.sent, result.counts.failed) == (3, 1)
    assert result.failures == {"Chat not found": 1}
    report = api.sent_messages(ADMIN_ID)[-1]
    assert "Chat not found × 1" in report.text
    # real Telegram answers this too: here it is the expected outcome, not a bot mistake
    assert [call.description for call in api.violations] == ["Bad Request: chat not found"]
    api.violations.clear()


async def test_a_lost_answer_is_the_one_way_to_a_duplicate(bot):
    """Telegram took the message but the answer never came: retrying sends it again."""
    await subscribe(bot.api, 81, "en")
    summary = await draft(bot, "/post [en] Maybe twice")
    bot.api.drop_next("sendMessage", after_processing=True)
    await finished(bot, await send(bot, summary))
    assert len(news_to(bot.api, 81)) == 2


async def test_cancel_mid_way_stops_pending_deliveries_and_resends_nothing(bot_api, make_settings):
    async with running_bot(bot_api, make_settings(send_rate=20)) as bot:
        subscribers = {200 + n: "en" for n in range(60)}
        await seed_subscribers(bot, subscribers)
        broadcast_id = await send(bot, await draft(bot, "/post [en] Cancel me"))
        await delivered(bot_api, subscribers, 5)
        await admin_says(
            bot, f"/cancel_broadcast {broadcast_id}", f"Broadcast #{broadcast_id} cancelled"
        )
        await finished(bot, broadcast_id)
        result = await bot.storage.broadcasts.summary(broadcast_id)
        copies = [len(news_to(bot_api, user_id)) for user_id in subscribers]
        assert max(copies) == 1
        assert result.status is Status.CANCELLED
        assert result.counts.sent == sum(copies) < len(subscribers)
        assert result.counts.sent + result.counts.cancelled == len(subscribers)
        not_running = plain("en", "broadcasts.not_running", id=broadcast_id)
        await admin_says(bot, f"/cancel_broadcast {broadcast_id}", not_running)


async def test_a_stopped_broadcast_resumes_after_a_restart_without_duplicates(
    bot_api, make_settings
):
    settings = make_settings(send_rate=40)
    subscribers = {300 + n: "en" for n in range(40)}
    async with running_bot(bot_api, settings) as bot:
        await seed_subscribers(bot, subscribers)
        broadcast_id = await send(bot, await draft(bot, "/post [en] Resume me"))
        await delivered(bot_api, subscribers, 10)
    delivered_before = sum(len(news_to(bot_api, user_id)) for user_id in subscribers)
    assert delivered_before < len(subscribers)
    async with running_bot(bot_api, settings) as bot:
        await finished(bot, broadcast_id)
        assert [len(news_to(bot_api, user_id)) for user_id in subscribers] == [1] * 40
        assert (await bot.storage.broadcasts.summary(broadcast_id)).resent == 0


async def test_supporters_are_answered_while_a_large_broadcast_runs(bot_api, make_settings):
    async with running_bot(bot_api, make_settings(send_rate=150)) as bot:
        await seed_subscribers(bot, {1000 + n: "en" for n in range(1000)})
        broadcast_id = await send(bot, await draft(bot, "/post [en] Big one"))
        await bot_api.wait_for_message(1500, predicate=is_news, timeout=20)
        latencies = []
        for supporter in range(5000, 5005):
            user = bot_api.make_user(supporter, language_code="en")
            started = time.monotonic()
            reply = await say(bot, user, "/start")
            latencies.append(time.monotonic() - started)
            assert reply.text == plain("en", "start.greeting")
        counts = (await bot.storage.broadcasts.summary(broadcast_id)).counts
        assert counts.pending > 0, "the replies came only after the broadcast"
        print(f"\n/start latency during a broadcast: max {max(latencies) * 1000:.0f} ms")
        await admin_says(bot, f"/cancel_broadcast {broadcast_id}", f"Broadcast #{broadcast_id}")
        await finished(bot, broadcast_id)


async def test_unsubscribing_from_a_post_is_one_tap_and_a_reason_is_only_counted(bot):
    await subscribe(bot.api, 91, "es")
    await finished(bot, await send(bot, await draft(bot, "/post [en] Hello")))
    (post,) = news_to(bot.api, 91)
    user = bot.api.users[91]
    bot.api.press_button(user, post, "sub:off")
    confirmation = await bot.api.wait_for_message(91, predicate=lambda m: not is_news(m))
    assert confirmation.text.startswith(plain("es", "unsubscribe.done"))
    assert (await bot.storage.users.get(91)) is None
    bot.api.press_button(user, confirmation, "unsub:too_often")
    await bot.api.wait_for_call("editMessageText")
    bot.api.press_button(user, confirmation, "unsub:privacy", check_button=False)
    await bot.api.wait_for_call(
        "answerCallbackQuery",
        predicate=lambda c: c.params.get("text") == plain("es", "error.stale_button"),
    )
    stats = await bot.storage.users.subscriber_stats(since=datetime.now(UTC).date())
    assert stats.reasons == {"too_often": 1}
    assert (stats.joined, stats.left) == (1, 1)


async def test_random_server_errors_and_drops_lose_nothing_and_duplicate_nothing(bot):
    subscribers = {400 + n: "en" for n in range(50)}
    await seed_subscribers(bot, subscribers)
    summary = await draft(bot, "/post [en] Under fire")
    bot.api.set_random_faults(0.1, seed=7, drop_rate=0.05, methods=["sendMessage"])
    broadcast_id = await send(bot, summary)
    # the report itself may meet a fault, so watch the database instead
    while (await bot.storage.broadcasts.summary(broadcast_id)).finished_at is None:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    bot.api.set_random_faults(0)
    assert bot.api.injected_faults + bot.api.dropped_connections > 0
    assert [len(news_to(bot.api, user_id)) for user_id in subscribers] == [1] * 50
    counts = (await bot.storage.broadcasts.summary(broadcast_id)).counts
    assert (counts.sent, counts.failed) == (50, 0)


async def test_the_summary_no_longer_says_draft_once_sent_or_discarded(bot):
    await subscribe(bot.api, 23, "en")
    summary = await draft(bot, "/post [en] Said once")
    broadcast_id = await send(bot, summary)
    edited = await bot.api.wait_for_message(
        ADMIN_ID, predicate=lambda m: m.method == "editMessageText"
    )
    assert edited.text.startswith(plain("en", "post.summary_title_sending", id=broadcast_id))
    assert plain("en", "post.summary_title", id=broadcast_id) not in edited.text
    assert plain("en", "post.more") not in edited.text
    assert edited.buttons == []

    summary = await draft(bot, "/post [en] Never sent")
    discard = button(summary, "post:discard:")
    bot.api.press_button(bot.api.users[ADMIN_ID], summary, discard)
    discarded_id = int(discard.rsplit(":", 1)[1])
    closed = await bot.api.wait_for_message(
        ADMIN_ID, predicate=lambda m: m.method == "editMessageText" and f"#{discarded_id}" in m.text
    )
    assert closed.text.startswith(plain("en", "post.summary_title_discarded", id=discarded_id))
