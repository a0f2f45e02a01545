"""Message methods of :class:`FakeBotAPI`.

Sending (text, photos, documents, chat actions, forwards and copies), editing, deleting, and
answering callback and inline queries; with the helpers they share: the target chat and its
reachability, parse modes and entities, replies, media and the stored copy of each message.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from playground.telegram.errors import JSONDict, _names, bad_request, forbidden
from playground.telegram.html import TelegramHTMLError, parse_html, trim_formatted_text, utf16_len
from playground.telegram.limits import (
    INLINE_RESULT_TYPES,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_INLINE_RESULT_ID_BYTES,
    MAX_INLINE_RESULTS,
    MAX_MESSAGE_LENGTH,
    validate_reply_markup,
)
from playground.telegram.routing import Params, UploadedFile, _bot_method

CHAT_ACTIONS = frozenset(
    _names(
        "typing upload_photo record_video upload_video record_voice upload_voice upload_document"
        " choose_sticker find_location record_video_note upload_video_note"
    )
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

DELETABLE_SECONDS = 48 * 3600
"""A bot may delete a private chat's messages while they are under 48 hours old."""


class MessagesMixin:
    """The message methods of :class:`FakeBotAPI` and the helpers they share."""

    # -- shared helpers for handlers ---------------------------------------------------------

    def _chat(self, params: Params, name: str = "chat_id", *, sending: bool = True) -> JSONDict:
        """The chat a request targets; raises like Telegram when it is unknown or unreachable."""
        value = params.get(name)
        if value in (None, ""):
            raise bad_request(f"{name} is empty")
        chat = self._lookup_chat(value)
        if chat is None:
            raise bad_request("chat not found")
        if sending:
            self._check_reachable(chat)
        return copy.deepcopy(chat)

    def _check_reachable(self, chat: JSONDict) -> None:
        chat_id = chat["id"]
        if chat_id in self.deactivated:
            raise forbidden("user is deactivated")
        if chat_id not in self.blocked:
            return
        if chat["type"] == "private":
            raise forbidden("bot was blocked by the user")
        if chat["type"] == "channel":
            raise forbidden("bot is not a member of the channel chat")
        raise forbidden(f"bot was kicked from the {chat['type']} chat")

    def _format(
        self, params: Params, name: str, *, limit: int, optional: bool
    ) -> tuple[str, list[JSONDict], str | None]:
        """Parse ``params[name]`` per parse_mode; return (plain text, entities, raw)."""
        raw = params.text(name)
        entities_name = "entities" if name == "text" else "caption_entities"
        kind = "message text" if name == "text" else "message caption"
        if raw in (None, ""):
            if optional:
                return "", [], raw
            raise bad_request(f"{kind} is empty")
        assert raw is not None
        text, entities = self._parse(raw, params.text("parse_mode"), params.json(entities_name))
        text, entities = trim_formatted_text(text, entities)
        if not text and not optional:
            raise bad_request(f"{kind} is empty")
        if utf16_len(text) > limit:
            raise bad_request("message is too long" if name == "text" else f"{kind} is too long")
        return text, entities, raw

    def _parse(self, raw: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                return parse_html(raw)
            except TelegramHTMLError as error:
                raise bad_request(f"can't parse entities: {error.detail}") from error
        if mode in ("markdown", "markdownv2"):
            # Simplification: Markdown is accepted as-is (not validated); text stays raw.
            return raw, []
        if mode:
            raise bad_request("unsupported parse_mode")
        if entities is None:
            return raw, []
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise bad_request("can't parse entities JSON object")
        return raw, [dict(entity) for entity in entities]

    def _reply_to(self, params: Params, chat: JSONDict) -> JSONDict | None:
        reply = params.json("reply_parameters", "ReplyParameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or params.integer("reply_to_message_id")
        if not message_id:
            return None
        reply_chat = reply.get("chat_id", chat["id"]) if isinstance(reply, dict) else chat["id"]
        target = self._lookup_chat(reply_chat)
        stored = self._messages.get((target["id"], message_id)) if target else None
        if stored is not None:
            return copy.deepcopy(stored)
        allowed = params.flag("allow_sending_without_reply") or (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply")
        )
        if allowed:
            return None
        raise bad_request("message to be replied not found")

    def _store_bot_message(self, chat: JSONDict, content: JSONDict, params: Params) -> JSONDict:
        reply_to = self._reply_to(params, chat)
        message: JSONDict = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self._bot_sender(),
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update({key: value for key, value in content.items() if value not in (None, [])})
        self._messages[(chat["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _inline_markup(self, params: Params) -> JSONDict | None:
        markup = validate_reply_markup(params.json("reply_markup", "reply keyboard markup"))
        return markup if markup is not None and "inline_keyboard" in markup else None

    def _media(self, params: Params, kind: str) -> tuple[str, UploadedFile | None]:
        """Resolve a file parameter (upload, ``attach://`` or file_id/URL) to a file_id."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            file_id = f"{_FILE_ID_PREFIXES.get(kind, 'CQAC')}{next(self._file_ids):08d}FakeFileId"
            self.files[file_id] = value
            return file_id, value
        if not isinstance(value, str) or not value.strip():
            raise bad_request(f"there is no {kind} in the request")
        # Simplification: any non-empty file_id or URL is accepted.
        return value, None

    def _message_to_edit(self, params: Params) -> JSONDict | None:
        """The stored bot message an edit targets, or ``None`` for inline messages."""
        if params.has("inline_message_id"):
            return None
        chat = self._chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = self._messages.get((chat["id"], message_id))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: JSONDict, changes: JSONDict) -> JSONDict:
        current = {key: message.get(key) for key in changes}
        if current == changes:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value in (None, [], ""):
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    # -- sending -----------------------------------------------------------------------------

    @_bot_method("sendMessage")
    def _send_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        text, entities, _ = self._format(params, "text", limit=MAX_MESSAGE_LENGTH, optional=False)
        markup = self._inline_markup(params)
        params.json("link_preview_options", "LinkPreviewOptions")
        content = {"text": text, "entities": entities, "reply_markup": markup}
        return self._store_bot_message(chat, content, params)

    @_bot_method("sendPhoto")
    def _send_photo(self, params: Params) -> JSONDict:
        return self._send_media(params, "photo", _photo_sizes)

    @_bot_method("sendDocument")
    def _send_document(self, params: Params) -> JSONDict:
        return self._send_media(params, "document", _document)

    def _send_media(
        self, params: Params, kind: str, describe: Callable[[str, UploadedFile | None], Any]
    ) -> JSONDict:
        chat = self._chat(params)
        file_id, upload = self._media(params, kind)
        caption, entities, _ = self._format(
            params, "caption", limit=MAX_CAPTION_LENGTH, optional=True
        )
        content = {
            kind: describe(file_id, upload),
            "caption": caption,
            "caption_entities": entities,
            "reply_markup": self._inline_markup(params),
        }
        return self._store_bot_message(chat, content, params)

    @_bot_method("sendChatAction")
    def _send_chat_action(self, params: Params) -> bool:
        self._chat(params)
        if params.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    @_bot_method("forwardMessage")
    def _forward_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        source = self._source_message(params, "message to forward not found")
        content = _message_content(source)
        origin_user = source.get("from")
        content["forward_origin"] = (
            {"type": "user", "sender_user": origin_user, "date": source["date"]}
            if origin_user
            else {"type": "chat", "sender_chat": source["chat"], "date": source["date"]}
        )
        return self._store_bot_message(chat, content, params)

    @_bot_method("copyMessage")
    def _copy_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        source = self._source_message(params, "message to copy not found")
        content = _message_content(source)
        if params.get("caption") is not None and "text" not in content:
            caption, entities, _ = self._format(
                params, "caption", limit=MAX_CAPTION_LENGTH, optional=True
            )
            content.update(caption=caption, caption_entities=entities)
        content["reply_markup"] = self._inline_markup(params)
        return {"message_id": self._store_bot_message(chat, content, params)["message_id"]}

    def _source_message(self, params: Params, missing: str) -> JSONDict:
        source_chat = self._chat(params, "from_chat_id", sending=False)
        message_id = params.integer("message_id")
        source = self._messages.get((source_chat["id"], message_id or 0))
        if source is None:
            raise bad_request(missing)
        return source

    # -- editing and deleting ----------------------------------------------------------------

    @_bot_method("editMessageText")
    def _edit_message_text(self, params: Params) -> JSONDict | bool:
        message = self._message_to_edit(params)
        text, entities, _ = self._format(params, "text", limit=MAX_MESSAGE_LENGTH, optional=False)
        markup = self._inline_markup(params)
        if message is None:
            return True
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        changes = {"text": text, "entities": entities or None, "reply_markup": markup}
        return self._apply_edit(message, changes)

    @_bot_method("editMessageCaption")
    def _edit_message_caption(self, params: Params) -> JSONDict | bool:
        message = self._message_to_edit(params)
        caption, entities, _ = self._format(
            params, "caption", limit=MAX_CAPTION_LENGTH, optional=True
        )
        markup = self._inline_markup(params)
        if message is None:
            return True
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        changes = {
            "caption": caption or None,
            "caption_entities": entities or None,
            "reply_markup": markup,
        }
        return self._apply_edit(message, changes)

    @_bot_method("editMessageReplyMarkup")
    def _edit_message_reply_markup(self, params: Params) -> JSONDict | bool:
        message = self._message_to_edit(params)
        markup = self._inline_markup(params)
        if message is None:
            return True
        return self._apply_edit(message, {"reply_markup": markup})

    @_bot_method("deleteMessage")
    def _delete_message(self, params: Params) -> bool:
        chat = self._chat(params, sending=False)
        key = (chat["id"], params.integer("message_id") or 0)
        if self._messages.pop(key, None) is None:
            raise bad_request("message to delete not found")
        return True

    @_bot_method("deleteMessages")
    def _delete_messages(self, params: Params) -> bool:
        chat = self._chat(params, sending=False)
        ids = params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be an array of 1-100 message identifiers")
        oldest = time.time() - DELETABLE_SECONDS
        for message_id in ids:  # ids that cannot be deleted are skipped, as on Telegram
            message = self._messages.get((chat["id"], message_id))
            if message is not None and message.get("date", 0) >= oldest:
                del self._messages[(chat["id"], message_id)]
        return True

    # -- queries -----------------------------------------------------------------------------

    @_bot_method("answerCallbackQuery")
    def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        text = params.text("text")
        if query_id not in self._pending_callbacks:
            raise bad_request(QUERY_TOO_OLD)
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self.callback_answers[query_id] = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time"),
        }
        return True

    @_bot_method("answerInlineQuery")
    def _answer_inline_query(self, params: Params) -> bool:
        query_id = params.text("inline_query_id") or ""
        if query_id not in self._pending_inline:
            raise bad_request(QUERY_TOO_OLD)
        results = params.json("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._validate_inline_result(result, seen)
        params.integer("cache_time")
        self._pending_inline.discard(query_id)
        self.inline_answers[query_id] = copy.deepcopy(results)
        return True

    def _validate_inline_result(self, result: Any, seen: set[str]) -> None:
        prefix = "can't parse inline query result: "
        if not isinstance(result, dict):
            raise bad_request(prefix + "InlineQueryResult must be an Object")
        if result.get("type") not in INLINE_RESULT_TYPES:
            raise bad_request(prefix + f'Result type "{result.get("type")}" is unsupported')
        result_id = result.get("id")
        if not isinstance(result_id, str) or not (
            1 <= len(result_id.encode()) <= MAX_INLINE_RESULT_ID_BYTES
        ):
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        validate_reply_markup(result.get("reply_markup"))
        if result["type"] == "article":
            self._validate_article(result, prefix)

    def _validate_article(self, result: JSONDict, prefix: str) -> None:
        title = result.get("title")
        if not isinstance(title, str) or not title.strip():
            raise bad_request(prefix + 'Can\'t find field "title"')
        content = result.get("input_message_content")
        if not isinstance(content, dict):
            raise bad_request(prefix + 'Can\'t find field "input_message_content"')
        if "message_text" in content:
            text = content["message_text"]
            if not isinstance(text, str):
                raise bad_request(prefix + 'Field "message_text" must be of type String')
            plain, entities = self._parse(text, content.get("parse_mode"), content.get("entities"))
            plain, _ = trim_formatted_text(plain, entities)
            if not plain:
                raise bad_request("MESSAGE_EMPTY")
            if utf16_len(plain) > MAX_MESSAGE_LENGTH:
                raise bad_request("MESSAGE_TOO_LONG")


_FILE_ID_PREFIXES = {"photo": "AgAC", "document": "BQAC"}


def _photo_sizes(file_id: str, upload: UploadedFile | None) -> list[JSONDict]:
    size = len(upload.data) if upload is not None else 51234
    unique_id = "AQAD" + file_id[-12:]
    return [
        {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "width": 800,
            "height": 600,
            "file_size": size,
        }
    ]


def _document(file_id: str, upload: UploadedFile | None) -> JSONDict:
    document: JSONDict = {"file_id": file_id, "file_unique_id": "AgAD" + file_id[-12:]}
    if upload is not None:
        document.update(
            file_name=upload.filename, mime_type=upload.content_type, file_size=len(upload.data)
        )
    return document


_METADATA_KEYS = frozenset(
    _names(
        "message_id from chat date edit_date reply_markup reply_to_message forward_origin"
        " message_thread_id sender_chat"
    )
)


def _message_content(message: JSONDict) -> JSONDict:
    """The content fields of a message (text, media, caption...), for forwards and copies."""
    return {
        key: copy.deepcopy(value) for key, value in message.items() if key not in _METADATA_KEYS
    }
