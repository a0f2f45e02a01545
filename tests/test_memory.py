"""What the bot keeps only in memory stays bounded in size and age, and forgets on request."""

from tests.test_conversation import say
from tests.test_throttle import Clock
from tgbot.runtime.memory import DELETABLE_SECONDS, PerPerson, RecentMessages


def test_message_ids_older_than_telegram_lets_delete_are_dropped():
    clock = Clock()
    recent = RecentMessages(clock=clock)
    recent.add(1, 10)
    clock.now += DELETABLE_SECONDS - 5
    recent.add(1, 57)  # ids of a chat are not consecutive: one counter per bot account
    clock.now += 10
    recent.add(1, 99)
    assert recent.take(1) == [57, 99]
    assert recent.take(1) == []  # handed out once, then forgotten


def test_each_chat_and_the_number_of_chats_are_bounded():
    recent = RecentMessages(capacity=2, per_chat=3)
    for message_id in range(10):
        recent.add(1, message_id)
    recent.add(2, 100)
    recent.add(3, 200)  # the least recently seen chat (1) is dropped
    assert len(recent) == 2
    assert recent.take(1) == []
    assert recent.take(2) == [100]


def test_only_private_chats_sent_to_are_recorded():
    recent = RecentMessages()
    recent.record_sent("sendMessage", {"chat_id": 5}, {"message_id": 7, "chat": {"id": 5}})
    recent.record_sent("copyMessage", {"chat_id": 5}, {"message_id": 9})
    recent.record_sent("sendMessage", {"chat_id": -100123}, {"message_id": 8})  # a group
    recent.record_sent("editMessageText", {"chat_id": 5, "message_id": 7}, {"message_id": 7})
    assert recent.take(5) == [7, 9]
    assert recent.take(-100123) == []


def test_per_person_values_forget_a_person_and_drop_the_least_recent():
    languages: PerPerson[str] = PerPerson(capacity=2)
    languages.put(1, "ru")
    languages.put(2, "de")
    languages.put(1, "ru")  # seen again: now the most recent
    languages.put(3, "fr")
    assert (languages.get(1), languages.get(2), languages.get(3)) == ("ru", None, "fr")
    languages.forget(1)
    assert languages.pop(3) == "fr"
    assert len(languages) == 0


def test_per_person_values_expire():
    clock = Clock()
    waiting: PerPerson[bool] = PerPerson(max_age=60, clock=clock)
    waiting.put(7, True)
    clock.now += 59
    assert waiting.get(7) is True
    clock.now += 2
    assert waiting.get(7) is None
    assert len(waiting) == 0  # an expired value is dropped when met


async def test_answering_people_grows_no_unbounded_structure_and_forget_empties_memory(bot):
    """python-telegram-bot's user_data would keep an entry for everyone ever answered."""
    for user_id in range(800, 810):
        user = bot.api.make_user(user_id, language_code="en")
        await say(bot, user, "how much does it cost to save one person?")
    assert dict(bot.application.user_data) == {}
    assert len(bot.services.news_offered) == 10  # bounded: MAX_PEOPLE
    user = bot.api.make_user(800, language_code="en")
    confirm = await say(bot, user, "/forget")
    bot.api.press_button(user, confirm, "forget:yes")
    await bot.api.wait_for_call("editMessageText")
    services = bot.services
    assert services.news_offered.get(800) is None
    assert services.recent.take(800) == []
    assert dict(bot.application.user_data) == {}
