"""Answering free-text questions from the per-language knowledge bases in `locales/`.

Each topic has example questions. A question is reduced to content stems (text-speak spelled
out, accents people left out put back, stopwords dropped, see `textmatch`) and compared with
every example by an IDF-weighted Dice overlap, where a stem counts as shared when the
`Vocabulary` maps it to one of the example's (typos, word forms). IDF is computed over topics,
so words that many topics use weigh little. Question words and negation are kept as weak
cues. Each base also has off-topic examples, look-alikes of its questions: a question closest
to them gets no answer, as does one that a short question's heavy words are unknown to. A
naive Bayes model of each topic's words over all its examples tempers the example scores, and
a long message is compared on about as much weight as a short question carries.

People do not always write in the language they chose, so the question is scored against
every language's base; the topic ids are shared, so the answer is given in the person's own
language. Another language's base may answer only when the message is clearly written in it:
more of its words are that language's own than the person's language's. Otherwise a
near-miss there (a misspelled English word that looks like a Russian example's) would win.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from tgbot.settings import LANGUAGES
from tgbot.text.i18n import load_toml
from tgbot.text.textmatch import Vocabulary, learn, stem, stems, unaccented, words

MIN_SCORE = 0.30
"""Below this the question gets the fallback with the topic buttons (tuned on tests/faq_cases)."""
OWN_LANGUAGE_BONUS = 0.05
"""Breaks near-ties between the person's language and the one the message is written in."""
TIE_BREAK_EXAMPLES = 3
TIE_BREAK_SHARE = 0.25
CUE_WEIGHT = 0.3
"""Question words and negation (`who`, `not`) tell topics apart (`who gets the money` is about
the organisers, `where does the money go` about its use) but must not outweigh a content word."""
OFF_TOPIC = "off_topic"
"""The negative class: its examples are look-alikes of the topics' questions (`how much is a
flight`, `delete my instagram account`); a question closest to them gets no answer."""
SMALL_TALK = "small_talk"
"""Kinds of message that are not questions (`thanks`, `hello`): each gets a short reply of its
own instead of the fallback, and has no button. They are told by all their words, stopwords
included (`SMALL_TALK_OVERLAP`), not by content words: `thanks for the info` must not make
`info` a word of thanks."""
SHORT_QUESTION_TERMS = 3
COVERAGE_FLOOR = 0.6
"""A short question has no room for filler: each heavy word is what it asks about. A topic's
score is scaled from this floor (none of the question's weight known to the topic) up to 1
(all of it), so `how do i share my screen on zoom` does not reach `share` on `share` alone."""
QUESTION_WEIGHT_CAP = 8.0
"""A long message is compared as if it were a question of about three heavy words: the words
around the question (`i gave last month and since then…`) are context, not a mismatch, and
would otherwise push every example's score under `MIN_SCORE`."""
TOPIC_MODEL_SHARE = 0.3
"""How much the topic model (`KnowledgeBase.topic_likelihoods`) can lower a topic's score.
Examples are matched one by one; the model weighs each word by how typical it is of each topic
across all its examples, so `what does my 50 bucks buy` leans to the topic where `buy` is
typical rather than to the one whose single example shares the most weight."""
SMOOTHING = 0.5
"""Added to every count of the topic model, so a word a topic's examples never use makes it
unlikely, not impossible."""
SMALL_TALK_OVERLAP = 0.66
"""A message is small talk when it and a small-talk example share most of their words (`hi
there` and `hi`), and that overlap is at least the best topic's score: `thank you so much` is
thanks although `much` reaches `cost`, `thanks, and how do i donate?` is a question."""
MAX_QUESTION_WORDS = 60
"""Long messages are judged by their first words: no question needs more, and it bounds the
work a hostile 4096-character message can cause."""


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    button: str | None
    """None for small talk, which is only ever a reply."""
    answer: str
    follow_up: str | None = None
    """A feature to run after the answer (`progress`, `donate`): live figures, buttons."""


@dataclass(frozen=True, slots=True)
class Match:
    topic: str
    score: float
    language: str


