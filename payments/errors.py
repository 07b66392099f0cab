"""The payments error catalogue: every code the payments services, callbacks, sandbox and API
raise, with its HTTP status and a sentence (``core.errors.ErrorCode``).

Raise ``PaymentError.NAME.error("precise sentence")``; a code answered with another status in
one place passes ``status_code=`` (a lookup that failed is 503 where a refused order is 502).
Shared codes come from the kernel: ``core.errors.CoreError`` (``transition_not_allowed``,
``reason_required``) and ``RequestError`` (``invalid``, ``idempotency_key_reused``).
"""

from __future__ import annotations

from core.errors import ErrorCode


class PaymentError(ErrorCode):
    # Creating a payment and its order.
    BRANCH_NOT_FOUND = ("branch_not_found", 404, "The branch does not belong to this organisation.")
    UNKNOWN_PROVIDER = ("unknown_provider", 400, "Unknown provider.")
    UNKNOWN_PURPOSE = ("unknown_purpose", 400, "Unknown purpose.")
    UNSUPPORTED_CURRENCY = ("unsupported_currency", 400, "Unsupported currency.")
    INVALID_AMOUNT = ("invalid_amount", 400, "The amount must be positive.")
    ORDER_NUMBER_EXHAUSTED = ("order_number_exhausted", 409, "Could not draw a free order number.")
    PAYMENT_NOT_PENDING = ("payment_not_pending", 409, "The payment is no longer pending.")
    # The gateway and its account.
    PROVIDER_ERROR = ("provider_error", 502, "The gateway refused or failed the request.")
    PROVIDER_NOT_CONFIGURED = (
        "provider_not_configured",
        409,
        "The organisation has no active account for this gateway.",
    )
    BASE_URL_REFUSED = ("base_url_refused", 400, "payops must not send credentials to this URL.")
    CONFIG_REFUSED = (
        "config_refused",
        400,
        "An account's config may not name a host: the gateway URL is its checked base_url.",
    )
    # The gateway's word about a payment.
    ORDER_MISMATCH = ("order_mismatch", 409, "The gateway's answer is about another order.")
    REFERENCE_MISMATCH = (
        "reference_mismatch",
        409,
        "The gateway's answer is about another order.",
    )
    AMOUNT_MISMATCH = (
        "amount_mismatch",
        409,
        "The gateway's amount disagrees with the payment or the callback.",
    )
    CURRENCY_MISMATCH = ("currency_mismatch", 400, "The currency is not the one expected.")
    UNVERIFIABLE = (
        "unverifiable",
        400,
        "The callback carries no proof and there is no lookup.",
    )
    UNKNOWN_ORDER = ("unknown_order", 404, "No payment with this order number.")
    CALLBACK_DATE_IMPLAUSIBLE = (
        "callback_date_implausible",
        400,
        "The callback is dated before the payment was created or in the future.",
    )
    # Operators' decisions.
    COMMENT_REQUIRED = ("comment_required", 400, "A comment is required.")
    PAYMENT_NOT_LATE = (
        "payment_not_late",
        409,
        "Only an expired or declined payment the gateway reported paid can be reinstated.",
    )
    PAYMENT_REFUNDED_AT_GATEWAY = (
        "payment_refunded_at_gateway",
        409,
        "The gateway reports this payment refunded: it cannot be reinstated.",
    )
    PAYMENT_NOT_PAID_AT_GATEWAY = (
        "payment_not_paid_at_gateway",
        409,
        "The gateway does not report this payment paid: it cannot be reinstated.",
    )
    # Refunds.
    PAYMENT_NOT_REFUNDABLE = (
        "payment_not_refundable",
        409,
        "The payment is not verified, or the gateway has no refund API.",
    )
    PARTIAL_REFUND_NOT_SUPPORTED = (
        "partial_refund_not_supported",
        422,
        "This gateway refunds whole payments only.",
    )
    REFUND_EXCEEDS_PAYMENT = (
        "refund_exceeds_payment",
        422,
        "The refunds would exceed the payment.",
    )
    REFUND_IN_TRANSACTION = (
        "refund_in_transaction",
        500,
        "A refund calls the gateway and must not run inside a transaction.",
    )
    REFUND_UNRESOLVABLE = (
        "refund_unresolvable",
        409,
        "The gateway's answer cannot settle this refund: resolve it by hand.",
    )
    REFUND_LOOKUP_FAILED = ("refund_lookup_failed", 503, "The gateway lookup failed.")
    REFUND_OUTCOME_AMBIGUOUS = (
        "refund_outcome_ambiguous",
        409,
        "The gateway's refunded total does not match payops' refunds: an operator must decide.",
    )
    # The sandbox gateway.
    SANDBOX_DISABLED = ("sandbox_disabled", 404, "The sandbox gateway is off.")
    INVALID_OUTCOME = ("invalid_outcome", 400, "outcome is approved or declined.")
    NOT_A_SANDBOX_PAYMENT = (
        "not_a_sandbox_payment",
        422,
        "Only sandbox payments go through the sandbox.",
    )
    SANDBOX_FAILED = ("sandbox_failed", 502, "The sandbox round trip failed.")
