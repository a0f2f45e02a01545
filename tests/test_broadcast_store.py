"""News broadcasts in SQLite: drafts, the audience snapshot, each delivery's life, the summary."""

import time

import pytest

from tgbot.storage import Storage
from tgbot.storage.audit import AuditEntry
from tgbot.storage.broadcasts import ConfirmProblem, Counts, Delivery, Outcome, Status

ADMIN = 900
OTHER_ADMIN = 901
HTML = {"en": "<b>News</b>", "ru": "<b>Новости</b>"}


@pytest.fixture
async def storage(tmp_path):
    storage = await Storage.open(tmp_path / "db.sqlite3")
    yield storage
    await storage.close()


async def subscribe(storage: Storage, *people: tuple[int, str]) -> None:
    for user_id, language in people:
        assert await storage.users.set_subscribed(user_id, language, True)


async def start(storage: Storage, admin_id: int = ADMIN, texts: dict | None = None) -> int:
    """A confirmed post, sending to today's audience."""
    broadcast_id = await storage.broadcasts.start_draft(admin_id)
    assert await storage.broadcasts.add_to_draft(broadcast_id, texts or HTML, None)
    assert isinstance(await storage.broadcasts.confirm(broadcast_id, admin_id, "en"), int)
    return broadcast_id


async def deliveries(storage: Storage, broadcast_id: int | None = None) -> int:
    if broadcast_id is None:
        row = await storage.database.fetch_one("SELECT count(*) FROM deliveries")
    else:
        row = await storage.database.fetch_one(
            "SELECT count(*) FROM deliveries WHERE broadcast_id = ?", (broadcast_id,)
        )
    return row[0]


async def pending_ids(storage: Storage, broadcast_id: int) -> list[int]:
    return [d.user_id for d in await storage.broadcasts.pending(broadcast_id, 0, 1000)]


async def send(storage: Storage, broadcast_id: int, user_id: int, outcome: Outcome, error=None):
    assert await storage.broadcasts.claim(broadcast_id, user_id)
    await storage.broadcasts.settle(broadcast_id, user_id, outcome, error)


# -- drafts -----------------------------------------------------------------------------------


async def test_only_the_author_can_send_a_draft(storage):
    """Another admin pressing Send, with forged callback data, finds the draft gone."""
    await subscribe(storage, (1, "en"))
    draft_id = await storage.broadcasts.start_draft(ADMIN)
    assert await storage.broadcasts.add_to_draft(draft_id, {"en": "news"}, None)
    assert await storage.broadcasts.confirm(draft_id, OTHER_ADMIN, "en") is ConfirmProblem.GONE
    assert (await storage.broadcasts.draft(ADMIN)).status is Status.DRAFT
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") == 1


async def test_start_draft_replaces_the_admins_earlier_draft(storage):
    store = storage.broadcasts
    others = await store.start_draft(OTHER_ADMIN)
    first = await store.start_draft(ADMIN)
    assert await store.add_to_draft(first, {"en": "old"}, "photo-old")
    second = await store.start_draft(ADMIN)
    draft = await store.draft(ADMIN)
    assert (draft.broadcast_id, draft.texts, draft.photo, draft.status) == (
        second,
        {},
        None,
        Status.DRAFT,
    )
    row = await storage.database.fetch_one(
        "SELECT count(*) FROM broadcasts WHERE admin_id = ?", (ADMIN,)
    )
    assert row[0] == 1
    row = await storage.database.fetch_one(
        "SELECT count(*) FROM broadcast_texts WHERE broadcast_id = ?", (first,)
    )
    assert row[0] == 0  # the old draft's texts went with it
    assert (await store.draft(OTHER_ADMIN)).broadcast_id == others


@pytest.mark.parametrize("replace", ["start_draft", "discard_draft"])
async def test_a_dropped_drafts_id_never_names_a_later_draft(storage, replace):
    # The summary's Send and Discard buttons carry the draft's id: a button left under the
    # summary of a replaced or discarded draft must not act on the admin's next draft.
    await subscribe(storage, (1, "en"))
    store = storage.broadcasts
    first = await store.start_draft(ADMIN)
    await store.add_to_draft(first, {"en": "first version"}, None)
    if replace == "discard_draft":
        assert await store.discard_draft(first, ADMIN)
    second = await store.start_draft(ADMIN)
    await store.add_to_draft(second, {"en": "second version, not reviewed yet"}, None)
    assert second != first
    assert await store.confirm(first, ADMIN, "en") is ConfirmProblem.GONE  # the stale Send button
    assert (await store.draft(ADMIN)).broadcast_id == second


