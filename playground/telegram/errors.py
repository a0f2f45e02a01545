"""Telegram's error answers: :class:`BotAPIError` and the wording of their descriptions.

Also home of what every module of the emulator shares: the ``JSONDict`` alias and
:func:`_names`.
"""

from __future__ import annotations

from typing import Any

JSONDict = dict[str, Any]


def _names(words: str) -> tuple[str, ...]:
    """Split a whitespace-separated list of identifiers (keeps long constant lists compact)."""
    return tuple(words.split())


class BotAPIError(Exception):
    """An error answer. ``violation`` is false for faults the test asked for."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        violation: bool = True,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.violation = violation

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> BotAPIError:
    return BotAPIError(403, f"Forbidden: {detail}", violation=False)


def too_many_requests(retry_after: int) -> BotAPIError:
    return BotAPIError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        retry_after=retry_after,
        violation=False,
    )


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return (
            f"Too Many Requests: retry after {retry_after}" if retry_after else "Too Many Requests"
        )
    defaults = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return defaults.get(status, f"Error {status}")
