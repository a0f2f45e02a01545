"""Checkout Sessions of the Stripe simulator: their parameters, rules and objects.

:func:`parse_session_create` checks ``POST /v1/checkout/sessions`` parameters the way Stripe
does (structure first, then the rules that depend on ``mode``, amounts and time), and
:func:`build_session` turns them into a ``checkout.session`` object.

The fake models the API version the installed stripe SDK pins (:data:`API_VERSION`): the
parameter names and ``ui_mode`` values are those of the SDK's generated ``TypedDict`` params,
e.g. ``allowed_payment_method_types`` (older versions' ``payment_method_types`` is refused
with a hint) and ``ui_mode`` ``hosted_page``/``embedded_page``/``elements``/``form``.

Simplification: line items must use ``price_data`` (there are no Price or Product objects, so
``price``/``product`` ids answer ``resource_missing``). In ``subscription`` mode at least one
price must be recurring (``recurring[interval]`` day/week/month/year), all recurring prices
share one billing period, and one-time prices are billed once, on the first invoice; in
``payment`` mode a recurring price is refused. Error messages use Stripe's wording where
it is known (unknown/missing parameters, enums, amounts, ``expires_at``) and are descriptive
elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from stripe.params.checkout import (
    SessionCreateParams,
    SessionCreateParamsAdaptivePricing,
    SessionCreateParamsLineItem,
    SessionCreateParamsLineItemPriceData,
    SessionCreateParamsLineItemPriceDataProductData,
    SessionCreateParamsLineItemPriceDataRecurring,
    SessionCreateParamsPaymentIntentData,
    SessionCreateParamsSubscriptionData,
)

from playground.stripe.currencies import (
    MAXIMUM_CHARGE,
    MINIMUM_CHARGE,
    SUPPORTED_CURRENCIES,
    format_amount,
)
from playground.stripe.params import (
    API_VERSION,
    ArraySpec,
    BooleanSpec,
    CurrencySpec,
    DecimalSpec,
    EmailSpec,
    IntegerSpec,
    JSONDict,
    MetadataSpec,
    ObjectSpec,
    StringSpec,
    UrlSpec,
    child,
    invalid,
    missing_parameter,
    resource_missing,
)

__all__ = [
    "LOCALES",
    "SESSION_CREATE",
    "SessionDraft",
    "build_line_items",
    "build_session",
    "parse_session_create",
]


def _names(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# -- enumerations (from the SDK's params for API_VERSION) ------------------------------------
MODES = ("payment", "setup", "subscription")
SUBMIT_TYPES = ("auto", "book", "donate", "pay", "subscribe")
UI_MODES = ("elements", "embedded_page", "form", "hosted_page")
REDIRECT_UI_MODES = frozenset({"hosted_page"})
LOCALES = _names(
    "auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hi-IN hr hu id it ja ko lt lv ms"
    " mt nb nl pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW"
)
PAYMENT_METHOD_TYPES = _names(
    "acss_debit affirm afterpay_clearpay alipay alma amazon_pay au_becs_debit bacs_debit"
    " bancontact billie bizum blik boleto card cashapp crypto customer_balance eps fpx giropay"
    " grabpay ideal kakao_pay klarna konbini kr_card link mb_way mobilepay multibanco naver_pay"
    " nz_bank_account oxxo p24 pay_by_bank payco paynow paypal paypay payto pix promptpay"
    " revolut_pay samsung_pay satispay scalapay sepa_debit sequra sofort sunbit swish twint upi"
    " us_bank_account wechat_pay zip"
)
RECURRING_INTERVALS = ("day", "month", "week", "year")
#: Longest billing period Stripe allows, per interval (one year).
MAX_INTERVAL_COUNT: Mapping[str, int] = {"day": 365, "week": 52, "month": 12, "year": 1}
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
MAX_CLIENT_REFERENCE_ID = 200
MAX_LINE_ITEMS = 100
MAX_QUANTITY = 999_999

# =============================================================================================
# Parameter schema
# =============================================================================================

_METADATA = MetadataSpec()
_PRODUCT_DATA = ObjectSpec(
    {
        "name": StringSpec(max_length=250),
        "description": StringSpec(max_length=40_000),
        "images": ArraySpec(UrlSpec(max_length=2048), max_items=8),
        "metadata": _METADATA,
    },
    required=frozenset({"name"}),
    real=SessionCreateParamsLineItemPriceDataProductData,
)
_RECURRING = ObjectSpec(
    {
        "interval": StringSpec(choices=RECURRING_INTERVALS),
        "interval_count": IntegerSpec(minimum=1),
    },
    required=frozenset({"interval"}),
    real=SessionCreateParamsLineItemPriceDataRecurring,
)
_PRICE_DATA = ObjectSpec(
    {
        "currency": CurrencySpec(SUPPORTED_CURRENCIES),
        "product": StringSpec(),
        "product_data": _PRODUCT_DATA,
        "recurring": _RECURRING,
        "unit_amount": IntegerSpec(minimum=0, maximum=MAXIMUM_CHARGE),
        "unit_amount_decimal": DecimalSpec(),
    },
    required=frozenset({"currency"}),
    real=SessionCreateParamsLineItemPriceData,
    exclusive=(("product", "product_data"), ("unit_amount", "unit_amount_decimal")),
)
_LINE_ITEM = ObjectSpec(
    {
        "metadata": _METADATA,
        "price": StringSpec(),
        "price_data": _PRICE_DATA,
        "quantity": IntegerSpec(minimum=1, maximum=MAX_QUANTITY),
    },
    real=SessionCreateParamsLineItem,
    exclusive=(("price", "price_data"),),
)

#: ``POST /v1/checkout/sessions``.
SESSION_CREATE = ObjectSpec(
    {
        "adaptive_pricing": ObjectSpec(
            {"enabled": BooleanSpec()}, real=SessionCreateParamsAdaptivePricing
        ),
        "allow_promotion_codes": BooleanSpec(),
        "allowed_payment_method_types": ArraySpec(StringSpec(choices=PAYMENT_METHOD_TYPES)),
        "billing_address_collection": StringSpec(choices=("auto", "required")),
        "cancel_url": UrlSpec(),
        "client_reference_id": StringSpec(max_length=MAX_CLIENT_REFERENCE_ID),
        "currency": CurrencySpec(SUPPORTED_CURRENCIES),
        "customer_creation": StringSpec(choices=("always", "if_required")),
        "customer_email": EmailSpec(),
        "excluded_payment_method_types": ArraySpec(StringSpec(choices=PAYMENT_METHOD_TYPES)),
        "expand": ArraySpec(StringSpec()),
        "expires_at": IntegerSpec(minimum=0),
        "line_items": ArraySpec(_LINE_ITEM, max_items=MAX_LINE_ITEMS),
        "locale": StringSpec(choices=LOCALES),
        "metadata": _METADATA,
        "mode": StringSpec(choices=MODES),
        "payment_intent_data": ObjectSpec(
            {
                "description": StringSpec(max_length=1000),
                "metadata": _METADATA,
                "receipt_email": EmailSpec(),
                "statement_descriptor": StringSpec(max_length=22),
                "statement_descriptor_suffix": StringSpec(max_length=22),
            },
            real=SessionCreateParamsPaymentIntentData,
        ),
        "return_url": UrlSpec(),
        "submit_type": StringSpec(choices=SUBMIT_TYPES),
        "subscription_data": ObjectSpec(
            {"description": StringSpec(max_length=500), "metadata": _METADATA},
            real=SessionCreateParamsSubscriptionData,
        ),
        "success_url": UrlSpec(),
        "ui_mode": StringSpec(choices=UI_MODES),
    },
    required=frozenset({"mode"}),
    real=SessionCreateParams,
    exclusive=(("allowed_payment_method_types", "excluded_payment_method_types"),),
)


def _round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# =============================================================================================
# Validation
# =============================================================================================


@dataclass(frozen=True)
class SessionDraft:
    """Validated ``POST /v1/checkout/sessions`` parameters plus what Stripe derives from them."""

    params: JSONDict
    currency: str | None
    amount_subtotal: int | None
    expires_at: int


def parse_session_create(raw: JSONDict, now: int) -> SessionDraft:
    """Check decoded create parameters like Stripe; raise :class:`FakeStripeError` if invalid."""
    if "payment_method_types" in raw:
        raise invalid(
            "Received unknown parameter: payment_method_types (API version "
            f"{API_VERSION} replaced it with allowed_payment_method_types)",
            "payment_method_types",
            "parameter_unknown",
        )
    params = SESSION_CREATE.parse(raw, "")
    mode: str = params["mode"]
    _check_urls(params)
    _check_mode_options(params, mode)
    items = params.get("line_items", [])
    if mode in ("payment", "subscription") and not items:
        raise missing_parameter("line_items")
    if mode == "setup" and items:
        raise invalid("You cannot pass `line_items` in `setup` mode.", "line_items")
    currency, subtotal = _check_line_items(items, mode)
    if mode == "setup":
        currency = params.get("currency")
        if currency is None:
            raise missing_parameter("currency")
    elif "currency" in params and params["currency"] != currency:
        raise invalid(
            f"The currency {params['currency']} does not match the line items' currency "
            f"{currency}.",
            "currency",
        )
    if mode == "payment" and currency is not None and subtotal is not None:
        _check_total(subtotal, currency)
    return SessionDraft(params, currency, subtotal, _expires_at(params, now))


def _check_urls(params: JSONDict) -> None:
    ui_mode = params.get("ui_mode", "hosted_page")
    if ui_mode in REDIRECT_UI_MODES:
        if "success_url" not in params:
            raise missing_parameter("success_url")
        if "return_url" in params:
            raise invalid(
                f"You cannot pass `return_url` when `ui_mode` is `{ui_mode}`.", "return_url"
            )
        return
    for name in ("success_url", "cancel_url"):
        if name in params:
            raise invalid(f"You cannot pass `{name}` when `ui_mode` is `{ui_mode}`.", name)
    if "return_url" not in params:
        raise missing_parameter("return_url")


def _check_mode_options(params: JSONDict, mode: str) -> None:
    if "submit_type" in params and mode == "setup":
        raise invalid(
            "`submit_type` can only be specified on Checkout Sessions in `payment` or "
            "`subscription` mode.",
            "submit_type",
        )
    if "payment_intent_data" in params and mode != "payment":
        raise invalid(
            f"You can not pass `payment_intent_data` in `{mode}` mode.", "payment_intent_data"
        )
    if "subscription_data" in params and mode != "subscription":
        raise invalid(
            f"You can only pass `subscription_data` in `subscription` mode, not `{mode}`.",
            "subscription_data",
        )
    if "customer_creation" in params and mode != "payment":
        raise invalid(
            "`customer_creation` can only be used in `payment` mode.", "customer_creation"
        )


def _check_line_items(items: list[JSONDict], mode: str) -> tuple[str | None, int | None]:
    """The line items' common currency and subtotal; checks prices against ``mode``."""
    currency: str | None = None
    subtotal = 0
    recurring_seen: tuple[str, int] | None = None
    for index, item in enumerate(items):
        path = child("line_items", index)
        if "price" in item:
            raise resource_missing("price", item["price"], child(path, "price"))
        price = item.get("price_data")
        if price is None:
            raise missing_parameter(child(path, "price_data"))
        if "quantity" not in item:
            raise missing_parameter(child(path, "quantity"))
        price_path = child(path, "price_data")
        if "product" in price:
            raise resource_missing("product", price["product"], child(price_path, "product"))
        if "product_data" not in price:
            raise missing_parameter(child(price_path, "product_data"))
        if "unit_amount" not in price and "unit_amount_decimal" not in price:
            raise missing_parameter(child(price_path, "unit_amount"))
        recurring = price.get("recurring")
        if recurring is not None:
            _check_recurring(recurring, mode, child(price_path, "recurring"))
            period = (recurring["interval"], recurring.get("interval_count", 1))
            if recurring_seen is not None and period != recurring_seen:
                # The fake's own wording: one subscription bills all its items together.
                raise invalid(
                    "All recurring prices in a Checkout Session must have the same "
                    "`recurring.interval` and `recurring.interval_count` (every "
                    f"{period[1]} {period[0]} differs from every {recurring_seen[1]} "
                    f"{recurring_seen[0]}).",
                    child(price_path, "recurring"),
                )
            recurring_seen = period
        if currency is None:
            currency = price["currency"]
        elif price["currency"] != currency:
            raise invalid(
                "Checkout Sessions only support line items in a single currency: "
                f"{price['currency']} differs from {currency}.",
                child(price_path, "currency"),
            )
        unit = Decimal(price.get("unit_amount", price.get("unit_amount_decimal")))
        subtotal += _round_minor(unit * item["quantity"])
    if mode == "subscription" and recurring_seen is None:
        raise invalid(
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
            "line_items",
        )
    return currency, (subtotal if items else None)