async def test_add_to_draft_merges_languages_and_replaces_a_languages_text(storage):
    store = storage.broadcasts
    draft_id = await store.start_draft(ADMIN)
    assert await store.add_to_draft(draft_id, {"en": "one"}, None)
    assert await store.add_to_draft(draft_id, {"ru": "два", "en": "ONE"}, "photo-1")
    assert await store.add_to_draft(draft_id, {"de": "drei"}, None)  # no photo: keep it
    draft = await store.draft(ADMIN)
    assert draft.texts == {"en": "ONE", "ru": "два", "de": "drei"}
    assert draft.photo == "photo-1"
    assert (draft.kind, draft.admin_id, draft.milestone) == ("post", ADMIN, None)
    assert await store.add_to_draft(draft_id + 100, {"en": "x"}, None) is False


async def test_drop_text_only_touches_drafts(storage):
    store = storage.broadcasts
    draft_id = await store.start_draft(ADMIN)
    await store.add_to_draft(draft_id, HTML, None)
    await store.drop_text(draft_id, "ru")
    assert (await store.draft(ADMIN)).texts == {"en": HTML["en"]}
    running = await start(storage, OTHER_ADMIN)
    await store.drop_text(running, "ru")
    assert (await store.next_to_send()).texts == HTML


# -- confirming -------------------------------------------------------------------------------


async def test_confirm_snapshots_subscribed_unblocked_users_with_their_language(storage):
    await subscribe(storage, (1, "en"), (2, "ru"), (3, "de"), (5, "fr"))
    await storage.users.set_blocked(3, True)
    await storage.users.choose_language(4, "es")  # chose a language, never subscribed
    await storage.users.set_subscribed(5, "fr", False)  # left before the post
    assert await storage.broadcasts.audience() == {"en": 1, "ru": 1}
    draft_id = await storage.broadcasts.start_draft(ADMIN)
    await storage.broadcasts.add_to_draft(draft_id, HTML, "photo-1")
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") == 2
    assert await storage.broadcasts.pending(draft_id, 0, 10) == [
        Delivery(1, "en", discreet=False),
        Delivery(2, "ru", discreet=True),  # on by default for Russian subscribers
    ]
    assert await storage.broadcasts.draft(ADMIN) is None
    summary = await storage.broadcasts.summary(draft_id)
    assert (summary.status, summary.kind, summary.admin_id) == (Status.SENDING, "post", ADMIN)
    assert summary.started_at is not None
    assert summary.finished_at is None
    assert summary.counts == Counts(pending=2)


async def test_confirm_refuses_a_draft_without_the_default_language(storage):
    await subscribe(storage, (1, "en"))
    draft_id = await storage.broadcasts.start_draft(ADMIN)
    await storage.broadcasts.add_to_draft(draft_id, {"ru": "Только по-русски"}, None)
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") is ConfirmProblem.NO_DEFAULT_TEXT
    draft = await storage.broadcasts.draft(ADMIN)
    assert (draft.broadcast_id, draft.status) == (draft_id, Status.DRAFT)
    assert await storage.broadcasts.summary(draft_id) is None
    assert await deliveries(storage) == 0
    await storage.broadcasts.add_to_draft(draft_id, {"en": "In English"}, None)
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") == 1


async def test_a_second_confirm_is_gone(storage):
    await subscribe(storage, (1, "en"), (2, "en"))
    draft_id = await storage.broadcasts.start_draft(ADMIN)
    await storage.broadcasts.add_to_draft(draft_id, HTML, None)
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") == 2
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") is ConfirmProblem.GONE
    assert await deliveries(storage, draft_id) == 2  # the audience was not copied twice
    assert await storage.broadcasts.add_to_draft(draft_id, {"en": "edited"}, None) is False


