"""Settings read from the environment and an optional `.env` file.

`load_settings()` turns every problem into one readable line (`SettingsError`) that names the
setting and never echoes its value, so a mistyped token is not printed to a terminal or a log.
"""

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LANGUAGES: tuple[str, ...] = ("en", "ru", "de", "fr", "es")
Language = Literal["en", "ru", "de", "fr", "es"]

_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
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

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

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
        return value

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> "Settings":
        if self.mode == "webhook":
            if self.webhook_url is None:
                raise ValueError("WEBHOOK_URL: required when MODE=webhook")
            if self.webhook_secret is None:
                raise ValueError("WEBHOOK_SECRET: required when MODE=webhook")
        return self

    @property
    def bot_api_base_url(self) -> str:
        """Base that python-telegram-bot appends the token to: `{url}/bot{token}/{method}`."""
        return f"{self.telegram_api_url}/bot"

    @property
    def bot_api_file_url(self) -> str:
        return f"{self.telegram_api_url}/file/bot"

    def emergency_text(self, language: str) -> str:
        """The emergency contact text in `language` when one is configured, else the default."""
        localized: str | None = getattr(self, f"emergency_contact_text_{language}", None)
        return localized or self.emergency_contact_text


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
