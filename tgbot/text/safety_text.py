"""Preparing a message for the danger check: normalized words, and Latin read as Russian.

Shared by the lexicons (`safety`) and the n-gram model (`safety_model`), so both see the
same words. Many write Russian in Latin letters ("menya ub'yut"); such words are
also read through a transliteration table, twice when a `j` may stand for ж ("muj").
"""

import re

from tgbot.text.textmatch import normalize

# Transliterated Russian, longest spellings first («shch» before «sh» before «s»).
_LATIN_TO_CYRILLIC = {
    "shch": "щ", "sch": "щ", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш",
    "yu": "ю", "ju": "ю", "iu": "ю", "ya": "я", "ja": "я", "ia": "я", "yo": "е", "jo": "е",
    "ye": "е", "je": "е",
    "'": "ь", "’": "ь", "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з",
    "i": "и", "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р",
    "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "c": "ц", "y": "ы", "w": "ш", "x": "х",
    "q": "к", "ž": "ж", "š": "ш", "č": "ч",
}  # fmt: skip
_J_AS_ZH = {**_LATIN_TO_CYRILLIC, "j": "ж"}
"""A second reading: many write ж as j (muj, zaderjali, jizn')."""
_LATIN = re.compile("|".join(sorted(map(re.escape, _LATIN_TO_CYRILLIC), key=len, reverse=True)))
_WORD = re.compile(r"[^\W_]+")
_STRETCHED = re.compile(r"(.)\1{2,}")
"""A letter typed three times or more ("helppp", "помогитеее") is read as typed twice."""
_LATIN_WORD = re.compile(r"[a-zžšč]+(?:['’][a-zžšč]+)*")
_LONE_J = re.compile(r"j(?![aueo])")
_Y_AFTER_VOWEL = re.compile("(?<=[аеиоуыэюя])ы")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _transliterated(text: str, table: dict[str, str]) -> list[str]:
    """The words of `text` with Latin-letter words read as Russian."""

    def cyrillic(word: re.Match[str]) -> str:
        return _LATIN.sub(lambda letters: table[letters[0]], word[0])

    return words(_Y_AFTER_VOWEL.sub("й", _LATIN_WORD.sub(cyrillic, text)))


def readings(text: str) -> list[list[str]]:
    """Transliterated readings of `text`: none without Latin words, two when `j` may be ж."""
    if not _LATIN_WORD.search(text):
        return []
    readings = [_transliterated(text, _LATIN_TO_CYRILLIC)]
    if _LONE_J.search(text):
        readings.append(_transliterated(text, _J_AS_ZH))
    return readings


def prepared(text: str) -> str:
    """Normalized text with stretched letters shortened; a command's own name dropped."""
    text = _STRETCHED.sub(r"\1\1", normalize(text))
    if text.startswith("/"):  # a command's name ("/help") is no call for help
        text = text.partition(" ")[2]
    return text
