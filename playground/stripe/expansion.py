"""``expand`` for the Stripe simulator: which references a client may expand, and how.

An id in an object (``"pi_..."``) stays a reference unless a request's ``expand[]`` names its
path; then :func:`expand` puts the object it refers to in its place, up to
:data:`MAX_EXPAND_DEPTH` levels deep. *Includable* lists (:data:`INCLUDABLE`, such as a
Checkout Session's ``line_items``) are left out of an object unless expanded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from playground.stripe.params import FakeStripeError, JSONDict, invalid

__all__ = ["EXPANDABLE", "INCLUDABLE", "MAX_EXPAND_DEPTH", "Resolver", "expand"]

MAX_EXPAND_DEPTH = 4
#: Fields each object type lets a client expand (a subset of Stripe's, but only real ones).
#: A dotted name is a reference inside a nested hash (``parent.subscription_details...``).
EXPANDABLE: Mapping[str, frozenset[str]] = {
    "checkout.session": frozenset(
        {"customer", "invoice", "line_items", "payment_intent", "payment_link", "setup_intent",
         "subscription"}
    ),
    "payment_intent": frozenset(
        {"application", "customer", "latest_charge", "on_behalf_of", "payment_method", "review"}
    ),
    "charge": frozenset(
        {"application", "application_fee", "balance_transaction", "customer",
         "failure_balance_transaction", "on_behalf_of", "payment_intent", "review",
         "source_transfer", "transfer"}
    ),
    "balance_transaction": frozenset({"source"}),
    "dispute": frozenset({"charge", "payment_intent"}),
    "refund": frozenset({"balance_transaction", "charge", "payment_intent"}),
    "subscription": frozenset({"customer", "default_payment_method", "latest_invoice"}),
    "invoice": frozenset(
        {"customer", "default_payment_method", "parent.subscription_details.subscription",
         "payments"}
    ),
    "invoice_payment": frozenset({"invoice", "payment.charge", "payment.payment_intent"}),
    "payment_method": frozenset({"customer"}),
    "customer": frozenset(),
    "event": frozenset(),
}  # fmt: skip
#: Lists left out of an object unless expanded; ``resolve("<field>:<object id>")`` builds them.
INCLUDABLE: Mapping[str, frozenset[str]] = {
    "checkout.session": frozenset({"line_items"}),
    "invoice": frozenset({"payments"}),
}


Resolver = Callable[[str], JSONDict | None]


def expand(
    obj: JSONDict, paths: Sequence[str], resolve: Resolver, *, within_list: bool = False
) -> JSONDict:
    """A deep copy of ``obj`` with the dotted ``paths`` replaced by the objects they name.

    ``resolve`` maps an id to its stored object (or ``None``); an :data:`INCLUDABLE` field is
    resolved by ``resolve("<field>:<object id>")``. In list answers (``within_list``) every
    path starts with ``data.``, and a path continues into an expanded list through ``data``
    (``payments.data.payment.payment_intent``). ``data`` does not count as a level.
    """
    result = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        if sum(part != "data" for part in parts) > MAX_EXPAND_DEPTH:
            raise invalid(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                f"Property: {path}",
                "expand",
            )
        if within_list:
            if parts[0] != "data" or len(parts) < 2:
                raise _cannot_expand(path)
            for item in result["data"]:
                _expand_in(item, parts[1:], path, resolve)
        else:
            _expand_in(result, parts, path, resolve)
    return result


def _expand_in(obj: JSONDict, parts: list[str], path: str, resolve: Resolver) -> None:
    kind = obj.get("object", "")
    allowed = EXPANDABLE.get(kind, frozenset())
    size = next((n for n in range(1, len(parts) + 1) if ".".join(parts[:n]) in allowed), None)
    if size is None:
        raise _cannot_expand(path)
    holder: Any = obj
    for key in parts[: size - 1]:  # into nested hashes (``parent.subscription_details``)
        holder = holder.get(key)
        if holder is None:
            return  # nothing there to expand, as with a null reference
    name, rest = parts[size - 1], parts[size:]
    value = holder.get(name)
    if size == 1 and name in INCLUDABLE.get(kind, frozenset()):
        value = value if isinstance(value, dict) else resolve(f"{name}:{obj['id']}")
    elif name not in holder:
        return  # a reference this object's type leaves out (``payment.charge`` of an intent)
    elif isinstance(value, str):
        found = resolve(value)
        value = copy.deepcopy(found) if found is not None else value
    holder[name] = value
    if not rest or not isinstance(value, dict):
        return
    if value.get("object") == "list":
        if rest[0] != "data" or len(rest) < 2:
            raise _cannot_expand(path)
        for item in value["data"]:
            _expand_in(item, rest[1:], path, resolve)
    else:
        _expand_in(value, rest, path, resolve)


def _cannot_expand(path: str) -> FakeStripeError:
    return invalid(f"This property cannot be expanded ({path}).", "expand")
