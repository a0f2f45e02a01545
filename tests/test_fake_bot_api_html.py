"""The fake Bot API's HTML validator: Telegram's tags and entities, and its refusals."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playground.telegram.html import TelegramHTMLError, parse_html, utf16_len


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("plain", "plain", []),
        ("<b>b</b><strong>s</strong>", "bs", [("bold", 0, 1), ("bold", 1, 1)]),
        (
            "<i>i</i><em>e</em><u>u</u><ins>n</ins>",
            "ieun",
            [("italic", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("underline", 3, 1)],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<b>bold <i>both</i></b>", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
        ('<a href="tg://user?id=42">Ann</a>', "Ann", [("text_mention", 0, 3)]),
        ('<a href="javascript:alert(1)">x</a>', "x", []),  # Telegram drops the link
        ("<code>c</code>", "c", [("code", 0, 1)]),
        ('<pre><code class="language-python">p</code></pre>', "p", [("pre", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
        ("&lt;b&gt; &amp; &quot; &#39; &#x1F600;", "<b> & \" ' 😀", []),
        ("Q&A & more &", "Q&A & more &", []),
        ("😀<b>😀</b>", "😀😀", [("bold", 2, 2)]),
        ("<B>upper</B>", "upper", [("bold", 0, 5)]),
    ],
)
def test_parse_html_accepts_telegram_html(
    source: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed_text, parsed_entities = parse_html(source)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed_entities] == entities


def test_parse_html_entity_details() -> None:
    _, (pre,) = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre == {"type": "pre", "offset": 0, "length": 5, "language": "python"}
    _, (link,) = parse_html('<a href="https://example.org/?a=1&amp;b=2">x</a>')
    assert link["url"] == "https://example.org/?a=1&b=2"
    _, (mention,) = parse_html('<a href="tg://user?id=42">Ann</a>')
    assert mention["user"]["id"] == 42


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>x</b>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"'),
        ("ж<b>x</i>", 'Unmatched end tag at byte offset 6, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x"', "Unclosed start tag at byte offset 0"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b foo>x</b>", 'Expected equal sign in declaration of an attribute of the tag "b" at'),
        ("a &nbsp; b", "Can't find end of the entity starting at byte offset 2"),
        ("&#0;", "Can't find end of the entity starting at byte offset 0"),
        ('<tg-emoji emoji-id="x">e</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(source: str, detail: str) -> None:
    with pytest.raises(TelegramHTMLError) as error:
        parse_html(source)
    assert error.value.detail.startswith(detail)


@given(st.text(st.characters(codec="utf-8")))
def test_escaped_text_is_valid_html_and_round_trips(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])
    assert parse_html(html.escape(text, quote=False)) == (text, [])
    plain, entities = parse_html(f"<b>{html.escape(text)}</b>")
    assert plain == text
    expected = [{"type": "bold", "offset": 0, "length": utf16_len(text)}] if text else []
    assert entities == expected


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert [utf16_len(s) for s in ("", "abc", "é", "😀", "a😀b")] == [0, 3, 1, 2, 4]