async def test_confirm_after_discard_is_gone(storage):
    draft_id = await storage.broadcasts.start_draft(ADMIN)
    await storage.broadcasts.add_to_draft(draft_id, HTML, None)
    assert await storage.broadcasts.discard_draft(draft_id, OTHER_ADMIN) is False
    assert await storage.broadcasts.discard_draft(draft_id, ADMIN) is True
    assert await storage.broadcasts.discard_draft(draft_id, ADMIN) is False
    assert await storage.broadcasts.draft(ADMIN) is None
    assert await storage.broadcasts.confirm(draft_id, ADMIN, "en") is ConfirmProblem.GONE
    assert await storage.broadcasts.confirm(12345, ADMIN, "en") is ConfirmProblem.GONE


async def test_the_audience_is_fixed_at_confirm(storage):
    await subscribe(storage, (1, "en"), (2, "ru"))
    broadcast_id = await start(storage)
    await subscribe(storage, (3, "en"))  # joined too late for this post
    await storage.users.set_subscribed(2, "ru", False)  # left: gets nothing more
    assert await pending_ids(storage, broadcast_id) == [1]
    counts = (await storage.broadcasts.summary(broadcast_id)).counts
    assert (counts.pending, counts.cancelled) == (1, 1)


# -- delivering -------------------------------------------------------------------------------


async def test_pending_pages_by_user_id(storage):
    await subscribe(storage, (50, "en"), (30, "ru"), (90, "de"), (10, "en"), (70, "fr"))
    broadcast_id = await start(storage)
    store = storage.broadcasts
    en10, ru30, en50, fr70, de90 = (
        Delivery(10, "en", False), Delivery(30, "ru", True), Delivery(50, "en", False),
        Delivery(70, "fr", False), Delivery(90, "de", False),
    )  # fmt: skip
    assert await store.pending(broadcast_id, 0, 2) == [en10, ru30]
    assert await store.pending(broadcast_id, 30, 2) == [en50, fr70]
    assert await store.pending(broadcast_id, 70, 2) == [de90]
    assert await store.pending(broadcast_id, 90, 2) == []
    assert await store.pending(broadcast_id, 29, 1) == [ru30]
    assert await store.claim(broadcast_id, 50)
    assert await pending_ids(storage, broadcast_id) == [10, 30, 70, 90]
    assert await store.pending(broadcast_id + 1, 0, 10) == []


async def test_claim_then_settle_each_outcome(storage):
    await subscribe(storage, (1, "en"), (2, "en"), (3, "ru"))
    broadcast_id = await start(storage)
    store = storage.broadcasts
    assert await store.claim(broadcast_id, 1) is True
    assert await store.claim(broadcast_id, 1) is False  # already in flight
    assert (await store.summary(broadcast_id)).counts == Counts(pending=3)  # sending counts
    await store.settle(broadcast_id, 1, Outcome.SENT)
    assert await store.claim(broadcast_id, 1) is False  # already sent
    await send(storage, broadcast_id, 2, Outcome.BLOCKED)
    await send(storage, broadcast_id, 3, Outcome.FAILED, "Bad Request: chat not found")
    assert (await storage.users.get(2)).blocked is True
    assert (await storage.users.get(1)).blocked is False
    assert (await storage.users.get(3)).blocked is False
    assert (await store.summary(broadcast_id)).counts == Counts(sent=1, blocked=1, failed=1)
    row = await storage.database.fetch_one(
        "SELECT status, error FROM deliveries WHERE broadcast_id = ? AND user_id = 3",
        (broadcast_id,),
    )
    assert tuple(row) == ("failed", "Bad Request: chat not found")
    assert await store.audience() == {"en": 1, "ru": 1}  # the blocked one is skipped next time


async def test_settle_needs_a_claim(storage):
    await subscribe(storage, (1, "en"), (2, "en"))
    broadcast_id = await start(storage)
    await storage.broadcasts.settle(broadcast_id, 1, Outcome.SENT)
    await storage.broadcasts.settle(broadcast_id, 2, Outcome.FAILED, "Timed out")
    assert await pending_ids(storage, broadcast_id) == [1, 2]
    assert (await storage.broadcasts.summary(broadcast_id)).counts == Counts(pending=2)


async def test_release_puts_a_claimed_row_back(storage):
    await subscribe(storage, (1, "en"), (2, "en"))
    broadcast_id = await start(storage)
    store = storage.broadcasts
    assert await store.claim(broadcast_id, 1)
    assert await pending_ids(storage, broadcast_id) == [2]
    await store.release(broadcast_id, 1)
    assert await pending_ids(storage, broadcast_id) == [1, 2]
    assert await store.claim(broadcast_id, 1) is True
    await store.settle(broadcast_id, 1, Outcome.SENT)
    await store.release(broadcast_id, 1)  # a settled row is not put back
    assert await pending_ids(storage, broadcast_id) == [2]


