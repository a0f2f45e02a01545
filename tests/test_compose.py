"""Reading an admin's post: language blocks, Telegram entities as HTML, and every refusal.

Every HTML string produced is checked with the suite's Telegram HTML parser, which answers
what Telegram would show: the block's plain text and the entities the admin wrote.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import MessageEntity

from playground.telegram.html import parse_html
from tgbot.broadcasts.compose import (
    ComposeError,
    ComposeProblem,
    parse_post,
    utf16_length,
    visible_length,
)
from tgbot.settings import LANGUAGES


def at(text: str, part: str, occurrence: int = 0) -> int:
    """The UTF-16 offset of `part` in `text` (its `occurrence`-th appearance)."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(part, index + 1)
    return utf16_length(text[:index])


def entity(kind: str, text: str, part: str, **fields: object) -> MessageEntity:
    """An entity covering the first `part` of `text`, with Telegram's UTF-16 offsets."""
    return MessageEntity(kind, at(text, part), utf16_length(part), **fields)


def spanning(kind: str, text: str, first: str, last: str) -> MessageEntity:
    """An entity from the start of `first` to the end of `last`."""
    start = at(text, first)
    return MessageEntity(kind, start, at(text, last) + utf16_length(last) - start)


def shown(telegram_html: str) -> tuple[str, set[tuple]]:
    """What Telegram shows for our HTML: plain text and entities as comparable tuples."""
    plain, entities = parse_html(telegram_html)
    return plain, {(e["type"], e["offset"], e["length"], e.get("url")) for e in entities}


# -- language blocks --------------------------------------------------------------------------


def test_untagged_text_is_the_default_language():
    assert parse_post("  Hello, world!\n\n", [], "ru") == {"ru": "Hello, world!"}
    assert parse_post("Line one\nline two", [], "en") == {"en": "Line one\nline two"}


@pytest.mark.parametrize(
    "text",
    [
        "[en] Hello\n[ru] Привет",
        "[EN] Hello\n[Ru] Привет",
        "  [en]  Hello  \n \t[ru]\tПривет\n",
        "[en]\nHello\n\n[ru]\n\nПривет",
        "\n\n  \n[en]Hello\n[ru]Привет",
    ],
)
def test_language_blocks(text):
    assert parse_post(text, [], "de") == {"en": "Hello", "ru": "Привет"}


def test_a_tag_counts_only_at_the_start_of_a_line():
    text = "[en] Read the [ru] version below\nand [de] this.\n[ru] Читайте"
    assert parse_post(text, [], "en") == {
        "en": "Read the [ru] version below\nand [de] this.",
        "ru": "Читайте",
    }


def test_blocks_keep_their_inner_lines_and_all_languages():
    text = "[fr] Bonjour\nà tous\n[es] Hola\n[de] Hallo\n[en] Hi\n[ru] Привет"
    posts = parse_post(text, [], "en")
    assert posts == {
        "fr": "Bonjour\nà tous",
        "es": "Hola",
        "de": "Hallo",
        "en": "Hi",
        "ru": "Привет",
    }
    assert set(posts) == set(LANGUAGES)


# -- entities ---------------------------------------------------------------------------------


def test_entities_become_html_with_utf16_offsets_after_astral_characters():
    # 🇺🇦 is two astral code points (4 UTF-16 units), 😀 one (2 units): Python indices and
    # Telegram offsets differ by 3 before "Help" and by 4 before "now".
    text = "[en] 🇺🇦 Help 😀 now\n[ru] Помогите 😀 сейчас"
    url = "https://example.org/news"
    entities = [
        entity("bold", text, "Help"),
        entity("italic", text, "now"),
        entity("text_link", text, "сейчас", url=url),
    ]
    assert at(text, "Help") != text.index("Help")
    posts = parse_post(text, entities, "en")
    assert posts == {
        "en": "🇺🇦 <b>Help</b> 😀 <i>now</i>",
        "ru": f'Помогите 😀 <a href="{url}">сейчас</a>',
    }
    assert shown(posts["en"]) == (
        "🇺🇦 Help 😀 now",
        {("bold", 5, 4, None), ("italic", 13, 3, None)},
    )
    assert shown(posts["ru"]) == ("Помогите 😀 сейчас", {("text_link", 12, 6, url)})