def _check_recurring(recurring: JSONDict, mode: str, path: str) -> None:
    if mode != "subscription":
        raise invalid(
            f"You specified `{mode}` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
            path,
        )
    interval = recurring["interval"]
    count = recurring.get("interval_count", 1)
    if count > MAX_INTERVAL_COUNT[interval]:
        raise invalid(
            "The maximum billing period is one year (1 year, 12 months, 52 weeks or 365 days).",
            child(path, "interval_count"),
        )


def _check_total(total: int, currency: str) -> None:
    minimum = MINIMUM_CHARGE.get(currency, 1)
    if total < minimum:
        raise invalid(
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)}",
            None,
            "amount_too_small",
        )
    if total > MAXIMUM_CHARGE:
        raise invalid(
            "The Checkout Session's total amount due must be no more than "
            f"{format_amount(MAXIMUM_CHARGE, currency)}",
            None,
            "amount_too_large",
        )


def _expires_at(params: JSONDict, now: int) -> int:
    expires_at = params.get("expires_at")
    if expires_at is None:
        return now + MAX_EXPIRY_SECONDS
    if expires_at < now + MIN_EXPIRY_SECONDS:
        raise invalid(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            "expires_at",
        )
    if expires_at > now + MAX_EXPIRY_SECONDS:
        raise invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            "expires_at",
        )
    return expires_at


