"""Whether an inline button's label fits on one line on a phone, by a real font's metrics.

Counting characters is not enough: "💛 Пожертвовать" has 14 and still wraps mid-word in a
two-per-row keyboard, while many 20-letter Latin labels fit. This measures each label with
DejaVu Sans (Debian's `fonts-dejavu-core`), which is a little wider than the Roboto and San
Francisco faces Telegram's apps draw buttons in, so a label that fits here fits there.

The geometry is that of a 360 px-wide phone, the narrowest still common: a keyboard under a
message spans about 300 px, buttons are 4 px apart and keep 8 px of padding on each side, and
labels are drawn at 15 px. Emoji come from a colour font DejaVu lacks; they count 1.3 em.
"""

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_SIZE = 15
KEYBOARD_WIDTH = 300
GAP = 4
PADDING = 8
EMOJI_WIDTH = 1.3 * FONT_SIZE
VARIATION_SELECTOR = "\ufe0f"
"""Asks for an emoji's colour form; it takes no room of its own."""


@dataclass(frozen=True, slots=True)
class Overflow:
    label: str
    width: float
    room: float
    per_row: int

    def __str__(self) -> str:
        return (
            f"{self.label!r} is {self.width:.0f} px wide; a button {self.per_row} to a row "
            f"has room for {self.room:.0f} px"
        )


@cache
def _font() -> ImageFont.FreeTypeFont:
    if not FONT.exists():
        raise FileNotFoundError(
            f"{FONT} is missing: install Debian's fonts-dejavu-core (.ci/run does)"
        )
    return ImageFont.truetype(str(FONT), FONT_SIZE)


def _emoji_positions(label: str) -> set[int]:
    """Where the emoji are: pictographs, and any symbol asked for in colour (U+FE0F)."""
    return {
        i
        for i, char in enumerate(label)
        if ord(char) >= 0x1F000
        or (ord(char) >= 0x2000 and unicodedata.category(char) == "So")
        or label[i + 1 : i + 2] == VARIATION_SELECTOR
    }


def label_width(label: str) -> float:
    """The label's width in px as a phone draws it (emoji counted apart from the text)."""
    emoji = _emoji_positions(label)
    text = "".join(c for i, c in enumerate(label) if i not in emoji and c != VARIATION_SELECTOR)
    return _font().getlength(text) + len(emoji) * EMOJI_WIDTH


def room(per_row: int) -> float:
    """Width in px a label has in a button that shares its row with `per_row - 1` others."""
    return (KEYBOARD_WIDTH - GAP * (per_row - 1)) / per_row - 2 * PADDING


def overflows(keyboard: Iterable[Sequence[str]]) -> list[Overflow]:
    """The labels of `keyboard` (rows of labels) that would wrap or be cut on a phone."""
    found = []
    for row in keyboard:
        space = room(len(row))
        for label in row:
            width = label_width(label)
            if width > space:
                found.append(Overflow(label, width, space, len(row)))
    return found


def labels(markup: object) -> list[list[str]]:
    """The rows of labels of a Bot API `reply_markup` (an inline keyboard), else none."""
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard", [])
    return [[button.get("text", "") for button in row] for row in rows]