def test_an_entity_spanning_two_blocks_is_cut_at_the_block_edge():
    text = "[en] Hello world\n[ru] Привет мир"
    posts = parse_post(text, [spanning("bold", text, "world", "Привет")], "en")
    assert posts == {"en": "Hello <b>world</b>", "ru": "<b>Привет</b> мир"}
    assert shown(posts["en"]) == ("Hello world", {("bold", 6, 5, None)})
    assert shown(posts["ru"]) == ("Привет мир", {("bold", 0, 6, None)})


def test_an_entity_over_the_whole_message_formats_each_block_whole():
    text = "[en] 😀 one\n\n[ru] два 😀\n"
    whole = MessageEntity("italic", 0, utf16_length(text))
    posts = parse_post(text, [whole], "en")
    assert posts == {"en": "<i>😀 one</i>", "ru": "<i>два 😀</i>"}
    assert shown(posts["en"]) == ("😀 one", {("italic", 0, 6, None)})
    assert shown(posts["ru"]) == ("два 😀", {("italic", 0, 6, None)})


def test_nested_entities_stay_nested():
    text = "[en] Give 💶 today, please"
    entities = [
        spanning("bold", text, "Give", "today"),
        entity("italic", text, "today"),
        entity("text_link", text, "please", url="https://example.org/give"),
    ]
    posts = parse_post(text, entities, "en")
    assert posts == {
        "en": '<b>Give 💶 <i>today</i></b>, <a href="https://example.org/give">please</a>'
    }
    assert shown(posts["en"]) == (
        "Give 💶 today, please",
        {
            ("bold", 0, 13, None),
            ("italic", 8, 5, None),
            ("text_link", 15, 6, "https://example.org/give"),
        },
    )


def test_entities_on_a_tag_or_edge_whitespace_are_dropped():
    text = "[en] Hi  \n[ru]   Да"
    entities = [
        entity("bold", text, "[ru]"),  # only the tag
        MessageEntity("italic", at(text, "Hi") + 2, 2),  # only trailing spaces of "en"
        entity("underline", text, "   Да"),  # leading spaces and the word
    ]
    posts = parse_post(text, entities, "en")
    assert posts == {"en": "Hi", "ru": "<u>Да</u>"}
    assert shown(posts["ru"]) == ("Да", {("underline", 0, 2, None)})


def test_bot_commands_are_plain_text():
    text = "Send /donate to give"
    posts = parse_post(text, [entity("bot_command", text, "/donate")], "en")
    assert posts == {"en": "Send /donate to give"}


@pytest.mark.parametrize(
    ("text", "expected_html"),
    [
        ("1 < 2 > 0 & done", "1 &lt; 2 &gt; 0 &amp; done"),
        ("<b>not bold</b>", "&lt;b&gt;not bold&lt;/b&gt;"),
        ("Q&A &amp; &lt;", "Q&amp;A &amp;amp; &amp;lt;"),
    ],
)
def test_markup_characters_in_the_text_are_escaped(text, expected_html):
    posts = parse_post(text, [], "en")
    assert posts == {"en": expected_html}
    assert shown(posts["en"]) == (text, set())


def test_escaping_inside_an_entity_keeps_its_length():
    text = "[en] a <&> b"
    posts = parse_post(text, [entity("bold", text, "<&>")], "en")
    assert posts == {"en": "a <b>&lt;&amp;&gt;</b> b"}
    assert shown(posts["en"]) == ("a <&> b", {("bold", 2, 3, None)})


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/donate?amount=10&currency=eur",
        "https://example.org/search?sort=price&lt=100",  # "&lt" is an HTML reference
        "https://example.org/?q=fish&amp;chips",  # "&amp;" typed literally in the address
    ],
)
def test_a_link_keeps_its_exact_address(url):
    text = "[en] Donate here"
    posts = parse_post(text, [entity("text_link", text, "here", url=url)], "en")
    assert shown(posts["en"]) == ("Donate here", {("text_link", 7, 4, url)})