# =============================================================================================
# Objects
# =============================================================================================


def build_line_items(
    draft: SessionDraft, make_id: Callable[[str], str], now: int
) -> list[JSONDict]:
    """``item`` objects (as listed by ``/v1/checkout/sessions/{id}/line_items``)."""
    items: list[JSONDict] = []
    for item in draft.params.get("line_items", []):
        price_data = item["price_data"]
        unit = Decimal(price_data.get("unit_amount", price_data.get("unit_amount_decimal")))
        amount = _round_minor(unit * item["quantity"])
        product = price_data["product_data"]
        recurring = price_data.get("recurring")
        price: JSONDict = {
            "id": make_id("price_"),
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": now,
            "currency": price_data["currency"],
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": make_id("prod_"),
            "recurring": (
                None
                if recurring is None
                else {
                    "interval": recurring["interval"],
                    "interval_count": recurring.get("interval_count", 1),
                    "meter": None,
                    "usage_type": "licensed",
                }
            ),
            "tax_behavior": "unspecified",
            "type": "one_time" if recurring is None else "recurring",
            "unit_amount": price_data.get("unit_amount"),
            "unit_amount_decimal": str(unit),
        }
        items.append(
            {
                "id": make_id("li_"),
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price_data["currency"],
                "description": product["name"],
                "metadata": item.get("metadata", {}),
                "price": price,
                "quantity": item["quantity"],
            }
        )
    return items


