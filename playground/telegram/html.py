"""Parser and validator for Telegram's HTML "parse_mode".

:func:`parse_html` turns Bot API HTML (``parse_mode="HTML"``) into the plain text and
MessageEntity dicts Telegram would store, or raises :class:`TelegramHTMLError` with a detail
message worded like Telegram's own (``Bad Request: can't parse entities: <detail>``).

The algorithm follows the one in tdlib (``do_parse_html``), which is what the Bot API server runs:

* Only the tags of the Bot API "HTML style" are accepted: ``b strong i em u ins s strike del
  span tg-spoiler a tg-emoji code pre blockquote``. Anything else (``br``, ``div``, ``p``...)
  is ``Unsupported start tag "name" at byte offset N``.
* Every ``<`` starts a tag, so a raw ``<`` in text (``1 < 2``) is an error, exactly as on
  Telegram. Escape it as ``&lt;``.
* ``span`` needs ``class="tg-spoiler"``; ``code`` may carry ``class="language-x"`` (inside
  ``pre`` this yields a ``pre`` entity with ``language``); ``blockquote`` may carry
  ``expandable``; ``tg-emoji`` needs a numeric ``emoji-id``; ``a`` takes ``href``.
* An ``<a>`` whose URL Telegram would not accept (``javascript:``, a relative path...) is kept
  as plain text without an entity, as Telegram does. ``tg://user?id=N`` gives ``text_mention``.
* Byte offsets in error messages are UTF-8 byte offsets into the input, as Telegram reports them.
  Entity offsets and lengths are in UTF-16 code units, as in the Bot API.

HTML character references, and where this module is deliberately stricter than Telegram:

* ``&lt; &gt; &amp; &quot;`` and numeric ``&#NN;`` / ``&#xHH;`` are decoded (like tdlib, the
  trailing ``;`` is optional for them).
* A ``&`` that does not start a reference (``Q&A``, ``a & b``, ``&`` at the end) is kept as a
  literal ``&`` - Telegram accepts that too.
* Telegram also passes an *unknown* reference such as ``&nbsp;`` or ``&copy;`` through literally,
  so the user would see the raw ``&nbsp;``. That is almost always a bug in the sender (HTML from
  somewhere else, or double escaping), so this module rejects ``&name;`` with an unknown name and
  out-of-range numeric references with ``Can't find end of the entity starting at byte offset N``
  followed by an explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "SUPPORTED_TAGS",
    "TelegramHTMLError",
    "parse_html",
    "trim_formatted_text",
    "utf16_len",
]

Entity = dict[str, Any]

#: Tag name -> MessageEntity type it produces.
_TAG_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}

#: Tags accepted by Telegram's HTML parse mode.
SUPPORTED_TAGS: frozenset[str] = frozenset(_TAG_TYPES)

#: Characters tdlib treats as spaces inside tags; "\0" doubles as the end-of-text sentinel.
_SPACES = frozenset(" \t\r\n\v\f\0")
_END = "\0"
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE_RE = re.compile(r"&(?:#x([0-9a-fA-F]*)|#([0-9]*)|([A-Za-z]*))(;?)")
_PLAIN_RUN_RE = re.compile(r"[^<&]+")
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.-]*")
_USER_LINK_RE = re.compile(r"tg://user\?id=([0-9]+)", re.IGNORECASE)
_BARE_HOST_RE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}([/?#]\S*)?")
_MAX_CODE_POINT = 0x10FFFF
_TRIMMED = " \t\n\r\v\f"


class TelegramHTMLError(ValueError):
    """The text is not valid Telegram HTML. ``detail`` is Telegram's wording of the reason."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's lengths and offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into ``(plain_text, entities)``.

    Entities are Bot API MessageEntity dicts sorted by offset (outer entity first).
    Raises :class:`TelegramHTMLError` when Telegram would answer ``can't parse entities``.
    """
    return _Parser(text).run()


def trim_formatted_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace like Telegram does for message texts and captions.

    Entities are shifted and clipped to the remaining text; empty ones are dropped.
    """
    stripped = text.strip(_TRIMMED)
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip(_TRIMMED))])
    new_length = utf16_len(stripped)
    trimmed = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(new_length, entity["offset"] + entity["length"] - shift)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return stripped, trimmed


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    argument: str
    expandable: bool
    utf16_offset: int
    output_index: int


