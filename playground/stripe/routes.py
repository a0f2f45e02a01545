"""The v1 API endpoints of the Stripe simulator, as functions of a StripeAccount.

Each handler checks its parameters (the SDK's ``TypedDict`` params tell real-but-unmodelled
parameters from unknown ones), reads or changes the :class:`StripeAccount` and returns the JSON
answer; errors are raised as :class:`FakeStripeError`. :func:`match_route` finds the handler
for a method and path, or raises Stripe's 404 "Unrecognized request URL".

Lists are newest first. Simplification: lists filter on the parameters modelled here only;
other real filters (``collection_method``, ``due_date``, ``test_clock``, ...) are refused as
not implemented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stripe.params import (
    BalanceTransactionRetrieveParams,
    ChargeRetrieveParams,
    CustomerRetrieveParams,
    DisputeRetrieveParams,
    EventListParams,
    EventRetrieveParams,
    InvoiceListParams,
    InvoicePaymentListParams,
    InvoicePaymentListParamsPayment,
    InvoicePaymentRetrieveParams,
    InvoiceRetrieveParams,
    PaymentIntentRetrieveParams,
    PaymentMethodRetrieveParams,
    RefundRetrieveParams,
    SubscriptionCancelParams,
    SubscriptionCancelParamsCancellationDetails,
    SubscriptionListParams,
    SubscriptionRetrieveParams,
    WebhookEndpointListParams,
    WebhookEndpointRetrieveParams,
)
from stripe.params.checkout import (
    SessionExpireParams,
    SessionListLineItemsParams,
    SessionListParams,
    SessionRetrieveParams,
)

from playground.stripe import expansion, pagination
from playground.stripe.account import StripeAccount
from playground.stripe.params import (
    ArraySpec,
    BooleanSpec,
    FakeStripeError,
    IntegerSpec,
    JSONDict,
    ObjectSpec,
    RangeSpec,
    StringSpec,
    invalid,
    range_matches,
    resource_missing,
)

__all__ = ["RouteContext", "match_route"]

MAX_EVENT_TYPES = 20
DEFAULT_LIST_LIMIT = 10


@dataclass(frozen=True)
class RouteContext:
    """What a handler sees of a request: decoded params, path ids, who asked."""

    method: str
    path: str
    params: JSONDict
    ids: Mapping[str, str]
    request_id: str
    idempotency_key: str | None


Handler = Callable[[StripeAccount, RouteContext], JSONDict]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
_ID = r"(?P<id>[^/]+)"


def _route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(pattern), handler))
        return handler

    return register


def match_route(method: str, path: str) -> tuple[Handler, Mapping[str, str]]:
    """The handler for ``method path`` and the ids in the path."""
    for route_method, pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match is not None and route_method == method:
            return handler, match.groupdict()
    raise FakeStripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.",
    )


@dataclass(frozen=True)
class _Collection:
    """A retrievable object type: ``GET /v1/{name}/{id}``."""

    attribute: str
    object_name: str
    param: str
    retrieve: type


_COLLECTIONS: Mapping[str, _Collection] = {
    "payment_intents": _Collection(
        "payment_intents", "payment_intent", "intent", PaymentIntentRetrieveParams
    ),
    "charges": _Collection("charges", "charge", "charge", ChargeRetrieveParams),
    "balance_transactions": _Collection(
        "balance_transactions", "balance_transaction", "id", BalanceTransactionRetrieveParams
    ),
    "disputes": _Collection("disputes", "dispute", "dispute", DisputeRetrieveParams),
    "refunds": _Collection("refunds", "refund", "refund", RefundRetrieveParams),
    "payment_methods": _Collection(
        "payment_methods", "payment_method", "payment_method", PaymentMethodRetrieveParams
    ),
    "customers": _Collection("customers", "customer", "customer", CustomerRetrieveParams),
    "subscriptions": _Collection(
        "subscriptions", "subscription", "subscription_exposed_id", SubscriptionRetrieveParams
    ),
    "invoices": _Collection("invoices", "invoice", "invoice", InvoiceRetrieveParams),
    "invoice_payments": _Collection(
        "invoice_payments", "invoice_payment", "invoice_payment", InvoicePaymentRetrieveParams
    ),
    "webhook_endpoints": _Collection(
        "webhook_endpoints", "webhook_endpoint", "id", WebhookEndpointRetrieveParams
    ),
}
SUBSCRIPTION_STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
CANCELLATION_FEEDBACK = (
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
)

# -- parameter specs -------------------------------------------------------------------------
_EXPAND = ArraySpec(StringSpec())
_PAGE_FIELDS = {
    "ending_before": StringSpec(),
    "limit": IntegerSpec(minimum=1, maximum=100),
    "starting_after": StringSpec(),
}
_SESSION_RETRIEVE = ObjectSpec({"expand": _EXPAND}, real=SessionRetrieveParams)
_SESSION_EXPIRE = ObjectSpec({"expand": _EXPAND}, real=SessionExpireParams)
_SESSION_LIST = ObjectSpec(
    {
        **_PAGE_FIELDS,
        "created": RangeSpec(),
        "expand": _EXPAND,
        "payment_intent": StringSpec(),
        "status": StringSpec(choices=("complete", "expired", "open")),
        "subscription": StringSpec(),
    },
    real=SessionListParams,
)
_LINE_ITEMS_LIST = ObjectSpec({**_PAGE_FIELDS, "expand": _EXPAND}, real=SessionListLineItemsParams)
_EVENT_LIST = ObjectSpec(
    {
        **_PAGE_FIELDS,
        "created": RangeSpec(),
        "expand": _EXPAND,
        "type": StringSpec(),
        "types": ArraySpec(StringSpec(), max_items=MAX_EVENT_TYPES),
    },
    real=EventListParams,
    exclusive=(("type", "types"),),
)
_EVENT_RETRIEVE = ObjectSpec({"expand": _EXPAND}, real=EventRetrieveParams)
_SUBSCRIPTION_LIST = ObjectSpec(
    {
        **_PAGE_FIELDS,
        "created": RangeSpec(),
        "customer": StringSpec(),
        "expand": _EXPAND,
        "price": StringSpec(),
        "status": StringSpec(choices=SUBSCRIPTION_STATUSES),
    },
    real=SubscriptionListParams,
)
_SUBSCRIPTION_CANCEL = ObjectSpec(
    {
        "cancellation_details": ObjectSpec(
            {
                "comment": StringSpec(),
                "feedback": StringSpec(choices=CANCELLATION_FEEDBACK),
            },
            real=SubscriptionCancelParamsCancellationDetails,
        ),
        "expand": _EXPAND,
        "invoice_now": BooleanSpec(),
        "prorate": BooleanSpec(),
    },
    real=SubscriptionCancelParams,
)
_INVOICE_LIST = ObjectSpec(
    {
        **_PAGE_FIELDS,
        "created": RangeSpec(),
        "customer": StringSpec(),
        "expand": _EXPAND,
        "status": StringSpec(choices=("draft", "open", "paid", "uncollectible", "void")),
        "subscription": StringSpec(),
    },
    real=InvoiceListParams,
)
_INVOICE_PAYMENT_LIST = ObjectSpec(
    {
        **_PAGE_FIELDS,
        "created": RangeSpec(),
        "expand": _EXPAND,
        "invoice": StringSpec(),
        "payment": ObjectSpec(
            {
                "payment_intent": StringSpec(),
                "type": StringSpec(choices=("payment_intent", "payment_record")),
            },
            required=frozenset({"type"}),
            real=InvoicePaymentListParamsPayment,
        ),
        "status": StringSpec(choices=("canceled", "open", "paid")),
    },
    real=InvoicePaymentListParams,
)
_WEBHOOK_ENDPOINT_LIST = ObjectSpec(
    {**_PAGE_FIELDS, "expand": _EXPAND}, real=WebhookEndpointListParams
)
_RETRIEVE = {
    name: ObjectSpec({"expand": _EXPAND}, real=collection.retrieve)
    for name, collection in _COLLECTIONS.items()
}


# =============================================================================================
# Handlers
# =============================================================================================


@_route("POST", r"/v1/checkout/sessions")
def _create_session(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    session = account.create_session_from_form(ctx.params)
    expand = account.session_params(session["id"]).get("expand", [])
    return expansion.expand(session, expand, account.resolve)


@_route("GET", r"/v1/checkout/sessions")
def _list_sessions(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _SESSION_LIST.parse(ctx.params, "")
    filters = {
        name: params[name]
        for name in ("status", "payment_intent", "subscription")
        if name in params
    }
    matching = [
        session
        for session in reversed(account.sessions.values())
        if range_matches(params.get("created"), session["created"])
        and all(session[name] == value for name, value in filters.items())
    ]
    matching.sort(key=lambda session: -session["created"])
    return _page(account, matching, params, "/v1/checkout/sessions", "checkout.session")


@_route("GET", rf"/v1/checkout/sessions/{_ID}")
def _retrieve_session(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _SESSION_RETRIEVE.parse(ctx.params, "")
    session = _find_session(account, ctx.ids["id"])
    return expansion.expand(session, params.get("expand", []), account.resolve)


@_route("POST", rf"/v1/checkout/sessions/{_ID}/expire")
def _expire_session(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _SESSION_EXPIRE.parse(ctx.params, "")
    session = _find_session(account, ctx.ids["id"])
    if session["status"] != "open":
        # Not a violation: the session may have completed just before the client asked.
        raise FakeStripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".',
            violation=False,
        )
    account.expire_session(session, request_id=ctx.request_id, idempotency_key=ctx.idempotency_key)
    return expansion.expand(session, params.get("expand", []), account.resolve)


@_route("GET", rf"/v1/checkout/sessions/{_ID}/line_items")
def _list_session_line_items(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _LINE_ITEMS_LIST.parse(ctx.params, "")
    session = _find_session(account, ctx.ids["id"])
    items = account.session_line_items(session["id"])
    url = f"/v1/checkout/sessions/{session['id']}/line_items"
    return _page(account, items, params, url, "item")


@_route("GET", r"/v1/events")
def _list_events(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _EVENT_LIST.parse(ctx.params, "")
    wanted = params.get("type")
    # ``type`` takes ``*`` wildcards (``charge.dispute.*``); ``types`` takes exact names.
    pattern = re.compile(".*".join(map(re.escape, wanted.split("*")))) if wanted else None
    types = set(params.get("types", []))
    matching = [
        event
        for event in account.visible_events()
        if range_matches(params.get("created"), event["created"])
        and (pattern is None or pattern.fullmatch(event["type"]))
        and (not types or event["type"] in types)
    ]
    return _page(account, matching, params, "/v1/events", "event")


@_route("GET", rf"/v1/events/{_ID}")
def _retrieve_event(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _EVENT_RETRIEVE.parse(ctx.params, "")
    event = next((e for e in account.visible_events() if e["id"] == ctx.ids["id"]), None)
    if event is None:
        raise resource_missing("event", ctx.ids["id"])
    return expansion.expand(event, params.get("expand", []), account.resolve)


@_route("GET", r"/v1/subscriptions")
def _list_subscriptions(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _SUBSCRIPTION_LIST.parse(ctx.params, "")
    # No status: every subscription that is not canceled; ``ended`` adds expired ones.
    status = params.get("status")
    wanted: Callable[[str], bool] = {
        None: lambda value: value != "canceled",
        "all": lambda value: True,
        "ended": lambda value: value in ("canceled", "incomplete_expired"),
    }.get(status, lambda value: value == status)
    matching = [
        subscribed
        for subscribed in account.subscriptions.values()
        if wanted(subscribed["status"])
        and range_matches(params.get("created"), subscribed["created"])
        and params.get("customer", subscribed["customer"]) == subscribed["customer"]
        and (
            "price" not in params
            or any(item["price"]["id"] == params["price"] for item in subscribed["items"]["data"])
        )
    ]
    return _page(account, _newest_first(matching), params, "/v1/subscriptions", "subscription")


@_route("DELETE", rf"/v1/subscriptions/{_ID}")
def _cancel_subscription(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _SUBSCRIPTION_CANCEL.parse(ctx.params, "")
    subscribed = account.subscriptions.get(ctx.ids["id"])
    if subscribed is None:
        raise resource_missing("subscription", ctx.ids["id"], "subscription_exposed_id")
    if params.get("prorate"):
        raise invalid(
            "FakeStripe does not implement prorate=true (a credit proration for the unused "
            "time): extend playground/stripe/routes.py or stop sending it",
            "prorate",
        )
    if subscribed["status"] == "canceled":
        # Not a violation: the donor or the Dashboard may have cancelled it just before.
        raise FakeStripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
            violation=False,
        )
    # ``invoice_now`` has nothing to bill: no metered usage or pending prorations exist.
    details = params.get("cancellation_details", {})
    account.end_subscription(
        subscribed,
        comment=details.get("comment"),
        feedback=details.get("feedback"),
        request_id=ctx.request_id,
        idempotency_key=ctx.idempotency_key,
    )
    return expansion.expand(subscribed, params.get("expand", []), account.resolve)


@_route("GET", r"/v1/invoices")
def _list_invoices(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _INVOICE_LIST.parse(ctx.params, "")
    matching = [
        found
        for found in account.invoices.values()
        if range_matches(params.get("created"), found["created"])
        and params.get("customer", found["customer"]) == found["customer"]
        and params.get("status", found["status"]) == found["status"]
        and params.get("subscription", _subscription_of(found)) == _subscription_of(found)
    ]
    return _page(account, _newest_first(matching), params, "/v1/invoices", "invoice")


@_route("GET", r"/v1/invoice_payments")
def _list_invoice_payments(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _INVOICE_PAYMENT_LIST.parse(ctx.params, "")
    payment = params.get("payment", {})
    matching = [
        found
        for found in account.invoice_payments.values()
        if range_matches(params.get("created"), found["created"])
        and params.get("invoice", found["invoice"]) == found["invoice"]
        and params.get("status", found["status"]) == found["status"]
        and payment.get("type", found["payment"]["type"]) == found["payment"]["type"]
        and payment.get("payment_intent", found["payment"].get("payment_intent"))
        == found["payment"].get("payment_intent")
    ]
    return _page(
        account, _newest_first(matching), params, "/v1/invoice_payments", "invoice_payment"
    )


@_route("GET", r"/v1/webhook_endpoints")
def _list_webhook_endpoints(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    params = _WEBHOOK_ENDPOINT_LIST.parse(ctx.params, "")
    endpoints = _newest_first(list(account.webhook_endpoints.values()))
    return _page(account, endpoints, params, "/v1/webhook_endpoints", "webhook_endpoint")


@_route("GET", rf"/v1/(?P<collection>{'|'.join(_COLLECTIONS)})/{_ID}")
def _retrieve_object(account: StripeAccount, ctx: RouteContext) -> JSONDict:
    name = ctx.ids["collection"]
    collection = _COLLECTIONS[name]
    params = _RETRIEVE[name].parse(ctx.params, "")
    store: dict[str, JSONDict] = getattr(account, collection.attribute)
    found = store.get(ctx.ids["id"])
    if found is None:
        raise resource_missing(collection.object_name, ctx.ids["id"], collection.param)
    return expansion.expand(found, params.get("expand", []), account.resolve)


def _subscription_of(found: JSONDict) -> str | None:
    details = (found.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def _newest_first(items: list[JSONDict]) -> list[JSONDict]:
    return sorted(reversed(items), key=lambda item: -item["created"])


def _find_session(account: StripeAccount, session_id: str) -> JSONDict:
    session = account.sessions.get(session_id)
    if session is None:
        raise resource_missing("checkout.session", session_id, "session")
    return session


def _page(
    account: StripeAccount, items: list[JSONDict], params: JSONDict, url: str, object_name: str
) -> JSONDict:
    page, has_more = pagination.paginate(
        items,
        limit=params.get("limit", DEFAULT_LIST_LIMIT),
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        object_name=object_name,
    )
    listed = pagination.list_object(page, url, has_more)
    return expansion.expand(listed, params.get("expand", []), account.resolve, within_list=True)
