"""Settings read from the environment and an optional `.env` file.

`load_settings()` turns every problem into one readable line (`SettingsError`) that names the
setting and never echoes its value, so a mistyped token is not printed to a terminal or a log.
"""

import ipaddress
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LANGUAGES: tuple[str, ...] = ("en", "ru", "de", "fr", "es")
Language = Literal["en", "ru", "de", "fr", "es"]
CURRENCIES: tuple[str, ...] = ("usd", "eur", "gbp")
Currency = Literal["usd", "eur", "gbp"]
STRIPE_MAX_MAJOR_UNITS = Decimal("999999.99")
"""Stripe refuses amounts above 99,999,999 minor units."""

_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


_DEFAULT_PRESETS = (Decimal(10), Decimal(25), Decimal(50), Decimal(100))
MIN_WEBHOOK_SECRET = 32
"""Characters of WEBHOOK_SECRET: Telegram's only proof that a webhook call is Telegram's."""
HOW_TO_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
EMERGENCY_PLACEHOLDER = "replace with the emergency contacts"
"""The start of `.env.example`'s own value: a person in danger must never be sent it."""
MIN_EMERGENCY_LENGTH = 20
MAX_NOTE = 500
"""Characters of an operator's note (other ways to give, how to reach the organisers)."""
_REACHABLE = re.compile(
    r"\+?\d[\d\s().-]{5,}\d"  # a phone number: seven digits or more
    r"|https?://\S+|\bwww\.\S+|\b(?:t|telegram)\.me/\w+"  # a link
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|(?<![\w.])@[A-Za-z]\w{3,31}",  # a Telegram @handle
)
_URL_RE = re.compile(r"https?://[^\s/]+(/[^\s]*)?")


class SettingsError(Exception):
    """A setting is missing or invalid; the message is safe to print."""