class KnowledgeBase:
    """One language's topics and the index of their example questions."""

    def __init__(self, language: str) -> None:
        data = load_toml(language, "faq")
        self.language = language
        self.variants: dict[str, str] = data.get("variants", {})
        off_topic = data.get(OFF_TOPIC, {}).get("questions", [])
        small_talk: dict[str, dict] = data.get(SMALL_TALK, {})
        questions = [q for topic in data["topics"].values() for q in topic["questions"]]
        chat = [q for kind in small_talk.values() for q in kind["questions"]]
        cues = data.get("cues", [])
        spelled = [*questions, *chat, *off_topic, *data["stopwords"], *cues]
        learn([*spelled, *self.variants.values()], language)
        self.own_words = frozenset(words(" ".join([*questions, *data["stopwords"]])))
        """Words this language's examples use: the evidence that a message is written in it."""
        self.accented = {unaccented(word): word for word in self.own_words}
        """Own words by their unaccented spelling, as people often type them (`ou` for `où`)."""
        # A word sharing no letter with the examples is unknown whatever its stem: not stemmed.
        self.letters = frozenset("".join(self.own_words))
        self.cues = frozenset(s for word in cues for s in stems(word, language))
        """Stems of question words and negation: kept, but weighing `CUE_WEIGHT` of their IDF."""
        self.stopwords = (
            frozenset(s for word in data["stopwords"] for s in stems(word, language)) - self.cues
        )
        self.topics = [
            Topic(topic_id, topic["button"], topic["answer"], topic.get("follow_up"))
            for topic_id, topic in data["topics"].items()
        ]
        self.small_talk = [Topic(kind, None, reply["answer"]) for kind, reply in small_talk.items()]
        self.examples = [
            (class_id, frozenset(self.content_stems(self.words_of(words(question)))))
            for class_id, questions_of_class in [
                *((topic_id, topic["questions"]) for topic_id, topic in data["topics"].items()),
                (OFF_TOPIC, off_topic),
            ]
            for question in questions_of_class
        ]
        self.small_talk_phrases = [
            (kind, frozenset(self.stems_of(self.words_of(words(question)))))
            for kind, reply in small_talk.items()
            for question in reply["questions"]
        ]
        """Small-talk examples as all their stems, stopwords included."""
        self.phrases_with: dict[str, list[int]] = {}
        for position, (_, phrase) in enumerate(self.small_talk_phrases):
            for term in phrase:
                self.phrases_with.setdefault(term, []).append(position)
        self.idf = self._topic_idf()
        self.vocabulary = Vocabulary(self.idf)
        self._unknown_weight = max(self.idf.values(), default=1.0)
        self.topic_terms: dict[str, set[str]] = {}
        """Every stem a topic's examples use: what it knows about (see `COVERAGE_FLOOR`)."""
        self.with_term: dict[str, list[int]] = {}
        """Inverted index: the examples (positions in `examples`) using each stem, so that a
        question is compared only with the examples it shares a stem with."""
        for position, (topic_id, example) in enumerate(self.examples):
            self.topic_terms.setdefault(topic_id, set()).update(example)
            for term in example:
                self.with_term.setdefault(term, []).append(position)
        self.example_weights = [
            sum(self._weight(term) for term in example) for _, example in self.examples
        ]
        self._log_likelihood, self._log_unseen = self._topic_model()

    def words_of(self, typed: list[str]) -> list[str]:
        """Normalized words as the examples would spell them: text-speak spelled out (`ppl` →
        `people`), accents put back (`ou` → `où`)."""
        found = []
        for word in typed:
            if word in self.variants:
                found += words(self.variants[word])
            elif word not in self.own_words:
                found.append(self.accented.get(unaccented(word), word))
            else:
                found.append(word)
        return found

    def evidence(self, spelled: list[str]) -> int:
        """How many of the question's words (from `words_of`) this language's examples use."""
        return sum(word in self.own_words for word in spelled)

    def stems_of(self, spelled: list[str]) -> list[str]:
        return [
            word if self.letters.isdisjoint(word) else stem(word, self.language) for word in spelled
        ]

    def content_stems(self, spelled: list[str]) -> list[str]:
        return [term for term in self.stems_of(spelled) if term not in self.stopwords]

    def _topic_idf(self) -> dict[str, float]:
        topics_with: dict[str, set[str]] = {}
        for topic_id, example in self.examples:
            for term in example:
                topics_with.setdefault(term, set()).add(topic_id)
        count = len(self.topics)
        return {term: math.log(1 + count / len(ids)) for term, ids in topics_with.items()}

    def _topic_model(self) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
        """Multinomial naive Bayes over the examples' stems, smoothed: per topic, the log
        likelihood of each stem its examples use, and of one they never use."""
        counts: dict[str, dict[str, int]] = {}
        for topic_id, example in self.examples:
            of_topic = counts.setdefault(topic_id, {})
            for term in example:
                of_topic[term] = of_topic.get(term, 0) + 1
        known = len(self.idf)
        likelihood, unseen = {}, {}
        for topic_id, of_topic in counts.items():
            total = math.log(sum(of_topic.values()) + SMOOTHING * known)
            likelihood[topic_id] = {
                term: math.log(count + SMOOTHING) - total for term, count in of_topic.items()
            }
            unseen[topic_id] = math.log(SMOOTHING) - total
        return likelihood, unseen

    def topic_likelihoods(self, question: set[str]) -> dict[str, float]:
        """Each topic's likelihood of the question's known stems, relative to the likeliest
        topic's (which gets 1)."""
        known = [term for term in question if term in self.idf]
        logs = {
            topic_id: sum(of_topic.get(term, self._log_unseen[topic_id]) for term in known)
            for topic_id, of_topic in self._log_likelihood.items()
        }
        top = max(logs.values())
        return {topic_id: math.exp(log - top) for topic_id, log in logs.items()}

    def _weight(self, term: str) -> float:
        weight = self.idf.get(term, self._unknown_weight)
        return weight * CUE_WEIGHT if term in self.cues else weight

    def best(self, spelled: list[str]) -> Match | None:
        """The best topic or kind of small talk for a question's words, as `words_of` spells
        them (see `SMALL_TALK_OVERLAP`)."""
        said = self.stems_of(spelled)
        content = {term for term in said if term not in self.stopwords}
        found = self._best_topic(content)
        chat = self._small_talk(set(said), content)
        if chat is not None and (found is None or chat.score >= found.score):
            return chat
        return found

    def _best_topic(self, content: set[str]) -> Match | None:
        question = {self.vocabulary.resolve(term) for term in content}
        if not question:
            return None
        question_weight = sum(self._weight(term) for term in question)
        compared_weight = min(question_weight, QUESTION_WEIGHT_CAP)
        sharing = sorted({p for term in question for p in self.with_term.get(term, ())})
        by_topic: dict[str, list[float]] = {}
        for position in sharing:
            topic_id, example = self.examples[position]
            shared = sum(self._weight(term) for term in question & example)
            if shared:
                score = min(1.0, 2 * shared / (compared_weight + self.example_weights[position]))
                by_topic.setdefault(topic_id, []).append(score)
        if not by_topic:
            return None
        likelihood = self.topic_likelihoods(question)
        scored = (
            (
                topic,
                _topic_score(scores)
                * self._coverage(question, topic, question_weight)
                * (1 - TOPIC_MODEL_SHARE + TOPIC_MODEL_SHARE * likelihood[topic]),
            )
            for topic, scores in by_topic.items()
        )
        topic_id, score = max(scored, key=lambda pair: pair[1])
        return Match(topic_id, score, self.language)

    def _small_talk(self, said: set[str], content: set[str]) -> Match | None:
        """The kind of small talk most of whose words a message shares, stopwords included.
        Every content word of the message must be the example's: `you are the best` is not
        `are you near the goal`."""
        sharing = {p for term in said for p in self.phrases_with.get(term, ())}
        phrases = (self.small_talk_phrases[p] for p in sharing)
        overlaps = (
            (2 * len(said & phrase) / (len(said) + len(phrase)), kind)
            for kind, phrase in phrases
            if content <= phrase
        )
        overlap, kind = max(overlaps, default=(0.0, ""))
        return Match(kind, overlap, self.language) if overlap >= SMALL_TALK_OVERLAP else None

    def _coverage(self, question: set[str], topic_id: str, question_weight: float) -> float:
        """The factor for a short question's weight that `topic_id` does not know."""
        if len(question) > SHORT_QUESTION_TERMS:
            return 1.0
        known = self.topic_terms[topic_id]
        covered = sum(self._weight(term) for term in question if term in known)
        return COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * covered / question_weight


