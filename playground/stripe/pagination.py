"""List answers of the Stripe simulator: ``{"object": "list", ...}`` and cursor pagination.

Lists are newest first; ``starting_after``/``ending_before`` name the object a page starts
after or ends before, and ``has_more`` says whether more lie in that direction.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.stripe.params import FakeStripeError, JSONDict, invalid

__all__ = ["list_object", "paginate"]


def list_object(data: list[JSONDict], url: str, has_more: bool = False) -> JSONDict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def paginate(
    items: Sequence[JSONDict],
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    object_name: str,
) -> tuple[list[JSONDict], bool]:
    """One page of ``items`` (already newest first) and whether more lie in that direction."""
    ids = [item["id"] for item in items]
    if starting_after is not None and ending_before is not None:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
            "parameters_exclusive",
        )
    if starting_after is not None:
        if starting_after not in ids:
            raise _missing_cursor(object_name, starting_after, "starting_after")
        rest = items[ids.index(starting_after) + 1 :]
        return list(rest[:limit]), len(rest) > limit
    if ending_before is not None:
        if ending_before not in ids:
            raise _missing_cursor(object_name, ending_before, "ending_before")
        before = items[: ids.index(ending_before)]
        return list(before[-limit:]), len(before) > limit
    return list(items[:limit]), len(items) > limit


def _missing_cursor(object_name: str, object_id: str, param: str) -> FakeStripeError:
    return FakeStripeError(
        404, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing"
    )
