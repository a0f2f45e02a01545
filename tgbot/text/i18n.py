"""Localized text: catalogs loaded from `locales/<lang>/*.toml`, rendered as Telegram HTML.

A catalog maps dotted keys (`start.greeting`) to strings with `{name}` placeholders. Every
argument is HTML-escaped unless it is wrapped in `Html`; numbers are formatted for the
language with Babel, and a table of plural categories (`one`, `few`, `other`, ...) is chosen by
Babel's plural rules for the `count` argument. `Money` arguments are formatted as currency.
"""

import html
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent

from tgbot.payments.money import Money
from tgbot.settings import LANGUAGES

PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})
CATALOG_FILES = ("messages",)

Message = str | dict[str, str]


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""


def load_toml(language: str, name: str) -> dict[str, Any]:
    """One locale file as parsed TOML (`locales/<language>/<name>.toml`)."""
    return tomllib.loads(files("locales").joinpath(language, f"{name}.toml").read_text("utf-8"))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Message]:
    flat: dict[str, Message] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and "other" in value and set(value) <= PLURAL_CATEGORIES:
            flat[dotted] = value
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{dotted}."))
        elif isinstance(value, str):
            flat[dotted] = value
    return flat


@cache
def catalog(language: str) -> dict[str, Message]:
    """All messages of one language, by dotted key."""
    flat: dict[str, Message] = {}
    for name in CATALOG_FILES:
        flat.update(_flatten(load_toml(language, name)))
    return flat


def placeholders(template: str) -> set[str]:
    """The `{name}` fields a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@dataclass(frozen=True, slots=True)
class Texts:
    """The messages of one language, ready to render."""

    language: str

    def __call__(self, key: str, /, **params: Any) -> str:
        message = catalog(self.language)[key]
        if isinstance(message, dict):
            form = Locale.parse(self.language).plural_form(params["count"])
            message = message.get(form, message["other"])
        return message.format(**{name: self._render(value) for name, value in params.items()})

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.language)

    def money(self, value: Money) -> str:
        return format_currency(value.major, value.currency.upper(), locale=self.language)

    def percent(self, share: Decimal, digits: int = 0) -> str:
        """`share` (0.25) as a percentage (25%) with up to `digits` decimals."""
        return format_percent(share, f"#,##0.{'#' * digits}%", locale=self.language)

    def duration(self, seconds: float) -> str:
        """A rough length of time: "3 minutes", "2 hours"."""
        return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=self.language)

    def moment(self, timestamp: int) -> str:
        """A date and time in UTC, short form."""
        when = datetime.fromtimestamp(timestamp, UTC)
        return f"{format_datetime(when, 'short', tzinfo=UTC, locale=self.language)} UTC"

    def _render(self, value: Any) -> str:
        if isinstance(value, Html):
            return value
        if isinstance(value, Money):
            return html.escape(self.money(value))
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return self.number(value)
        return html.escape(str(value))


def texts(language: str) -> Texts:
    """Texts for a supported language; anything else is a programming error."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    return Texts(language)


def supported_language(code: str | None) -> str | None:
    """Map a Telegram `language_code` (`ru`, `de-AT`, `pt-br`) to one of ours, if any."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None