def test_a_code_block_keeps_its_language():
    text = "[en] Run:\nprint(1)"
    posts = parse_post(text, [entity("pre", text, "print(1)", language="python")], "en")
    _, entities = parse_html(posts["en"])
    assert entities == [{"type": "pre", "offset": 5, "length": 8, "language": "python"}]


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem", "language"),
    [
        ("Hello\n[en] Hi", ComposeProblem.TEXT_BEFORE_TAG, ""),
        ("Hi [en] there\n[ru] Привет\nx\n\n", ComposeProblem.TEXT_BEFORE_TAG, ""),
        ("[it] Ciao", ComposeProblem.UNKNOWN_LANGUAGE, "it"),
        ("[en] Hi\n[it] Ciao", ComposeProblem.UNKNOWN_LANGUAGE, "it"),
        ("[en] Hi\n[ru] Привет\n[EN] Again", ComposeProblem.REPEATED_LANGUAGE, "en"),
        ("[en]   \n[ru] Привет", ComposeProblem.EMPTY_BLOCK, "en"),
        ("[en] Hi\n[ru]\n  \t\n", ComposeProblem.EMPTY_BLOCK, "ru"),
        ("[en]", ComposeProblem.EMPTY_BLOCK, "en"),
        ("", ComposeProblem.EMPTY, ""),
        ("  \n\t \n", ComposeProblem.EMPTY, ""),
    ],
)
def test_refusals(text, problem, language):
    with pytest.raises(ComposeError) as refused:
        parse_post(text, [], "en")
    assert refused.value.problem is problem
    assert refused.value.language == language


def test_the_limit_is_counted_in_utf16_units():
    block = "😀" * 3  # 3 characters, 6 UTF-16 units
    text = f"[en] {block}\n[ru] ок"
    assert parse_post(text, [], "en", limit=6) == {"en": block, "ru": "ок"}
    with pytest.raises(ComposeError) as refused:
        parse_post(text, [], "en", limit=5)
    assert (refused.value.problem, refused.value.language) == (ComposeProblem.TOO_LONG, "en")


def test_the_limit_ignores_tags_edge_whitespace_and_markup():
    text = "[en]   <&>  \n[ru] " + "я" * 10
    bold = entity("bold", text, "<&>")
    assert parse_post(text, [bold], "en", limit=10)["en"] == "<b>&lt;&amp;&gt;</b>"
    with pytest.raises(ComposeError) as refused:
        parse_post(text, [bold], "en", limit=9)
    assert (refused.value.problem, refused.value.language) == (ComposeProblem.TOO_LONG, "ru")


def test_untagged_text_over_the_limit_names_the_default_language():
    with pytest.raises(ComposeError) as refused:
        parse_post("x" * 4097, [], "de")
    assert (refused.value.problem, refused.value.language) == (ComposeProblem.TOO_LONG, "de")
    assert parse_post("x" * 4096, [], "de") == {"de": "x" * 4096}


# -- visible length ---------------------------------------------------------------------------


def test_visible_length_of_produced_html_is_the_plain_length():
    text = "[en] 🇺🇦 a < b & c > d 😀\n[ru] «Ёлка» — 𝕏"
    entities = [
        entity("bold", text, "a < b"),
        entity("text_link", text, "d 😀", url="https://example.org/?a=1&b=2"),
        entity("italic", text, "«Ёлка»"),
    ]
    posts = parse_post(text, entities, "en")
    assert visible_length(posts["en"]) == utf16_length("🇺🇦 a < b & c > d 😀") == 21
    assert visible_length(posts["ru"]) == utf16_length("«Ёлка» — 𝕏") == 11
    for telegram_html in posts.values():
        assert visible_length(telegram_html) == utf16_length(shown(telegram_html)[0])


