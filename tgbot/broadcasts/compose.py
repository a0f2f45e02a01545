"""Reading an admin's news post: `[en] …` `[ru] …` language blocks with Telegram formatting.

Admins format posts in their Telegram client (bold, italic, links), which arrives as message
entities, not markup. Each block keeps the entities inside it, cut at the block's edges, and
becomes Telegram HTML, so recipients see the formatting the admin wrote. A subscriber who chose
discreet news gets it behind a neutral first line, so a block leaves room for that line.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from telegram import Chat, Message, MessageEntity
from telegram.constants import MessageLimit

from tgbot.settings import LANGUAGES
from tgbot.text.i18n import Texts, texts

_TAG = re.compile(r"^[^\S\n]*\[([A-Za-z]{2})\][^\S\n]*", re.MULTILINE)
"""A language tag at the start of a line, e.g. `[en]` or ` [RU] `."""
_TAGS_ONLY = re.compile(r"<[^>]*>")


class ComposeProblem(StrEnum):
    TEXT_BEFORE_TAG = "text_before_tag"
    UNKNOWN_LANGUAGE = "unknown_language"
    REPEATED_LANGUAGE = "repeated_language"
    EMPTY_BLOCK = "empty_block"
    EMPTY = "empty"
    TOO_LONG = "too_long"


class ComposeError(Exception):
    def __init__(self, problem: ComposeProblem, language: str = "") -> None:
        super().__init__(problem, language)
        self.problem = problem
        self.language = language


@dataclass(frozen=True, slots=True)
class _Block:
    language: str
    start: int
    end: int
    """Python string indices of the block's text, without its tag."""


def parse_post(
    text: str,
    entities: Sequence[MessageEntity],
    default_language: str,
    *,
    limit: int = MessageLimit.MAX_TEXT_LENGTH,
) -> dict[str, str]:
    """Telegram HTML per language from a message's text and entities.

    Text without any tag is the default language's. Raises `ComposeError` for text before the
    first tag, an unknown or repeated language, an empty block, or a block over `limit`.
    """
    blocks = _blocks(text, default_language)
    posts: dict[str, str] = {}
    for block in blocks:
        start, end = _strip(text, block.start, block.end)
        if start == end:
            raise ComposeError(ComposeProblem.EMPTY_BLOCK, block.language)
        part = text[start:end]
        if utf16_length(part) > limit:
            raise ComposeError(ComposeProblem.TOO_LONG, block.language)
        posts[block.language] = _html(part, _clip(text, entities, start, end))
    return posts


def _blocks(text: str, default_language: str) -> list[_Block]:
    tags = list(_TAG.finditer(text))
    if not tags:
        if not text.strip():
            raise ComposeError(ComposeProblem.EMPTY)
        return [_Block(default_language, 0, len(text))]
    if text[: tags[0].start()].strip():
        raise ComposeError(ComposeProblem.TEXT_BEFORE_TAG)
    blocks: list[_Block] = []
    for tag, following in zip(tags, [*tags[1:], None], strict=True):
        language = tag[1].lower()
        if language not in LANGUAGES:
            raise ComposeError(ComposeProblem.UNKNOWN_LANGUAGE, tag[1])
        if any(block.language == language for block in blocks):
            raise ComposeError(ComposeProblem.REPEATED_LANGUAGE, language)
        end = following.start() if following else len(text)
        blocks.append(_Block(language, tag.end(), end))
    return blocks


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def utf16_length(text: str) -> int:
    """Length as Telegram counts it, in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _clip(
    text: str, entities: Sequence[MessageEntity], start: int, end: int
) -> list[MessageEntity]:
    """The entities inside `text[start:end]`, cut at its edges, with offsets from `start`."""
    low, high = utf16_length(text[:start]), utf16_length(text[:end])
    clipped = []
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND:
            continue
        first, last = max(entity.offset, low), min(entity.offset + entity.length, high)
        if first < last:
            fields = entity.to_dict() | {"offset": first - low, "length": last - first}
            # python-telegram-bot writes both into attributes as they are
            if entity.url:
                fields["url"] = html.escape(entity.url)
            if entity.type == MessageEntity.PRE and entity.language:
                fields["language"] = html.escape(f"language-{entity.language}")
            clipped.append(MessageEntity.de_json(fields, None))
    return clipped


def _html(text: str, entities: list[MessageEntity]) -> str:
    """python-telegram-bot's own entities-to-HTML conversion, through a stand-in Message."""
    message = Message(0, datetime.now(UTC), Chat(0, Chat.PRIVATE), text=text, entities=entities)
    return message.text_html


def visible_length(telegram_html: str) -> int:
    """How long a text of ours is once Telegram has parsed its HTML (for the caption limit)."""
    return utf16_length(html.unescape(_TAGS_ONLY.sub("", telegram_html)))


def discreet_prefix(t: Texts) -> str:
    """What discreet news starts with: a neutral line that reveals nothing, then a blank line."""
    return f"{t('discreet.first_line')}\n\n"


def post_limit(with_photo: bool) -> int:
    """The longest block a post may have: Telegram's limit less the longest discreet prefix.

    A language without a block gets the default language's, so every block leaves room for
    every language's prefix.
    """
    limit = MessageLimit.CAPTION_LENGTH if with_photo else MessageLimit.MAX_TEXT_LENGTH
    return limit - max(visible_length(discreet_prefix(texts(code))) for code in LANGUAGES)