async def test_cancel_stops_pending_rows_only(storage):
    await subscribe(storage, (1, "en"), (2, "en"), (3, "ru"), (4, "de"))
    broadcast_id = await start(storage)
    store = storage.broadcasts
    await send(storage, broadcast_id, 1, Outcome.SENT)
    assert await store.claim(broadcast_id, 2)  # in flight while cancelling
    assert await store.cancel(broadcast_id) == Counts(pending=1, sent=1, cancelled=2)
    assert await store.claim(broadcast_id, 3) is False
    assert await pending_ids(storage, broadcast_id) == []
    assert (await store.summary(broadcast_id)).status is Status.CANCELLED
    assert await store.cancel(broadcast_id) is None  # already cancelled
    await store.settle(broadcast_id, 2, Outcome.SENT)  # the message in flight still lands
    summary = await store.finish(broadcast_id)
    assert summary.status is Status.CANCELLED
    assert summary.counts == Counts(sent=2, cancelled=2)
    assert await store.cancel(broadcast_id) is None  # finished
    assert await store.cancel(12345) is None  # unknown


async def test_finish_waits_for_pending_and_sending_rows(storage):
    await subscribe(storage, (1, "en"), (2, "en"), (3, "ru"), (4, "de"), (5, "fr"), (6, "es"))
    broadcast_id = await start(storage)
    store = storage.broadcasts
    assert await store.finish(broadcast_id) is None
    await send(storage, broadcast_id, 1, Outcome.SENT)
    await send(storage, broadcast_id, 2, Outcome.BLOCKED)
    await send(storage, broadcast_id, 3, Outcome.FAILED, "Bad Request: chat not found")
    await send(storage, broadcast_id, 4, Outcome.FAILED, "Bad Request: chat not found")
    await send(storage, broadcast_id, 5, Outcome.FAILED, "Timed out")
    assert await store.claim(broadcast_id, 6)
    assert await store.finish(broadcast_id) is None  # one still in flight
    await store.settle(broadcast_id, 6, Outcome.FAILED)  # no description
    assert await deliveries(storage) == 6

    summary = await store.finish(broadcast_id)
    assert summary.status is Status.DONE
    assert summary.counts == Counts(sent=1, blocked=1, failed=4)
    assert summary.failures == {"Bad Request: chat not found": 2, "Timed out": 1}
    assert summary.finished_at is not None
    assert summary.finished_at >= summary.started_at >= summary.created_at
    assert await deliveries(storage) == 0
    assert await store.summary(broadcast_id) == summary  # kept in the broadcasts row
    assert await store.finish(broadcast_id) is None  # only once
    assert await store.finish(12345) is None


async def test_finish_with_nobody_to_send_to(storage):
    broadcast_id = await start(storage)
    summary = await storage.broadcasts.finish(broadcast_id)
    assert (summary.status, summary.counts, summary.failures) == (Status.DONE, Counts(), {})


async def test_recover_resends_rows_left_sending(storage):
    await subscribe(storage, (1, "en"), (2, "en"), (3, "ru"))
    first = await start(storage, ADMIN)
    second = await start(storage, OTHER_ADMIN)
    store = storage.broadcasts
    await send(storage, first, 1, Outcome.SENT)
    assert await store.claim(first, 2)
    assert await store.claim(first, 3)
    assert await store.claim(second, 1)  # the crash comes here
    assert await store.recover() == 3
    assert await pending_ids(storage, first) == [2, 3]
    assert await pending_ids(storage, second) == [1, 2, 3]
    assert (await store.summary(first)).resent == 2
    assert (await store.summary(first)).counts == Counts(pending=2, sent=1)
    assert (await store.summary(second)).resent == 1
    assert await store.recover() == 0  # nothing in flight: nothing counted again
    assert (await store.summary(first)).resent == 2
    for user_id in (2, 3):
        await send(storage, first, user_id, Outcome.SENT)
    summary = await store.finish(first)
    assert (summary.resent, summary.counts) == (2, Counts(sent=3))


