"""Request decoding, parameter validation and error shapes of the Stripe simulator.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` parameters in bracket notation
(``line_items[0][price_data][currency]=eur``, ``metadata[intent]=abc``, ``expand[]=x``).
:func:`decode_form` turns those pairs into nested dicts; :class:`ObjectSpec` and friends then
check the nested values the way Stripe does and produce typed values (``int``, ``bool``,
``Decimal``, lists), raising :class:`FakeStripeError` with Stripe's error codes and wording.

Error wording follows Stripe's where it is known (``Received unknown parameter: x``,
``Missing required param: x.``, ``Invalid integer: x``, ``Invalid x: must be one of a, b, or
c``); elsewhere it is descriptive and marked as the fake's own.

A parameter that the fake does not model but that the real API accepts (according to the
stripe SDK's generated ``TypedDict`` parameter types) is refused with a message that says so,
so that nothing a client sends is silently ignored. :data:`API_VERSION` is the version those
parameter types (and so the simulator) follow.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from stripe._api_version import _ApiVersion
from stripe._request_options import RequestOptions

__all__ = [
    "API_VERSION",
    "ArraySpec",
    "BooleanSpec",
    "CurrencySpec",
    "DecimalSpec",
    "EmailSpec",
    "FakeStripeError",
    "IntegerSpec",
    "JSONDict",
    "MetadataSpec",
    "ObjectSpec",
    "RangeSpec",
    "Spec",
    "StringSpec",
    "UrlSpec",
    "child",
    "decode_form",
    "empty_parameter",
    "exclusive_parameters",
    "invalid",
    "listify",
    "missing_parameter",
    "range_matches",
    "resource_missing",
    "unknown_parameter",
]

JSONDict = dict[str, Any]

#: The API version the installed SDK sends (``Stripe-Version``) and events carry.
API_VERSION: str = _ApiVersion.CURRENT

DOC_URL = "https://stripe.com/docs/error-codes/{}"

# -- Stripe's metadata limits (https://docs.stripe.com/api/metadata) -------------------------
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
#: Stripe's default maximum length for a string parameter.
MAX_STRING_LENGTH = 5000


# =============================================================================================
# Errors
# =============================================================================================


class FakeStripeError(Exception):
    """An error answer in Stripe's shape: ``{"error": {"type", "code", "param", "message"}}``.

    ``violation`` is false for answers that do not mean the client sent an invalid request:
    faults the test injected, and conflicts with state the client could not know (a session
    that completed just before the client tried to expire it).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        violation: bool = True,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.violation = violation
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> JSONDict:
        error: JSONDict = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOC_URL.format(self.code.replace("_", "-"))
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}

    def __repr__(self) -> str:
        return f"FakeStripeError({self.status}, {self.message!r}, code={self.code!r})"


def invalid(message: str, param: str | None = None, code: str | None = None) -> FakeStripeError:
    """400 ``invalid_request_error``: the client sent something Stripe refuses."""
    return FakeStripeError(400, message, param=param, code=code)


def unknown_parameter(param: str, suggestion: str | None = None) -> FakeStripeError:
    message = f"Received unknown parameter: {param}"
    if suggestion:
        message += f". Did you mean {suggestion}?"
    return invalid(message, param, "parameter_unknown")


def missing_parameter(param: str) -> FakeStripeError:
    return invalid(f"Missing required param: {param}.", param, "parameter_missing")


def empty_parameter(param: str) -> FakeStripeError:
    return invalid(
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.",
        param,
        "parameter_invalid_empty",
    )


def exclusive_parameters(param: str, *names: str) -> FakeStripeError:
    return invalid(
        f"You may only specify one of these parameters: {', '.join(names)}.",
        param,
        "parameters_exclusive",
    )


def resource_missing(object_name: str, object_id: str, param: str | None = "id") -> FakeStripeError:
    """404 ``resource_missing``: ``No such checkout.session: 'cs_...'``."""
    return FakeStripeError(
        404, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing"
    )


def one_of(values: Iterable[str]) -> str:
    """``a, b, or c`` as in Stripe's enum errors."""
    items = list(values)
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + f", or {items[-1]}"


# =============================================================================================
# Form decoding
# =============================================================================================

_KEY_RE = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def decode_form(pairs: Iterable[tuple[str, str]]) -> JSONDict:
    """Nest bracket-notation pairs: ``a[b][0]=x`` -> ``{"a": {"b": {"0": "x"}}}``.

    Arrays stay dicts keyed by index strings (``[]`` appends the next index), so that an
    :class:`ArraySpec` can tell them from hashes with numeric keys (``metadata[0]``); use
    :func:`listify` for a display form. A later duplicate of a scalar key wins. A key whose
    brackets do not parse is kept whole (it then fails as an unknown parameter).
    """
    root: JSONDict = {}
    for key, value in pairs:
        match = _KEY_RE.fullmatch(key)
        if match is None:
            root[key] = value
            continue
        segments = [match[1], *_SEGMENT_RE.findall(match[2])]
        node = root
        path = segments[0]
        for position, segment in enumerate(segments):
            if segment == "" and position > 0:
                segment = str(len(node))
            if position > 0:
                path += f"[{segment}]"
            if position == len(segments) - 1:
                if isinstance(node.get(segment), dict):
                    raise invalid(f"Invalid value for {path}: expected a hash", path)
                node[segment] = value
                break
            nested = node.setdefault(segment, {})
            if not isinstance(nested, dict):
                raise invalid(f"Invalid value for {path}: got both a value and a hash", path)
            node = nested
    return root


