"""FAQ matching and the danger check against the hand-written case sets in tests/faq_cases/."""

import tomllib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tgbot.settings import LANGUAGES
from tgbot.text.faq import default_faq
from tgbot.text.i18n import load_toml
from tgbot.text.safety import Danger, default_safety_check

CASES = Path(__file__).parent / "faq_cases"
HELD_OUT = ("untouched", *(f"untouched{n}" for n in range(2, 10)))
"""Folders of tests/faq_cases/ written before a matcher change and never tuned on (see each
file's header): `untouched` before issue 12's first, `untouched2` before its second,
`untouched3` before its third, `untouched4` to `untouched7` before its fifth to eighth
(`untouched7` is French only), `untouched8` and `untouched9` (English only) before the
last French and English ones."""
MIN_ACCURACY = 0.97
TUNING = ("typed", *(f"typed{n}" for n in range(2, 22)))
"""More tuning sets of tests/faq_cases/: text-speak, other writers, question words and
negations, later rounds' fresh check sets and their helpers' own sets (see each file's header)."""
WRITTEN_FOR = {
    "typed3": ("ru", "de", "fr", "es"),
    "typed12": ("fr",),
    "typed13": ("fr",),
    "typed14": ("fr",),
    "typed15": ("fr",),
    "typed16": ("fr",),
    "typed17": ("en",),
    "typed18": ("fr",),
    "typed19": ("en",),
    "typed20": ("en",),
    "typed21": ("en",),
    "untouched9": ("en",),
    "untouched7": ("fr",),
}
"""Sets written for some languages only; the others are in every language."""
MIN_TUNING_ACCURACY = 0.95
MIN_HELD_OUT_ACCURACY = 0.90
"""A floor against regressions. Issue 12's target is 0.95; the figures reached are printed
at the end of every run (conftest) and reported on the issue."""
ACCURACY: dict[str, float] = {}
HELD_OUT_ACCURACY: dict[str, dict[str, float]] = {name: {} for name in HELD_OUT}
"""Filled by the tests below and printed in the terminal summary (see conftest)."""


def cases(language: str, folder: Path = CASES) -> dict:
    return tomllib.loads((folder / f"{language}.toml").read_text("utf-8"))


def accuracy(topics: dict[str, list[str]], language: str) -> tuple[float, list[tuple]]:
    results = [
        (question, expected, answered_topic(question, language))
        for expected, questions in topics.items()
        for question in questions
    ]
    misses = [(q, want, got) for q, want, got in results if want != got]
    return 1 - len(misses) / len(results), misses


def answered_topic(question: str, language: str) -> str:
    """The topic answered, or "none" for no answer or a small-talk reply (no topic's)."""
    found = default_faq().match(question, language)
    if found is None or found.topic in small_talk(language):
        return "none"
    return found.topic


def small_talk(language: str) -> set[str]:
    return {kind.id for kind in default_faq().bases[language].small_talk}


@pytest.mark.parametrize("language", LANGUAGES)
def test_faq_accuracy(language):
    """Each language's test questions (paraphrases, typos, odd case) reach the right topic."""
    topics = cases(language)["topics"]
    ACCURACY[language], misses = accuracy(topics, language)
    assert ACCURACY[language] >= MIN_ACCURACY, misses
    assert len(topics) == len(default_faq().topics(language)) + 1  # every topic, plus "none"


def sets_of(folders: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (language, folder) for folder in folders for language in WRITTEN_FOR.get(folder, LANGUAGES)
    ]


def test_every_case_set_is_checked():
    """A file added to a set, or missing from one, is noticed (see `WRITTEN_FOR`)."""
    present = {(path.stem, path.parent.name) for path in CASES.glob("*/*.toml")}
    assert present == set(sets_of(TUNING + HELD_OUT))


@pytest.mark.parametrize(("language", "folder"), sets_of(TUNING))
def test_faq_accuracy_on_the_other_tuning_sets(language, folder):
    """The typed-style sets tuning used stay where tuning left them, give or take a few
    phrasings."""
    share, misses = accuracy(cases(language, CASES / folder)["topics"], language)
    assert share >= MIN_TUNING_ACCURACY, misses


@pytest.mark.parametrize(("language", "held_out"), sets_of(HELD_OUT))
def test_faq_accuracy_on_the_held_out_sets(language, held_out):
    """Phrasings nobody tuned on: text-speak, typos, forms the examples lack. The misses are
    not printed, so that reading a failure does not turn into tuning on them."""
    topics = cases(language, CASES / held_out)["topics"]
    HELD_OUT_ACCURACY[held_out][language], misses = accuracy(topics, language)
    assert set(topics) == {t.id for t in default_faq().topics(language)} | {"none"}
    assert HELD_OUT_ACCURACY[held_out][language] >= MIN_HELD_OUT_ACCURACY, f"{len(misses)} misses"


@pytest.mark.parametrize("language", LANGUAGES)
def test_questions_are_understood_in_any_language(language):
    """Someone who chose English but writes in Russian still gets the right topic."""
    for expected, questions in cases(language)["topics"].items():
        if expected == "none":
            continue
        hits = sum(
            answered_topic(q, "en" if language != "en" else "ru") == expected for q in questions
        )
        assert hits >= len(questions) - 2, (language, expected)