class Settings(BaseSettings):
    """Everything the bot can be configured with; see `.env.example` for a commented list."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    database_path: Path = Path("data/appeal.sqlite3")
    telegram_api_url: str = "https://api.telegram.org"
    telegram_api_allow_http: bool = False
    """Plain http:// to a self-hosted Bot API server on a private network."""
    mode: Literal["polling", "webhook"] = "polling"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    default_language: Language = "en"
    emergency_contact_text: str = Field(min_length=1, max_length=1000)
    emergency_contact_text_en: str | None = Field(default=None, max_length=1000)
    emergency_contact_text_ru: str | None = Field(default=None, max_length=1000)
    emergency_contact_text_de: str | None = Field(default=None, max_length=1000)
    emergency_contact_text_fr: str | None = Field(default=None, max_length=1000)
    emergency_contact_text_es: str | None = Field(default=None, max_length=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # What the bot cannot know from the article: said only when the operator sets it.
    campaign_status: Literal["active", "closed"] = "active"
    """`closed`: the bot says the appeal has ended and hands out no new payment links."""
    organisers_contact: str | None = Field(default=None, max_length=MAX_NOTE)
    organisers_contact_en: str | None = Field(default=None, max_length=MAX_NOTE)
    organisers_contact_ru: str | None = Field(default=None, max_length=MAX_NOTE)
    organisers_contact_de: str | None = Field(default=None, max_length=MAX_NOTE)
    organisers_contact_fr: str | None = Field(default=None, max_length=MAX_NOTE)
    organisers_contact_es: str | None = Field(default=None, max_length=MAX_NOTE)
    other_ways_to_give: str | None = Field(default=None, max_length=MAX_NOTE)
    other_ways_to_give_en: str | None = Field(default=None, max_length=MAX_NOTE)
    other_ways_to_give_ru: str | None = Field(default=None, max_length=MAX_NOTE)
    other_ways_to_give_de: str | None = Field(default=None, max_length=MAX_NOTE)
    other_ways_to_give_fr: str | None = Field(default=None, max_length=MAX_NOTE)
    other_ways_to_give_es: str | None = Field(default=None, max_length=MAX_NOTE)
    stripe_receipts: bool = False
    """Whether the Stripe account e-mails donors a receipt (Dashboard: customer e-mails)."""
    russia_caution: bool = True
    """The calm line on risks for donors and sharers in Russia (`caution.*` in locales/)."""

    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    goal_amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    goal_currency: Currency = "usd"
    donation_presets_usd: Annotated[tuple[Decimal, ...], NoDecode] = _DEFAULT_PRESETS
    donation_presets_eur: Annotated[tuple[Decimal, ...], NoDecode] = _DEFAULT_PRESETS
    donation_presets_gbp: Annotated[tuple[Decimal, ...], NoDecode] = _DEFAULT_PRESETS
    max_donation: Decimal = Field(default=Decimal(10000), gt=0, le=STRIPE_MAX_MAJOR_UNITS)
    exchange_rates: Annotated[dict[str, Decimal], NoDecode] = {}
    donation_success_url: str | None = None
    donation_cancel_url: str | None = None
    donation_sessions_per_hour: int = Field(default=10, ge=1, le=1000)
    reconcile_interval: int = Field(default=600, ge=0)
    backup_retention_days: int = Field(default=0, ge=0, le=3650)
    """How long the operator keeps database backups; /privacy says so (0: no backups)."""

    send_rate: float = Field(default=29, gt=0, le=1000)
    broadcast_senders: int = Field(default=1, ge=1, le=16)
    milestone_news: bool = True
    milestone_step: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return value

    @field_validator(
        "emergency_contact_text",
        "emergency_contact_text_en",
        "emergency_contact_text_ru",
        "emergency_contact_text_de",
        "emergency_contact_text_fr",
        "emergency_contact_text_es",
    )
    @classmethod
    def _reachable_contact(cls, value: str | None) -> str | None:
        """Someone in danger is sent this text: it must say how to reach a person."""
        if value is None:
            return value
        if EMERGENCY_PLACEHOLDER in value.casefold():
            raise ValueError("still the placeholder from .env.example: put real contacts here")
        if len(value.strip()) < MIN_EMERGENCY_LENGTH:
            raise ValueError(f"shorter than {MIN_EMERGENCY_LENGTH} characters: give real contacts")
        if not _REACHABLE.search(value):
            raise ValueError("has no phone number, link, e-mail address or @handle to reach anyone")
        return value

    @field_validator(
        "organisers_contact",
        "organisers_contact_en",
        "organisers_contact_ru",
        "organisers_contact_de",
        "organisers_contact_fr",
        "organisers_contact_es",
    )
    @classmethod
    def _reachable_organisers(cls, value: str | None) -> str | None:
        if value is not None and not _REACHABLE.search(value):
            raise ValueError("has no link, e-mail address, @handle or phone number to write to")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"\d{1,20}", part) for part in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("telegram_api_url", "stripe_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not _URL_RE.fullmatch(value):
            raise ValueError("must be an http(s) URL such as https://api.example.com")
        return value.rstrip("/")

    @field_validator("donation_success_url", "donation_cancel_url")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        if value is not None and not _URL_RE.fullmatch(value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("goal_currency", mode="before")
    @classmethod
    def _lowercase_currency(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "donation_presets_usd", "donation_presets_eur", "donation_presets_gbp", mode="before"
    )
    @classmethod
    def _split_amounts(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not 1 <= len(parts) <= 6 or not all(re.fullmatch(r"\d{1,6}", p) for p in parts):
            raise ValueError("must be 1 to 6 comma-separated whole amounts, e.g. 10,25,50,100")
        return tuple(Decimal(part) for part in parts)

    @field_validator("exchange_rates", mode="before")
    @classmethod
    def _parse_rates(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        rates: dict[str, Decimal] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            match = re.fullmatch(r"(usd|eur|gbp)\s*=\s*(\d{1,6}(?:\.\d{1,8})?)", part.lower())
            if match is None or Decimal(match[2]) == 0:
                raise ValueError("must look like EUR=1.08,GBP=1.27 (units of GOAL_CURRENCY)")
            rates[match[1]] = Decimal(match[2])
        return rates

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("must be a public https:// URL (Telegram only calls https)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if value is not None and len(value.get_secret_value()) < MIN_WEBHOOK_SECRET:
            raise ValueError(
                f"shorter than {MIN_WEBHOOK_SECRET} characters; make one with {HOW_TO_MAKE_ONE}"
            )
        return value

    @model_validator(mode="after")
    def _encrypted_unless_local(self) -> "Settings":
        """The token and the Stripe key must not cross a network unencrypted."""
        if _plain_http_off_loopback(self.stripe_api_base):
            raise ValueError("STRIPE_API_BASE: http:// is allowed only on this machine (loopback)")
        if _plain_http_off_loopback(self.telegram_api_url) and not self.telegram_api_allow_http:
            raise ValueError(
                "TELEGRAM_API_URL: http:// off this machine sends the token unencrypted; use"
                " https://, or set TELEGRAM_API_ALLOW_HTTP=true for your own Bot API server"
                " on a private network"
            )
        return self

    @model_validator(mode="after")
    def _required_together(self) -> "Settings":
        if self.mode == "webhook":
            if self.webhook_url is None:
                raise ValueError("WEBHOOK_URL: required when MODE=webhook")
            if self.webhook_secret is None:
                raise ValueError("WEBHOOK_SECRET: required when MODE=webhook")
        if self.stripe_webhook_secret is not None and self.stripe_secret_key is None:
            raise ValueError("STRIPE_SECRET_KEY: required when STRIPE_WEBHOOK_SECRET is set")
        for currency in CURRENCIES:
            if max(self.presets(currency)) > self.max_donation:
                raise ValueError(f"DONATION_PRESETS_{currency.upper()}: above MAX_DONATION")
        return self

    @property
    def donations_enabled(self) -> bool:
        return self.stripe_secret_key is not None

    def presets(self, currency: str) -> tuple[Decimal, ...]:
        """Preset amounts offered for `currency`, in major units."""
        return getattr(self, f"donation_presets_{currency}")

    @property
    def bot_api_base_url(self) -> str:
        """Base that python-telegram-bot appends the token to: `{url}/bot{token}/{method}`."""
        return f"{self.telegram_api_url}/bot"

    @property
    def bot_api_file_url(self) -> str:
        return f"{self.telegram_api_url}/file/bot"

    def emergency_text(self, language: str) -> str:
        """The emergency contact text in `language` when one is configured, else the default."""
        return self.localized("emergency_contact_text", language) or self.emergency_contact_text

    def localized(self, name: str, language: str) -> str | None:
        """Setting `name` in `language` (`NAME_RU`...), else its default (`NAME`), else None."""
        return getattr(self, f"{name}_{language}", None) or getattr(self, name)


def _plain_http_off_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it could resolve anywhere
        return True


def _describe(error: dict) -> str:
    """One error as `SETTING: problem`, without the offending value."""
    name = "_".join(str(part) for part in error["loc"]).upper()
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required setting is missing"
    return f"{name}: {message}" if name else message


def load_settings(**overrides: object) -> Settings:
    """Read settings, raising `SettingsError` with one printable line on any problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(_describe(e) for e in error.errors(include_input=False))
        raise SettingsError(f"Configuration error: {problems}") from None