def test_visible_length_of_hand_written_html():
    assert visible_length("<b>a&amp;b</b> 😀") == 6
    assert visible_length('<a href="https://example.org">x</a>&lt;') == 2
    assert utf16_length("") == 0
    assert utf16_length("é𝕏") == 3


# -- property: any text and any valid entities -------------------------------------------------

_FORMATTING = ["bold", "italic", "underline", "strikethrough", "spoiler"]
_LEAVES = [*_FORMATTING, "code", "pre", "text_link", "url", "hashtag", "mention"]
_SHOWN = {*_FORMATTING, "code", "pre", "text_link"}
"""Entity types that survive as HTML; the others Telegram finds again in the plain text."""
_URLS = ["https://example.org/", "https://example.org/a?b=1&c=2", "tg://resolve?domain=x"]
_PIECES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(
        ["[en] ", "\n[ru]", "\n [RU] ", "[it] ", "\n[de]\n", "\n", " ", "😀", "🇺🇦", "<&>"]
    ),
)


@st.composite
def posts(draw: st.DrawFn) -> tuple[str, list[MessageEntity]]:
    """A message text and entities nested as Telegram delivers them, outer first."""
    start = draw(st.sampled_from(["", "[en] ", " [RU]\n", "[fr]"]))
    text = start + "".join(draw(st.lists(_PIECES, max_size=8)))
    bounds = sorted({utf16_length(text[:index]) for index in range(len(text) + 1)})
    cuts = sorted(draw(st.lists(st.sampled_from(bounds), unique=True, max_size=8)))
    entities: list[MessageEntity] = []
    if len(cuts) >= 2 and draw(st.booleans()):  # one entity around all the others
        entities.append(MessageEntity(draw(st.sampled_from(_FORMATTING)), 0, bounds[-1]))
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if draw(st.booleans()):  # a formatting entity with an inner one of the same span
            entities.append(MessageEntity(draw(st.sampled_from(_FORMATTING)), start, end - start))
        kind = draw(st.sampled_from(_LEAVES))
        url = draw(st.sampled_from(_URLS)) if kind == "text_link" else None
        entities.append(MessageEntity(kind, start, end - start, url=url))
    return text, entities


def styles(text: str, entities) -> list[set[tuple]]:
    """Per character of `text`, the shown entities (with their URL) covering it."""
    result: list[set[tuple]] = []
    offset = 0
    for char in text:
        result.append(
            {
                (e["type"], e.get("url"))
                for e in entities
                if e["type"] in _SHOWN and e["offset"] <= offset < e["offset"] + e["length"]
            }
        )
        offset += utf16_length(char)
    return result


def outcome(text, entities, default_language, limit) -> dict[str, str] | ComposeProblem:
    try:
        return parse_post(text, entities, default_language, limit=limit)
    except ComposeError as refused:
        return refused.problem


@settings(max_examples=300, deadline=None)
@given(posts(), st.sampled_from(LANGUAGES), st.just(4096) | st.integers(min_value=1, max_value=60))
def test_any_post_is_valid_telegram_html_or_a_clean_refusal(post, default_language, limit):
    text, entities = post
    result = outcome(text, entities, default_language, limit)
    if isinstance(result, ComposeProblem):
        return
    assert result
    assert set(result) <= set(LANGUAGES)
    given_styles = styles(text, [e.to_dict() for e in entities])
    for telegram_html in result.values():
        plain, shown_entities = parse_html(telegram_html)  # raises if Telegram would refuse
        assert plain
        assert plain == plain.strip()
        assert plain in text
        assert utf16_length(plain) <= limit
        assert visible_length(telegram_html) == utf16_length(plain)
        # The formatting shown is the formatting given, at one place the block occurs in text.
        wanted = styles(plain, shown_entities)
        places = [i for i in range(len(text)) if text.startswith(plain, i)]
        assert any(given_styles[i : i + len(plain)] == wanted for i in places)
