"""What the page's composer sends: Telegram Desktop's Markdown shortcuts, and long texts split.

Telegram Desktop turns ``**bold**``, ``__italic__``, ``~~strikethrough~~``, `` `code` ``,
```` ```pre``` ```` and ``[text](url)`` typed in its composer into message entities (its Ctrl+B
and Ctrl+I do the same to a selection; the page writes those as ``**`` and ``__``), and splits
a text longer than Telegram's 4096 characters into several messages, cutting at a paragraph,
a line, a sentence or a word where it can. :func:`compose` does both, so the bot gets what a
real client would send. Inside code nothing is formatted; a marker without its pair stays
as it was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playground.telegram.html import utf16_len
from playground.telegram.limits import MAX_MESSAGE_LENGTH
from playground.telegram.state import command_entities

__all__ = ["Span", "compose", "parse_markdown", "split_text"]

Entity = dict[str, Any]

_MARKUP: list[tuple[str, re.Pattern[str]]] = [
    # in priority order for matches that start at the same place
    ("pre", re.compile(r"```(?:([A-Za-z0-9_+-]{1,32})\n)?(.+?)```", re.DOTALL)),
    ("code", re.compile(r"`([^`\n]+)`")),
    ("text_link", re.compile(r"\[([^\]\n]+)\]\(((?:https?|tg)://[^\s()]+)\)")),
    ("bold", re.compile(r"(?<!\w)\*\*(\S(?:.*?\S)?)\*\*(?!\w)", re.DOTALL)),
    ("italic", re.compile(r"(?<!\w)__(\S(?:.*?\S)?)__(?!\w)", re.DOTALL)),
    ("strikethrough", re.compile(r"(?<!\w)~~(\S(?:.*?\S)?)~~(?!\w)", re.DOTALL)),
]
_LITERAL = frozenset({"pre", "code"})
"""Entities whose content is shown as typed, markers included."""
_CUTS = ("\n\n", "\n", ". ", " ")
"""Where a long text is cut, best first: a paragraph, a line, a sentence, a word."""


@dataclass(frozen=True)
class Span:
    """An entity over ``text[start:end]`` (code points; UTF-16 only in the final dicts)."""

    type: str
    start: int
    end: int
    extra: tuple[tuple[str, str], ...] = ()


def compose(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[tuple[str, list[Entity]]]:
    """The messages a Telegram client sends for ``text`` typed in its composer: each a plain
    text of at most ``limit`` UTF-16 units with its entities (the formatting, and the
    ``bot_command`` entities Telegram's server adds)."""
    plain, spans = _parse(text)
    messages = []
    for part, part_spans in split_text(plain, spans, limit):
        formatting = [_entity(part, span) for span in part_spans]
        literal = [span for span in part_spans if span.type in _LITERAL]
        commands = [
            entity
            for entity in command_entities(part)
            if not any(_overlaps(part, entity, span) for span in literal)
        ]
        entities = sorted(formatting + commands, key=lambda e: (e["offset"], -e["length"]))
        messages.append((part, entities))
    return messages


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """``text`` without its Markdown markers, and the entities they stood for."""
    plain, spans = _parse(text)
    return plain, [_entity(plain, span) for span in sorted(spans, key=_order)]


def split_text(
    text: str, spans: list[Span], limit: int = MAX_MESSAGE_LENGTH
) -> list[tuple[str, list[Span]]]:
    """``text`` in parts of at most ``limit`` UTF-16 units, each with the spans inside it.

    A part ends at the last paragraph, line, sentence or word break in its second half, else
    at the limit; the whitespace at a cut, and around the whole text, is dropped, as
    Telegram drops it. A span that crosses a cut continues in the next part.
    """
    parts: list[tuple[int, int]] = []
    start = len(text) - len(text.lstrip())
    text_end = len(text.rstrip())
    while utf16_len(text[start:text_end]) > limit:
        room = _fitting(text, start, limit)
        window = text[start : start + room]
        end = start + room
        for cut in _CUTS:
            at = window.rfind(cut)
            if at >= room // 2:
                end = start + at + (1 if cut == ". " else 0)
                break
        parts.append((start, len(text[:end].rstrip())))
        start = end
        while start < text_end and text[start].isspace():
            start += 1
    parts.append((start, text_end))
    result = []
    for begin, end in parts:
        inside = [
            Span(span.type, max(span.start, begin) - begin, min(span.end, end) - begin, span.extra)
            for span in spans
            if span.start < end and span.end > begin
        ]
        result.append((text[begin:end], sorted(inside, key=_order)))
    return [(part, inside) for part, inside in result if part]


def _parse(text: str) -> tuple[str, list[Span]]:
    """Markdown to plain text and spans: the earliest marker first, formats nest inside."""
    out: list[str] = []
    spans: list[Span] = []
    length = 0  # of the plain text so far, in code points
    position = 0
    while position < len(text):
        found = _next_markup(text, position)
        if found is None:
            break
        kind, match = found
        out.append(text[position : match.start()])
        length += match.start() - position
        if kind in _LITERAL:
            inner = match.group(2) if kind == "pre" else match.group(1)
            extra = (("language", match.group(1)),) if kind == "pre" and match.group(1) else ()
            out.append(inner)
            spans.append(Span(kind, length, length + len(inner), extra))
            length += len(inner)
        else:
            inner_text, inner_spans = _parse(match.group(1))
            extra = (("url", match.group(2)),) if kind == "text_link" else ()
            out.append(inner_text)
            spans.append(Span(kind, length, length + len(inner_text), extra))
            spans.extend(
                Span(s.type, s.start + length, s.end + length, s.extra) for s in inner_spans
            )
            length += len(inner_text)
        position = match.end()
    out.append(text[position:])
    return "".join(out), [span for span in spans if span.end > span.start]


def _next_markup(text: str, position: int) -> tuple[str, re.Match[str]] | None:
    best: tuple[str, re.Match[str]] | None = None
    for kind, pattern in _MARKUP:
        match = pattern.search(text, position)
        if match is not None and (best is None or match.start() < best[1].start()):
            best = (kind, match)
    return best


def _fitting(text: str, start: int, limit: int) -> int:
    """How many code points from ``start`` fit in ``limit`` UTF-16 units."""
    used = count = 0
    for char in text[start:]:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        count += 1
    return count


def _order(span: Span) -> tuple[int, int]:
    return (span.start, span.start - span.end)


def _entity(text: str, span: Span) -> Entity:
    offset = utf16_len(text[: span.start])
    entity: Entity = {
        "type": span.type,
        "offset": offset,
        "length": utf16_len(text[span.start : span.end]),
    }
    entity.update(span.extra)
    return entity


def _overlaps(text: str, entity: Entity, span: Span) -> bool:
    start, end = utf16_len(text[: span.start]), utf16_len(text[: span.end])
    return entity["offset"] < end and entity["offset"] + entity["length"] > start
