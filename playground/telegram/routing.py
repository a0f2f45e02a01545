"""The HTTP layer of :class:`FakeBotAPI`: routing, request decoding and method dispatch.

The Starlette app, the decoding of each request (query string, form, multipart or JSON) into
:class:`Params`, the table of Bot API methods (filled by :func:`_bot_method` in the topical
modules) and the way a request runs: token, latency, injected faults, flood limits, handler,
answer. Also :class:`Call` (one request as decoded and answered) and dropping a connection on
purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import inspect
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from playground.telegram.errors import BotAPIError, JSONDict, _names, bad_request

if TYPE_CHECKING:
    from playground.telegram.api import FakeBotAPI

_LOGGER = logging.getLogger(__name__)


# =============================================================================================
# Requests and answers
# =============================================================================================


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """One HTTP request to the fake, as decoded and answered.

    ``params`` holds the decoded parameters: JSON-encoded values (reply_markup, commands,
    results, ...) are objects, integer/boolean form fields are ``int``/``bool``, uploads are
    :class:`UploadedFile`. ``at`` is the :func:`time.monotonic` time the answer was ready.

    ``dropped`` is true when the connection was closed instead of delivering the answer (see
    :meth:`FakeBotAPI.drop_next`): ``status`` is then ``0`` (and ``response`` empty) if the
    request was not processed, or the status of the lost answer if it was.
    """

    method: str
    params: JSONDict
    response: JSONDict
    status: int
    at: float = 0.0
    dropped: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")


@dataclass(frozen=True)
class _Result:
    """A success result with Telegram's optional ``description`` (e.g. "Webhook was set")."""

    value: Any
    description: str


# =============================================================================================
# Dropped connections
# =============================================================================================


class _ConnectionDropped(Exception):
    """Close the connection instead of answering (internally, and raised through uvicorn)."""


class _DroppedResponse(Response):
    """Starts a response, then fails, so that the server closes the connection mid-response.

    An ASGI app cannot close its connection itself, but uvicorn (like any ASGI server) closes
    it when the app raises after ``http.response.start``. The client gets a status line and a
    ``Content-Length`` that is never delivered, then EOF: httpx raises ``RemoteProtocolError``,
    which python-telegram-bot turns into ``NetworkError``. (Raising before the response start
    would make uvicorn answer 500 instead.) uvicorn's "Exception in ASGI application" record
    for it is dropped by :class:`_HideDroppedConnections`.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise _ConnectionDropped("FakeBotAPI dropped the connection (an injected fault)")


class _HideDroppedConnections(logging.Filter):
    """Drops uvicorn's ERROR record for a connection the fake dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, _ConnectionDropped)


_HIDE_DROPPED_CONNECTIONS = _HideDroppedConnections()
#: The logger uvicorn reports exceptions in ASGI applications to.
_UVICORN_ERROR_LOGGER = "uvicorn.error"


# =============================================================================================
# Request decoding
# =============================================================================================

#: Parameters whose form value is a JSON-serialized object or array.
JSON_PARAMS = frozenset(
    _names(
        "reply_markup entities caption_entities commands scope results allowed_updates"
        " link_preview_options reply_parameters button menu_button message_ids media permissions"
    )
)
INT_PARAMS = frozenset(
    _names(
        "offset limit timeout message_id message_thread_id reply_to_message_id user_id cache_time"
        " max_connections duration width height"
    )
)
BOOL_PARAMS = frozenset(
    _names(
        "disable_notification protect_content show_alert is_personal drop_pending_updates"
        " disable_web_page_preview allow_sending_without_reply has_spoiler"
        " show_caption_above_media disable_content_type_detection allow_paid_broadcast"
        " for_channels"
    )
)
CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})

_INT_RE = re.compile(r"-?[0-9]+")


async def read_request_params(request: Request) -> JSONDict:
    """Merge query string and body (form, multipart or JSON) into decoded parameters."""
    raw: JSONDict = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json" and body.strip():
        raw.update(_json_body(body))
    elif mime == "application/x-www-form-urlencoded":
        raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        raw.update(_multipart_fields(content_type, body))
    return {name: _decode_value(name, value) for name, value in raw.items()}


def _json_body(body: bytes) -> JSONDict:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise bad_request("can't parse JSON encoded request") from exc
    if not isinstance(data, dict):
        raise bad_request("JSON request body must be an object")
    return data


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, Any]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: list[tuple[str, Any]] = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields.append((name, payload.decode("utf-8", "replace")))
        else:
            fields.append((name, UploadedFile(name, filename, part.get_content_type(), payload)))
    return fields