def _topic_score(example_scores: list[float]) -> float:
    """Mostly the best example's score; a topic with several close examples wins a tie."""
    top = sorted(example_scores, reverse=True)[:TIE_BREAK_EXAMPLES]
    return (1 - TIE_BREAK_SHARE) * top[0] + TIE_BREAK_SHARE * sum(top) / TIE_BREAK_EXAMPLES


class Faq:
    """All knowledge bases; `answer_topic()` finds the topic a question is about."""

    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        self.bases = {language: KnowledgeBase(language) for language in languages}

    def match(self, text: str, language: str) -> Match | None:
        """The best topic above `MIN_SCORE`, preferring the user's own language on a tie.

        Another language's base takes part only when more of the message's words are its own.
        """
        typed = words(text)[:MAX_QUESTION_WORDS]
        spelled = {code: base.words_of(typed) for code, base in self.bases.items()}
        own = self.bases[language].evidence(spelled[language]) if language in self.bases else 0
        candidates = []
        for code, base in self.bases.items():
            if code != language and base.evidence(spelled[code]) <= own:
                continue
            found = base.best(spelled[code])
            if found is not None:
                bonus = OWN_LANGUAGE_BONUS if found.language == language else 0.0
                candidates.append((found.score + bonus, found))
        if not candidates:
            return None
        _, found = max(candidates, key=lambda pair: pair[0])
        return found if found.score >= MIN_SCORE and found.topic != OFF_TOPIC else None

    def topics(self, language: str) -> list[Topic]:
        """The topics people can ask about, each with its button (small talk is not one)."""
        return self.bases[language].topics

    def topic(self, language: str, topic_id: str) -> Topic | None:
        """A topic or a kind of small talk, by id."""
        base = self.bases[language]
        return next((t for t in [*base.topics, *base.small_talk] if t.id == topic_id), None)


@cache
def default_faq() -> Faq:
    """The knowledge bases of all supported languages, loaded once per process."""
    return Faq()