def listify(value: Any) -> Any:
    """Display form of decoded params: dicts keyed ``"0".."n"`` become lists."""
    if isinstance(value, dict):
        items = {key: listify(item) for key, item in value.items()}
        if items and all(key.isdecimal() for key in items):
            return [items[key] for key in sorted(items, key=int)]
        return items
    return value


def child(path: str, name: str | int) -> str:
    """``child("line_items", 0)`` -> ``line_items[0]``; top level when ``path`` is empty."""
    return f"{path}[{name}]" if path else str(name)


# =============================================================================================
# Parameter specs
# =============================================================================================

_REQUEST_OPTION_KEYS = frozenset(RequestOptions.__annotations__)


def _real_fields(typed_dict: type | None) -> frozenset[str]:
    """Parameter names of an SDK params ``TypedDict`` (without the SDK's request options)."""
    if typed_dict is None:
        return frozenset()
    return frozenset(getattr(typed_dict, "__annotations__", {})) - _REQUEST_OPTION_KEYS


class Spec:
    """Checks one decoded value (``str`` or nested ``dict``) and returns its typed form."""

    def parse(self, value: Any, path: str) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class StringSpec(Spec):
    """A string, optionally limited in length or to ``choices``."""

    max_length: int = MAX_STRING_LENGTH
    choices: tuple[str, ...] | None = None

    def parse(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {json.dumps(listify(value))}", path)
        if self.choices is not None and value not in self.choices:
            raise invalid(f"Invalid {path}: must be one of {one_of(self.choices)}", path)
        if len(value) > self.max_length:
            shown = value if len(value) <= 20 else value[:20] + "..."
            raise invalid(
                f"Invalid string: {shown}; must be at most {self.max_length} characters", path
            )
        return value


@dataclass(frozen=True)
class UrlSpec(StringSpec):
    """An absolute http(s) URL (Stripe: ``url_invalid`` "Not a valid URL")."""

    max_length: int = 5000

    def parse(self, value: Any, path: str) -> str:
        text = super().parse(value, path)
        try:
            parts = urlsplit(text)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid("Not a valid URL", path, "url_invalid")
        return text


_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class EmailSpec(StringSpec):
    """An email address (Stripe: ``email_invalid``)."""

    max_length: int = 800

    def parse(self, value: Any, path: str) -> str:
        text = super().parse(value, path)
        if not _EMAIL_RE.fullmatch(text):
            raise invalid(f"Invalid email address: {text}", path, "email_invalid")
        return text


_INT_RE = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class IntegerSpec(Spec):
    """An integer within ``[minimum, maximum]``."""

    minimum: int | None = None
    maximum: int | None = None

    def parse(self, value: Any, path: str) -> int:
        if not isinstance(value, str) or not _INT_RE.fullmatch(value.strip()):
            shown = value if isinstance(value, str) else json.dumps(listify(value))
            raise invalid(f"Invalid integer: {shown}", path, "parameter_invalid_integer")
        number = int(value)
        if self.minimum is not None and number < self.minimum:
            raise invalid(
                f"This value must be greater than or equal to {self.minimum}.",
                path,
                "parameter_invalid_integer",
            )
        if self.maximum is not None and number > self.maximum:
            raise invalid(
                f"This value must be less than or equal to {self.maximum} "
                f"(it currently is '{number}').",
                path,
                "parameter_invalid_integer",
            )
        return number


_DECIMAL_RE = re.compile(r"[0-9]+(\.[0-9]{1,12})?")


@dataclass(frozen=True)
class DecimalSpec(Spec):
    """A non-negative decimal string with at most 12 decimal places."""

    def parse(self, value: Any, path: str) -> Decimal:
        if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value):
            raise invalid(f"Invalid decimal: {value}", path, "parameter_invalid_decimal")
        try:
            return Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - the regex already rules it out
            raise invalid(f"Invalid decimal: {value}", path) from exc


@dataclass(frozen=True)
class BooleanSpec(Spec):
    """``true`` or ``false`` (what the SDK sends for Python booleans)."""

    def parse(self, value: Any, path: str) -> bool:
        if value == "true":
            return True
        if value == "false":
            return False
        raise invalid(f"Invalid boolean: {value}", path)