def _decode_value(name: str, value: Any) -> Any:
    """Decode one form value the way the Bot API interprets that parameter."""
    if not isinstance(value, str):
        return value
    if name in JSON_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif name in INT_PARAMS or name in CHAT_ID_PARAMS:
        if _INT_RE.fullmatch(value.strip()):
            return int(value)
    elif name in BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


class Params:
    """Decoded request parameters with Telegram-style typed access."""

    def __init__(self, data: JSONDict, request: Request | None = None) -> None:
        self.data = data
        self.request = request

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad_request(f"parameter {name} must be a string")
        return str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, int):
            return value
        raise bad_request(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, what: str | None = None) -> Any:
        """A JSON parameter; a string that did not decode is a Bad Request."""
        value = self.data.get(name)
        if isinstance(value, str) and value != "":
            raise bad_request(f"can't parse {what or name} JSON object")
        return None if value == "" else value


# =============================================================================================
# Method registry
# =============================================================================================

_Handler = Callable[["FakeBotAPI", Params], Any]
_F = TypeVar("_F", bound=_Handler)


@dataclass(frozen=True)
class _MethodSpec:
    name: str
    handler: _Handler


# Each handler takes the decoded Params and returns the "result" or raises BotAPIError.
_METHODS: dict[str, _MethodSpec] = {}


def _bot_method(name: str) -> Callable[[_F], _F]:
    """Register a handler for Bot API method ``name`` (looked up case-insensitively)."""

    def register(handler: _F) -> _F:
        _METHODS[name.lower()] = _MethodSpec(name, handler)
        return handler

    return register


def _real_bot_api_methods() -> dict[str, str]:
    """Lower-cased -> canonical names of all Bot API methods known to python-telegram-bot."""
    names = (name for name in dir(telegram.Bot) if name[:1].islower() and name != name.lower())
    return {name.lower(): name for name in names}


class RoutingMixin:
    """Serves :class:`FakeBotAPI` over HTTP and runs each request through its method."""

    # -- HTTP layer --------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        methods = ["GET", "POST"]
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._http_endpoint, methods=methods),
                Route("/{path:path}", _http_not_found, methods=methods),
            ]
        )

    async def _http_endpoint(self, request: Request) -> Response:
        call = await self._execute(request)
        if call.dropped:
            return _DroppedResponse()
        return JSONResponse(call.response, status_code=call.status)

    async def _execute(self, request: Request) -> Call:
        raw_method = request.path_params["method"]
        spec = _METHODS.get(raw_method.lower())
        drops = self._drops.get(raw_method.lower())
        drop_after: bool | None = drops.popleft() if drops else None  # None: no drop queued
        data: JSONDict = {}
        violation = False
        try:
            data = await read_request_params(request)
            if drop_after is False:
                raise _ConnectionDropped
            result = await self._run(
                spec, raw_method, request.path_params["token"], Params(data, request)
            )
            status, body = 200, _success_body(result)
        except _ConnectionDropped:
            status, body, drop_after = 0, {}, False
        except BotAPIError as error:
            status, body, violation = error.status, error.body(), error.violation
        except Exception as error:  # a bug in the fake must fail the test, not hang it
            _LOGGER.exception("FakeBotAPI failed to handle %s", raw_method)
            description = f"Internal Server Error: FakeBotAPI bug: {error!r}"
            status, body, violation = 500, BotAPIError(500, description).body(), True
        dropped = drop_after is not None
        if dropped:
            self._dropped_connections += 1
        name = spec.name if spec else raw_method
        call = Call(name, data, body, status, time.monotonic(), dropped=dropped)
        self._record(call, violation)
        return call

    async def _run(
        self, spec: _MethodSpec | None, raw_method: str, token: str, params: Params
    ) -> Any:
        if token != self.token:
            raise BotAPIError(401, "Unauthorized")
        if spec is None:
            raise _unknown_method(raw_method)
        await self._sleep(self._latency)
        self._raise_injected_fault(spec.name, params)
        self._raise_random_fault(spec.name)
        self._check_flood(spec.name, params)
        result = spec.handler(self, params)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)


async def _http_not_found(request: Request) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)


def _success_body(result: Any) -> JSONDict:
    if isinstance(result, _Result):
        return {"ok": True, "result": result.value, "description": result.description}
    return {"ok": True, "result": result}


def _unknown_method(raw_method: str) -> BotAPIError:
    real = _real_bot_api_methods().get(raw_method.lower())
    if real is not None:
        return bad_request(f"FakeBotAPI does not implement {real} yet")
    return BotAPIError(404, "Not Found: method not found")