async def test_claim_report_once_and_only_when_finished(storage):
    await subscribe(storage, (1, "en"))
    broadcast_id = await start(storage)
    store = storage.broadcasts
    assert await store.claim_report(broadcast_id) is False  # still running
    await send(storage, broadcast_id, 1, Outcome.SENT)
    assert await store.finish(broadcast_id) is not None
    assert await store.claim_report(broadcast_id) is True
    assert await store.claim_report(broadcast_id) is False
    assert await store.claim_report(12345) is False


# -- milestones and order ---------------------------------------------------------------------


async def test_a_milestone_is_announced_once_and_never_a_smaller_one(storage):
    await subscribe(storage, (1, "en"), (2, "ru"))
    store = storage.broadcasts
    assert await store.last_milestone() == 0
    ten = await store.create_milestone(10, 10 * 455_500, "usd")
    assert ten is not None
    assert await store.create_milestone(10, 10 * 455_500, "usd") is None
    assert await store.create_milestone(5, 5 * 455_500, "usd") is None
    assert await pending_ids(storage, ten) == [1, 2]
    twenty = await store.create_milestone(20, 20 * 455_500, "usd")
    assert twenty is not None
    assert await store.create_milestone(15, 15 * 455_500, "usd") is None
    assert await store.last_milestone() == 20
    summary = await store.summary(ten)
    assert (summary.kind, summary.milestone, summary.admin_id, summary.status) == (
        "milestone",
        10,
        None,
        Status.SENDING,
    )
    broadcast = await store.next_to_send()
    assert (broadcast.broadcast_id, broadcast.texts, broadcast.milestone) == (ten, {}, 10)


async def test_next_to_send_is_the_oldest_unfinished_broadcast(storage):
    store = storage.broadcasts
    assert await store.next_to_send() is None
    await store.start_draft(ADMIN)
    assert await store.next_to_send() is None  # drafts are not sent
    first = await start(storage, OTHER_ADMIN, {"en": "first"})
    second = await start(storage, OTHER_ADMIN, {"en": "second"})
    broadcast = await store.next_to_send()
    assert (broadcast.broadcast_id, broadcast.texts, broadcast.status) == (
        first,
        {"en": "first"},
        Status.SENDING,
    )
    assert await store.finish(first) is not None  # nobody to send to
    assert await store.cancel(second) == Counts()
    broadcast = await store.next_to_send()  # cancelled, still to be closed
    assert (broadcast.broadcast_id, broadcast.status) == (second, Status.CANCELLED)
    assert await store.finish(second) is not None
    assert await store.next_to_send() is None


async def test_recent_lists_newest_first_without_drafts(storage):
    store = storage.broadcasts
    post = await start(storage)
    milestone = await store.create_milestone(100, 100 * 455_500, "usd")
    await store.start_draft(ADMIN)
    assert [s.broadcast_id for s in await store.recent(10)] == [milestone, post]
    assert [s.broadcast_id for s in await store.recent(1)] == [milestone]


# -- people -----------------------------------------------------------------------------------


async def test_forget_deletes_the_users_delivery_rows(storage):
    await subscribe(storage, (1, "en"), (2, "en"), (3, "ru"))
    broadcast_id = await start(storage)
    assert await storage.forget(1) is True
    assert await pending_ids(storage, broadcast_id) == [2, 3]
    assert await storage.broadcasts.claim(broadcast_id, 1) is False
    await storage.users.set_subscribed(3, "ru", False)  # the users row is gone ...
    assert await storage.users.get(3) is None
    assert await storage.forget(3) is True  # ... but the delivery row was still about them
    assert await deliveries(storage) == 1
    assert await storage.forget(3) is False


async def test_audit_entries_newest_first(storage):
    before = int(time.time())
    await storage.audit.record(ADMIN, "broadcast.confirm", "7")
    await storage.audit.record(OTHER_ADMIN, "broadcast.cancel")
    entries = await storage.audit.entries()
    assert [(e.admin_id, e.action, e.target) for e in entries] == [
        (OTHER_ADMIN, "broadcast.cancel", None),
        (ADMIN, "broadcast.confirm", "7"),
    ]
    assert all(before <= e.at <= int(time.time()) for e in entries)
    assert await storage.audit.entries(limit=1) == [entries[0]]
    assert isinstance(entries[0], AuditEntry)
