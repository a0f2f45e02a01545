"""The update queue and its two ways out.

getUpdates (long polling, offsets, ``allowed_updates``) and webhooks: setWebhook,
deleteWebhook, getWebhookInfo and the delivery of queued updates to the local address given to
:meth:`FakeBotAPI.forward_webhook_to`. Updates enter the queue from the test side
(:meth:`FakeBotAPI.send_update` and the helpers built on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json

import httpx
from starlette.requests import Request

from playground.telegram.errors import BotAPIError, JSONDict, _names
from playground.telegram.limits import (
    MAX_UPDATES_LIMIT,
    _validate_secret_token,
    _validate_webhook_url,
)
from playground.telegram.routing import Params, _bot_method, _Result

UPDATE_TYPES = _names(
    "message edited_message channel_post edited_channel_post business_connection"
    " business_message edited_business_message deleted_business_messages message_reaction"
    " message_reaction_count inline_query chosen_inline_result callback_query shipping_query"
    " pre_checkout_query purchased_paid_media poll poll_answer my_chat_member chat_member"
    " chat_join_request chat_boost removed_chat_boost"
)
#: Update types Telegram only delivers when they are listed in ``allowed_updates``.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MESSAGE_UPDATE_TYPES = frozenset(
    _names(
        "message edited_message channel_post edited_channel_post business_message"
        " edited_business_message"
    )
)

WEBHOOK_RETRY = 1.0
"""Seconds before a webhook delivery that failed is tried again."""
WEBHOOK_TIMEOUT = 30.0
#: How often a long poll checks whether its client has gone away.
_DISCONNECT_CHECK_INTERVAL = 0.5


# =============================================================================================
# Activity: what long polls, the webhook pump and wait_for_* wait for
# =============================================================================================


class _Signal:
    """Wakes every waiter on :meth:`notify` (a reusable broadcast event)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Wait for the next notification, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), max(0.0, seconds))


class UpdatesMixin:
    """The update queue of :class:`FakeBotAPI`, long polling and webhooks."""

    def forward_webhook_to(self, url: str | None) -> None:
        """While a webhook is set, POST updates to ``url`` (``None``: nowhere).

        Telegram calls the public https address given to setWebhook; here that address stands
        for a reverse proxy in front of ``url``, a local one. Updates go one at a time, with
        the secret token header, and leave the queue once answered with 2xx; any other answer
        or a connection error is retried after :data:`WEBHOOK_RETRY` seconds, as Telegram does.
        Each attempt is listed in :attr:`webhook_deliveries`.
        """
        self._webhook_target = url
        self._activity.notify()

    async def _deliver_to_webhook(self) -> None:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as http:
            # not `while True`: Python 3.11's wait_for (in _Signal.wait) swallows a cancel that
            # comes together with the notify() of stop(), which would leave stop() waiting
            while not self._closing.is_set():
                update = self._updates[0] if self._updates else None
                if update is None or not (self.webhook_url and self._webhook_target):
                    await self._activity.wait(WEBHOOK_RETRY)
                    continue
                headers = {"Content-Type": "application/json"}
                if self.webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
                try:
                    response = await http.post(
                        self._webhook_target, content=json.dumps(update), headers=headers
                    )
                    outcome: int | str = response.status_code
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                self.webhook_deliveries.append((update["update_id"], outcome))
                if isinstance(outcome, int) and 200 <= outcome < 300:
                    self._confirm_updates(update["update_id"] + 1)
                    self._activity.notify()
                else:
                    await asyncio.sleep(WEBHOOK_RETRY)

    def _take_updates(self, offset: int | None, limit: int) -> list[JSONDict]:
        if offset is not None:
            self._confirm_updates(offset)
        allowed = self._allowed_update_types()
        self._updates = [update for update in self._updates if _update_type(update) in allowed]
        return copy.deepcopy(self._updates[:limit])

    def _confirm_updates(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def _allowed_update_types(self) -> frozenset[str]:
        if self._allowed_updates:
            return frozenset(self._allowed_updates)
        return frozenset(UPDATE_TYPES) - OPT_IN_UPDATE_TYPES

    # -- Bot API methods ---------------------------------------------------------------------

    @_bot_method("getUpdates")
    async def _get_updates(self, params: Params) -> list[JSONDict]:
        if self.webhook_url:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset")
        limit = min(max(params.integer("limit", MAX_UPDATES_LIMIT) or 1, 1), MAX_UPDATES_LIMIT)
        timeout = max(params.integer("timeout", 0) or 0, 0)
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            # Simplification: applied when updates are delivered, not when they are created.
            self._allowed_updates = [str(kind) for kind in allowed]
        return await self._long_poll(offset, limit, timeout, params.request)

    async def _long_poll(
        self, offset: int | None, limit: int, seconds: int, request: Request | None
    ) -> list[JSONDict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not (updates := self._take_updates(offset, limit)):
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                break
            await self._activity.wait(min(remaining, _DISCONNECT_CHECK_INTERVAL))
            if request is not None and await request.is_disconnected():
                break
        return updates

    @_bot_method("setWebhook")
    def _set_webhook(self, params: Params) -> _Result:
        url = params.text("url", "") or ""
        if not url:
            return self._delete_webhook(params)
        _validate_webhook_url(url)
        secret = params.text("secret_token")
        if secret is not None:
            _validate_secret_token(secret)
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self.webhook_url, self.webhook_secret = url, secret or None
        return _Result(True, "Webhook was set")

    @_bot_method("deleteWebhook")
    def _delete_webhook(self, params: Params) -> _Result:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        was_set, self.webhook_url, self.webhook_secret = bool(self.webhook_url), None, None
        return _Result(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    @_bot_method("getWebhookInfo")
    def _get_webhook_info(self, params: Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info


def _update_type(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")