def build_session(draft: SessionDraft, session_id: str, url: str | None, now: int) -> JSONDict:
    """A new, open ``checkout.session`` object for validated parameters."""
    params = draft.params
    mode = params["mode"]
    ui_mode = params.get("ui_mode", "hosted_page")
    allowed = params.get("allowed_payment_method_types")
    adaptive = params.get("adaptive_pricing", {}).get("enabled", mode == "payment")
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": adaptive} if mode == "payment" else None,
        "after_expiration": None,
        "allow_promotion_codes": params.get("allow_promotion_codes"),
        "allowed_payment_method_types": allowed,
        "amount_subtotal": draft.amount_subtotal,
        "amount_total": draft.amount_subtotal,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.get("billing_address_collection"),
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None if ui_mode in REDIRECT_UI_MODES else f"{session_id}_secret_fake",
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": draft.currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": (
            params.get("customer_creation", "if_required") if mode == "payment" else None
        ),
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "excluded_payment_method_types": params.get("excluded_payment_method_types"),
        "expires_at": draft.expires_at,
        "invoice": None,
        "invoice_creation": (
            {"enabled": False, "invoice_data": None} if mode == "payment" else None
        ),
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": params.get("metadata", {}),
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required" if mode == "payment" else "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": allowed or ["card"],
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "return_url": params.get("return_url"),
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": ui_mode,
        "url": url if ui_mode in REDIRECT_UI_MODES else None,
    }