@dataclass(frozen=True)
class CurrencySpec(Spec):
    """A three-letter ISO currency code among ``supported`` (normalised to lower case)."""

    supported: frozenset[str]

    def parse(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {json.dumps(listify(value))}", path)
        code = value.lower()
        if code not in self.supported:
            raise invalid(
                f"Invalid currency: {value}. Stripe currently supports these currencies: "
                f"{', '.join(sorted(self.supported))}",
                path,
            )
        return code


@dataclass(frozen=True)
class MetadataSpec(Spec):
    """Metadata: up to 50 string keys of up to 40 characters, values up to 500 characters.

    An empty value unsets a key (on creation: the key is left out).
    """

    def parse(self, value: Any, path: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {path} must be a hash of string keys and values", path)
        result: dict[str, str] = {}
        for key, item in value.items():
            item_path = child(path, key)
            if not isinstance(item, str):
                raise invalid(
                    f"Invalid value for {item_path}: metadata values must be strings (and keys "
                    "cannot contain square brackets)",
                    item_path,
                )
            if len(key) > MAX_METADATA_KEY_LENGTH:
                raise invalid(
                    f"Metadata keys can have up to {MAX_METADATA_KEY_LENGTH} characters, but you "
                    f"passed in a key that is {len(key)} characters: '{key}'",
                    item_path,
                )
            if len(item) > MAX_METADATA_VALUE_LENGTH:
                raise invalid(
                    f"Metadata values can have up to {MAX_METADATA_VALUE_LENGTH} characters, but "
                    f"you passed in a value that is {len(item)} characters.",
                    item_path,
                )
            if item != "":
                result[key] = item
        if len(result) > MAX_METADATA_KEYS:
            raise invalid(
                f"Metadata can have up to {MAX_METADATA_KEYS} keys, but you passed in "
                f"{len(result)} keys.",
                path,
            )
        return result


@dataclass(frozen=True)
class ArraySpec(Spec):
    """An array (``x[0]=..&x[1]=..`` or ``x[]=..``) of ``item`` values."""

    item: Spec
    max_items: int | None = None

    def parse(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, dict) or not all(key.isdecimal() for key in value):
            raise invalid(f"Invalid array: {path} must be an array", path)
        keys = sorted(value, key=int)
        if self.max_items is not None and len(keys) > self.max_items:
            raise invalid(
                f"Invalid array: {path} can have at most {self.max_items} items, "
                f"but you passed {len(keys)}",
                path,
            )
        return [self.item.parse(value[key], child(path, key)) for key in keys]


@dataclass(frozen=True)
class ObjectSpec(Spec):
    """A hash with known ``fields``.

    ``required`` fields must be present and non-empty. ``real`` is the stripe SDK's params
    ``TypedDict`` for this hash: a field it lists but ``fields`` does not is refused as "not
    implemented by the fake" rather than as unknown to Stripe. ``exclusive`` lists groups of
    fields of which at most one may be given.
    """

    fields: Mapping[str, Spec]
    required: frozenset[str] = frozenset()
    real: type | None = None
    exclusive: tuple[tuple[str, ...], ...] = ()
    _real_names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_real_names", _real_fields(self.real))

    def parse(self, value: Any, path: str) -> JSONDict:
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {path} must be a hash", path or None)
        for name in value:
            if name not in self.fields:
                raise self._unknown(name, path)
        result: JSONDict = {}
        for name, spec in self.fields.items():
            item_path = child(path, name)
            raw = value.get(name)
            if raw is None or raw == "":
                if name in self.required and raw is None:
                    raise missing_parameter(item_path)
                if name in self.required:
                    raise empty_parameter(item_path)
                continue
            result[name] = spec.parse(raw, item_path)
        for group in self.exclusive:
            given = [name for name in group if name in result]
            if len(given) > 1:
                raise exclusive_parameters(child(path, given[0]), *group)
        return result

    def _unknown(self, name: str, path: str) -> FakeStripeError:
        param = child(path, name)
        if name in self._real_names:
            return invalid(
                f"FakeStripe does not implement parameter {param} (the real Stripe API accepts "
                "it): extend playground/stripe/checkout_sessions.py or stop sending it",
                param,
                "parameter_unknown",
            )
        close = difflib.get_close_matches(name, list(self.fields), n=1, cutoff=0.8)
        return unknown_parameter(param, child(path, close[0]) if close else None)


@dataclass(frozen=True)
class RangeSpec(Spec):
    """A timestamp filter: ``created=ts`` or ``created[gt|gte|lt|lte]=ts``."""

    def parse(self, value: Any, path: str) -> dict[str, int]:
        if isinstance(value, str):
            return {"eq": IntegerSpec().parse(value, path)}
        bounds = ObjectSpec({op: IntegerSpec() for op in ("gt", "gte", "lt", "lte")})
        return bounds.parse(value, path)


def range_matches(bounds: Mapping[str, int] | None, number: int) -> bool:
    """Whether ``number`` satisfies a parsed :class:`RangeSpec` filter."""
    if not bounds:
        return True
    checks: dict[str, Callable[[int, int], bool]] = {
        "eq": lambda a, b: a == b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return all(checks[op](number, bound) for op, bound in bounds.items())