@pytest.mark.parametrize(
    ("question", "language", "topic", "written_in"),
    [
        ("wher dose the mony go", "en", "money_use", "en"),
        ("wat r u spending the mony on", "en", "money_use", "en"),
        ("where does the money go", "ru", "money_use", "en"),
        ("кто организует этот сбор?", "de", "organizers", "ru"),
    ],
)
def test_the_persons_language_wins_unless_the_message_is_clearly_in_another(
    question, language, topic, written_in
):
    """A near-miss in a language the person did not write in must not win: another
    language's base answers only when more of the message's words are its own."""
    found = default_faq().match(question, language)
    assert (found.topic, found.language) == (topic, written_in)


@pytest.mark.parametrize(
    ("question", "language", "topic"),
    [
        ("who gets the money", "en", "organizers"),
        ("where does the money go", "en", "money_use"),
        ("what does a train ticket to berlin cost", "en", "none"),
        ("сколько стоит билет на самолет до сочи", "ru", "none"),
        ("supprimer mon compte tiktok", "fr", "none"),
        ("how do i share my screen on zoom", "en", "none"),
        ("wie viel uhr ist es", "de", "none"),
    ],
)
def test_question_words_and_look_alikes(question, language, topic):
    """Question words are cues, not stopwords; a question closer to an off-topic look-alike,
    or a short one whose heavy word the topic does not know, gets the fallback."""
    assert answered_topic(question, language) == topic


@pytest.mark.parametrize(
    ("question", "language", "topic"),
    [
        (
            "my sister sent me the link this morning and i have been thinking about it all day "
            "at work, i really want to do something, so how do i donate money to the appeal?",
            "en",
            "how_to_donate",
        ),
        (
            "je suis enseignante et je parle souvent de droits humains avec mes élèves, mais je "
            "ne connais pas bien votre projet ni les gens derrière : qui est à l'origine de "
            "cette collecte ?",
            "fr",
            "organizers",
        ),
    ],
)
def test_a_long_message_is_answered_on_its_question(question, language, topic):
    """The context around a question is not a mismatch (`QUESTION_WEIGHT_CAP`)."""
    assert answered_topic(question, language) == topic


@pytest.mark.parametrize(
    ("word", "language", "topic"),
    [
        ("spent", "en", "money_use"),
        ("subscribe", "en", "updates"),
        ("квитанция", "ru", "receipt"),
        ("steuer", "de", "tax"),
        ("bénévole", "fr", "volunteer"),
    ],
)
def test_the_topic_model_favours_the_topic_a_word_is_typical_of(word, language, topic):
    base = default_faq().bases[language]
    likelihoods = base.topic_likelihoods(set(base.content_stems(base.words_of([word]))))
    assert max(likelihoods, key=likelihoods.__getitem__) == topic
    assert sorted(likelihoods.values())[-2] < 1.0


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("How can I help?", "en"),
        ("как я могу помочь?", "ru"),
        ("wie kann ich helfen?", "de"),
        ("comment puis-je aider ?", "fr"),
        ("¿cómo puedo ayudar?", "es"),
    ],
)
def test_how_can_i_help_is_answered_with_giving_and_sharing(question, language):
    """The commonest message to an appeal: the donate answer, which also points to /share."""
    assert answered_topic(question, language) == "how_to_donate"
    assert "/share" in default_faq().topic(language, "how_to_donate").answer


SMALL_TALK_CASES = {
    "en": ("thank you so much", "hello there", "thanks! and how do i donate?"),
    "ru": ("спасибо большое", "здравствуйте", "спасибо, а как пожертвовать?"),
    "de": ("vielen dank", "hallo zusammen", "danke! und wie kann ich spenden?"),
    "fr": ("merci beaucoup", "bonjour à vous", "merci ! et comment faire un don ?"),
    "es": ("muchas gracias", "hola buenas", "gracias, ¿y cómo puedo donar?"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_thanks_and_greetings_get_their_own_reply_and_questions_keep_their_topic(language):
    """`thank you so much` got the cost answer (`much`); a question after thanks is still one."""
    thanks, greeting, question = SMALL_TALK_CASES[language]
    assert default_faq().match(thanks, language).topic == "thanks"
    assert default_faq().match(greeting, language).topic == "greeting"
    assert answered_topic(question, language) == "how_to_donate"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_example_is_given_twice(language):
    """An example listed twice weighs double, and one under two topics contradicts itself."""
    data = load_toml(language, "faq")
    lists = [
        *(topic["questions"] for topic in data["topics"].values()),
        *(kind["questions"] for kind in data.get("small_talk", {}).values()),
        data["off_topic"]["questions"],
    ]
    examples = [question.casefold() for questions in lists for question in questions]
    assert sorted(q for q, n in Counter(examples).items() if n > 1) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_index_finds_every_example_sharing_a_stem(language):
    """`best()` only scores examples from the inverted index: it must list each exactly."""
    base = default_faq().bases[language]
    for position, (_, example) in enumerate(base.examples):
        assert all(position in base.with_term[term] for term in example)
    assert sum(map(len, base.with_term.values())) == sum(len(e) for _, e in base.examples)


@pytest.mark.parametrize("language", LANGUAGES)
def test_danger_messages_are_recognized(language):
    """The older phrasings kept here too: danger gets the contact, the rest no clear alarm."""
    safety = default_safety_check()
    for message in cases(language)["safety"]["danger"]:
        assert safety.is_danger(message), message
    for message in cases(language)["safety"]["not_danger"]:
        assert safety.assess(message) is not Danger.CLEAR, message


@given(st.text(max_size=600))
def test_any_text_gets_a_topic_or_none(text):
    found = default_faq().match(text, "ru")
    base = default_faq().bases["ru"]
    assert found is None or found.topic in {t.id for t in [*base.topics, *base.small_talk]}
    assert default_safety_check().is_danger(text) in (True, False)
