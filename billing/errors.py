"""The billing error catalogue: stable codes, HTTP statuses, sentences."""

from __future__ import annotations

from core.errors import ErrorCode


class BillingError(ErrorCode):
    # branch_not_found, currency_mismatch and unknown_provider are payments' codes
    # (PaymentError): each code is written once across the catalogues.
    CUSTOMER_NOT_FOUND = ("customer_not_found", 404, "No such customer in this organisation.")
    PLAN_NOT_FOUND = ("plan_not_found", 404, "No such plan in this organisation.")
    DUPLICATE_CUSTOMER = (
        "duplicate_customer",
        409,
        "A customer with this external_ref already exists.",
    )
    DUPLICATE_PLAN = ("duplicate_plan", 409, "A plan with this code already exists.")
    PLAN_INACTIVE = ("plan_inactive", 409, "The plan is no longer offered.")
    DECIDED_BY_REVIEW_DECISION = (
        "decided_by_review_decision",
        409,
        "A billing period in manual review is decided (retry or waive), not closed with a note.",
    )
    TOKENS_NOT_SUPPORTED = (
        "saved_card_not_supported",
        422,
        "The provider cannot charge a saved card (no tokenized recurring payments).",
    )
    START_DATE_OUT_OF_RANGE = (
        "start_date_out_of_range",
        400,
        "A subscription starts at most one billing interval of its plan before today, and its "
        "first period ends by 9998-12-31.",
    )
    SUBSCRIPTION_CANCELLED = (
        "subscription_cancelled",
        409,
        "The subscription is cancelled; it cannot be changed.",
    )
    SAME_PLAN = ("same_plan", 400, "The subscription is already on this plan.")
    DOWNGRADE_NOT_NOW = (
        "downgrade_at_period_end",
        422,
        "A downgrade takes effect at the end of the period (effective: period_end).",
    )
    RETRY_DELAYS_TOO_LONG = (
        "retry_delays_too_long",
        400,
        "retry_delays_hours lists more delays than there are retries (max_attempts - 1).",
    )
    UNKNOWN_RETRY_REASON = ("unknown_retry_reason", 400, "Unknown failure reason.")
    PERIOD_NOT_IN_REVIEW = (
        "period_not_in_review",
        409,
        "Only a period in manual review can be decided.",
    )
    PERIOD_NOT_PAID = ("period_not_paid", 409, "The period has no verified payment to refund.")
    REFUND_EXCEEDS_PERIOD = (
        "refund_exceeds_period",
        422,
        "The refund is more than the period's verified amount not yet refunded.",
    )
    INTERVAL_MISMATCH = (
        "interval_mismatch",
        422,
        "An upgrade now needs a plan with the same billing interval (or effective: period_end).",
    )
    NOTHING_TO_DECIDE = ("unknown_decision", 400, "decision is retry or waive.")
