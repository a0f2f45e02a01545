"""Discreet news: silent, behind a neutral first line, for people whose phone others may see.

Everything runs through the real Application against the fake Bot API, which records the
`disable_notification` parameter of every message and enforces the caption limit.
"""

from tests.conftest import ADMIN_ID, RunningBot, running_bot
from tests.test_broadcasts import discreetly, draft, finished, is_news, is_summary, news_to, send
from tests.test_conversation import button_data, plain, say, visible
from tgbot.broadcasts.compose import post_limit
from tgbot.text.i18n import texts


def with_state(language: str, text: str, discreet: bool) -> str:
    """A message that ends with the line saying whether news comes discreetly."""
    state = "discreet.state_on" if discreet else "discreet.state_off"
    return f"{text}\n\n{plain(language, state)}"


async def press_and_read(bot: RunningBot, user: dict, sent, data: str):
    """Press a button and return the edited message."""
    bot.api.press_button(user, sent, data)
    return await bot.api.wait_for_message(user["id"], predicate=lambda m: m.method != "sendMessage")


async def test_russian_news_is_silent_behind_a_neutral_line_and_english_news_is_not(bot):
    api = bot.api
    russian, english = api.make_user(11, language_code="ru"), api.make_user(12, language_code="en")
    confirmation = await say(bot, russian, "/subscribe")
    assert confirmation.text == with_state("ru", plain("ru", "subscribe.done"), discreet=True)
    assert button_data(confirmation) == ["discreet:off"]
    confirmation = await say(bot, english, "/subscribe")
    assert confirmation.text == with_state("en", plain("en", "subscribe.done"), discreet=False)
    assert button_data(confirmation) == ["discreet:on"]

    summary = await draft(bot, "/post [en] Two more people are safe\n[ru] Ещё двое в безопасности")
    previews = [m for m in api.sent_messages(ADMIN_ID) if is_news(m)]
    assert [(m.text, m.silent) for m in previews] == [
        ("Two more people are safe", False),  # the admin's preview says nothing of it
        ("Ещё двое в безопасности", False),
    ]
    await finished(bot, await send(bot, summary))

    (to_russian,) = news_to(api, 11)
    assert to_russian.text == discreetly("ru", "Ещё двое в безопасности")
    assert to_russian.text.split("\n")[0] == "📄 Обновление"
    assert to_russian.silent
    (to_english,) = news_to(api, 12)
    assert (to_english.text, to_english.silent) == ("Two more people are safe", False)


async def test_the_confirmation_button_switches_discreet_news_and_the_choice_is_kept(bot):
    api = bot.api
    user = api.make_user(21, language_code="en")
    confirmation = await say(bot, user, "/start subscribe")
    done = plain("en", "subscribe.done")
    edited = await press_and_read(bot, user, confirmation, "discreet:on")
    assert edited.text == with_state("en", done, discreet=True)
    assert button_data(edited) == ["discreet:off"]
    assert (await bot.storage.users.get(21)).discreet
    await finished(bot, await send(bot, await draft(bot, "/post [en] Quietly")))
    news = await api.wait_for_message(21, predicate=is_news)
    assert (news.text, news.silent) == (discreetly("en", "Quietly"), True)

    edited = await press_and_read(bot, user, confirmation, "discreet:off")
    assert edited.text == with_state("en", done, discreet=False)
    assert button_data(edited) == ["discreet:on"]
    assert not (await bot.storage.users.get(21)).discreet
    # the confirmation of a subscription that exists already shows the state too
    again = await say(bot, user, "/subscribe")
    assert again.text == with_state("en", plain("en", "subscribe.already"), discreet=False)

    await say(bot, user, "/unsubscribe")  # an old confirmation's button no longer applies
    api.press_button(user, confirmation, "discreet:on")
    call = await api.wait_for_call("answerCallbackQuery", predicate=lambda c: "text" in c.params)
    assert call.params["text"] == plain("en", "discreet.not_subscribed")
    assert await bot.storage.users.get(21) is None


async def test_the_discreet_command_toggles_says_the_state_and_survives_a_restart(
    bot_api, make_settings
):
    settings = make_settings()
    user = bot_api.make_user(31, language_code="ru")
    async with running_bot(bot_api, settings) as bot:
        reply = await say(bot, user, "/discreet")
        assert reply.text == plain("ru", "discreet.not_subscribed")
        assert await bot.storage.users.get(31) is None  # nothing stored for asking
        await say(bot, user, "/subscribe")
        reply = await say(bot, user, "/discreet")
        assert reply.text == plain("ru", "discreet.state_off")
        assert button_data(reply) == ["discreet:on"]
        reply = await say(bot, user, "/discreet")
        assert reply.text == plain("ru", "discreet.state_on")
        assert button_data(reply) == ["discreet:off"]
        reply = await say(bot, user, "/discreet")
        assert reply.text == plain("ru", "discreet.state_off")
        edited = await press_and_read(bot, user, reply, "discreet:on")
        assert edited.text == plain("ru", "discreet.state_on")
    async with running_bot(bot_api, settings) as bot:
        assert (await bot.storage.users.get(31)).discreet
        await finished(bot, await send(bot, await draft(bot, "/post [en] News\n[ru] Новости")))
        (news,) = news_to(bot_api, 31)
        assert (news.text, news.silent) == (discreetly("ru", "Новости"), True)
        assert await bot.storage.forget(31)
        rows = await bot.storage.database.fetch_all("SELECT * FROM users")
        assert rows == []  # the choice went with the row


async def test_a_photo_caption_leaves_room_for_the_first_line(bot):
    await say(bot, bot.api.make_user(41, language_code="ru"), "/subscribe")
    admin = bot.api.make_user(ADMIN_ID, language_code="en")
    await say(bot, admin, "/post")
    limit = post_limit(with_photo=True)
    assert limit < 1024

    def photo(caption: str) -> None:
        bot.api.send_update(
            {
                "message": {
                    "from": admin,
                    "photo": [{"file_id": "P", "file_unique_id": "u", "width": 9, "height": 9}],
                    "caption": caption,
                }
            }
        )

    photo("x" * (limit + 1))
    refusal = await bot.api.wait_for_message(ADMIN_ID)
    assert refusal.text == visible(texts("en")("post.too_long", language="en", limit=limit))
    photo("x" * limit)  # the [en] text, which Russian readers get too, behind their line
    summary = await bot.api.wait_for_message(ADMIN_ID, predicate=is_summary)
    await finished(bot, await send(bot, summary))
    (news,) = news_to(bot.api, 41)
    assert (news.method, news.text, news.silent) == (
        "sendPhoto",
        discreetly("ru", "x" * limit),
        True,
    )
