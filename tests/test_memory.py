"""What the bot keeps only in memory stays bounded in size and age, and forgets on request."""

from tests.test_throttle import Clock
from tgbot.memory import DELETABLE_SECONDS, Languages, RecentMessages


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
    recent.record_sent({"chat_id": 5}, {"message_id": 7, "chat": {"id": 5}})
    recent.record_sent({"chat_id": -100123}, {"message_id": 8})  # a group
    recent.record_sent({"chat_id": 5}, True)  # an edit answered with True
    assert recent.take(5) == [7]
    assert recent.take(-100123) == []


def test_languages_forget_a_person_and_drop_the_least_recent():
    languages = Languages(capacity=2)
    languages.remember(1, "ru")
    languages.remember(2, "de")
    languages.remember(1, "ru")  # seen again: now the most recent
    languages.remember(3, "fr")
    assert (languages.get(1), languages.get(2), languages.get(3)) == ("ru", None, "fr")
    languages.remember(1, None)  # no longer a choice of their own
    languages.forget(3)
    assert len(languages) == 0