class _Parser:
    """Single-use parser; the state of one :func:`parse_html` call."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.output: list[str] = []
        self.utf16_offset = 0
        self.open_tags: list[_OpenTag] = []
        self.entities: list[Entity] = []

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> tuple[str, list[Entity]]:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "&":
                self._reference_or_ampersand()
            elif char == "<":
                self._tag()
            else:
                match = _PLAIN_RUN_RE.match(self.text, self.pos)
                assert match is not None
                self._emit(match.group())
                self.pos = match.end()
        if self.open_tags:
            name = self.open_tags[-1].name
            raise TelegramHTMLError(f'Can\'t find end tag corresponding to start tag "{name}"')
        return "".join(self.output), _finish_entities(self.entities)

    def _emit(self, chunk: str) -> None:
        self.output.append(chunk)
        self.utf16_offset += utf16_len(chunk)

    def _char(self, index: int) -> str:
        return self.text[index] if index < len(self.text) else _END

    def _at_end(self, index: int) -> bool:
        return index >= len(self.text)

    def _skip_spaces(self, index: int) -> int:
        while not self._at_end(index) and self.text[index] in _SPACES:
            index += 1
        return index

    def _byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8", "surrogatepass"))

    def _error(self, message: str, index: int | None = None) -> TelegramHTMLError:
        if index is not None:
            message = f"{message} at byte offset {self._byte_offset(index)}"
        return TelegramHTMLError(message)

    # -- character references ----------------------------------------------------------------

    def _reference_or_ampersand(self) -> None:
        decoded = self._decode_reference(self.pos)
        if decoded is None:
            self._emit("&")
            self.pos += 1
        else:
            self._emit(decoded[0])
            self.pos = decoded[1]

    def _decode_reference(self, index: int) -> tuple[str, int] | None:
        """Decode the reference at ``index`` to ``(char, end)``; ``None`` for a literal ``&``."""
        match = _REFERENCE_RE.match(self.text, index)
        assert match is not None
        hex_digits, dec_digits, name, semicolon = match.groups()
        if name is not None:
            if name in _NAMED_REFERENCES:
                return _NAMED_REFERENCES[name], match.end()
            if name and semicolon:
                raise self._bad_reference(index, match.group())
            return None
        digits = hex_digits if hex_digits is not None else dec_digits
        code = int(digits, 16 if hex_digits is not None else 10) if digits else 0
        # tdlib gives up on references of 10+ characters (not counting the ";").
        too_long = match.end() - len(semicolon) - index >= 10
        if 0 < code < _MAX_CODE_POINT and not 0xD800 <= code <= 0xDFFF and not too_long:
            return chr(code), match.end()
        if digits and semicolon:
            raise self._bad_reference(index, match.group())
        return None

    def _bad_reference(self, index: int, reference: str) -> TelegramHTMLError:
        return TelegramHTMLError(
            f"Can't find end of the entity starting at byte offset {self._byte_offset(index)}: "
            f'"{reference}" is not a supported HTML entity '
            "(use &lt; &gt; &amp; &quot; or a numeric &#NNN; reference)"
        )

    # -- tags --------------------------------------------------------------------------------

    def _tag(self) -> None:
        if self._char(self.pos + 1) == "/":
            self._end_tag(self.pos)
        else:
            self._start_tag(self.pos)

    def _start_tag(self, begin: int) -> None:
        index = begin + 1
        while self._char(index) not in _SPACES and self._char(index) != ">":
            index += 1
        if self._at_end(index):
            raise self._error("Unclosed start tag", begin)
        name = self.text[begin + 1 : index].lower()
        if name not in SUPPORTED_TAGS:
            raise self._error(f'Unsupported start tag "{name}"', begin)
        index, argument, expandable = self._attributes(name, begin, index)
        if name == "span" and argument != "spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', begin)
        self.open_tags.append(
            _OpenTag(name, argument, expandable, self.utf16_offset, len(self.output))
        )
        self.pos = index + 1

    def _attributes(self, tag: str, begin: int, index: int) -> tuple[int, str, bool]:
        """Parse attributes up to the closing ``>``; return its index and what they set."""
        argument, expandable = "", False
        while True:
            index = self._skip_spaces(index)
            if self._char(index) == ">":
                return index, argument, expandable
            name_begin = index
            while self._char(index) not in _SPACES and self._char(index) not in "=>":
                index += 1
            attribute = self.text[name_begin:index].lower()
            if not attribute:
                if self._at_end(index):
                    raise self._error("Unclosed start tag", begin)
                raise self._error(f'Empty attribute name in the tag "{tag}"', begin)
            index = self._skip_spaces(index)
            if self._char(index) != "=":
                if tag == "blockquote" and attribute == "expandable":
                    expandable = True
                    continue
                if self._at_end(index):
                    raise self._error("Unclosed start tag", begin)
                raise self._error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            index = self._skip_spaces(index + 1)
            if self._at_end(index):
                raise self._error(f'Unclosed start tag "{tag}"', begin)
            value, index = self._attribute_value(index)
            if self._at_end(index):
                raise self._error("Unclosed start tag", begin)
            argument, expandable = _apply_attribute(tag, attribute, value, argument, expandable)

    def _attribute_value(self, index: int) -> tuple[str, int]:
        quote = self.text[index]
        if quote not in "'\"":
            match = _NAME_TOKEN_RE.match(self.text, index)
            assert match is not None
            end = match.end()
            if self._char(end) not in _SPACES and self._char(end) != ">":
                raise self._error("Unexpected end of name token", index)
            return match.group().lower(), end
        index += 1
        chunks: list[str] = []
        while not self._at_end(index) and self.text[index] != quote:
            decoded = self._decode_reference(index) if self.text[index] == "&" else None
            if decoded is None:
                chunks.append(self.text[index])
                index += 1
            else:
                chunks.append(decoded[0])
                index = decoded[1]
        if not self._at_end(index):
            index += 1
        return "".join(chunks), index

    def _end_tag(self, begin: int) -> None:
        if not self.open_tags:
            raise self._error("Unexpected end tag", begin)
        index = begin + 2
        while self._char(index) not in _SPACES and self._char(index) != ">":
            index += 1
        found = self.text[begin + 2 : index]
        index = self._skip_spaces(index)
        if self._char(index) != ">":
            raise self._error("Unclosed end tag", begin)
        open_tag = self.open_tags[-1]
        if found and found.lower() != open_tag.name:
            raise TelegramHTMLError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{open_tag.name}>", found "</{found}>"'
            )
        self.open_tags.pop()
        length = self.utf16_offset - open_tag.utf16_offset
        if length > 0:
            self._add_entity(open_tag, length)
        self.pos = index + 1

    # -- entities ----------------------------------------------------------------------------

    def _add_entity(self, tag: _OpenTag, length: int) -> None:
        entity: Entity = {"type": _TAG_TYPES[tag.name], "offset": tag.utf16_offset}
        entity["length"] = length
        if tag.name == "a":
            url = tag.argument or "".join(self.output[tag.output_index :])
            link = _link_fields(url)
            if link is None:
                return  # Telegram silently drops links it does not accept
            entity.update(link)
        elif tag.name == "tg-emoji":
            if not tag.argument.isdecimal() or int(tag.argument) == 0:
                raise TelegramHTMLError("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = tag.argument
        elif tag.name == "blockquote" and tag.expandable:
            entity["type"] = "expandable_blockquote"
        elif tag.name in ("pre", "code") and self._merge_pre_code(tag, length):
            return
        elif tag.name == "code" and tag.argument:
            entity["language"] = tag.argument
        self.entities.append(entity)

    def _merge_pre_code(self, tag: _OpenTag, length: int) -> bool:
        """Merge ``<pre><code class="language-x">`` (either nesting order) into one entity."""
        if not self.entities:
            return False
        last = self.entities[-1]
        if last["offset"] != tag.utf16_offset or last["length"] != length:
            return False
        if tag.name == "pre" and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
            return True
        if tag.name == "code" and last["type"] == "pre" and tag.argument:
            last["language"] = tag.argument
            return True
        return False


def _apply_attribute(
    tag: str, attribute: str, value: str, argument: str, expandable: bool
) -> tuple[str, bool]:
    """Return the new ``(argument, expandable)`` after one attribute; unknown ones are ignored."""
    if tag == "a" and attribute == "href":
        return value, expandable
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-"), expandable
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-"), expandable
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value, expandable
    if tag == "blockquote" and attribute == "expandable":
        return argument, True
    return argument, expandable


def _link_fields(url: str) -> Entity | None:
    """Entity fields for an ``<a>`` target, or ``None`` when Telegram would drop the link."""
    user = _USER_LINK_RE.fullmatch(url)
    if user:
        mentioned = {"id": int(user[1]), "is_bot": False, "first_name": ""}
        return {"type": "text_mention", "user": mentioned}
    normalized = _normalize_url(url)
    return None if normalized is None else {"url": normalized}


def _normalize_url(url: str) -> str | None:
    """Return the URL Telegram would store for a text link, or ``None`` if it is invalid."""
    url = url.strip()
    if not url or any(char.isspace() for char in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https", "tg", "ton", "tonsite"):
        return url if parts.netloc else None
    if scheme == "mailto":
        return url if "@" in parts.path else None
    if not scheme and _BARE_HOST_RE.fullmatch(url):
        return f"http://{url}"
    return None


def _finish_entities(entities: list[Entity]) -> list[Entity]:
    """Drop internal fields and sort like Telegram: by offset, outer (longer) entity first."""
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))
