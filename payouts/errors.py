"""The error codes payouts raises (services, API views): one catalogue, read by the schema.

Shared codes (``transition_not_allowed``, ``reason_required``, ``period_closed``,
``permission_denied``) are ``core.errors.CoreError``'s.
"""

from __future__ import annotations

from core.errors import ErrorCode


class PayoutError(ErrorCode):
    # ``sandbox_disabled`` and ``unsupported_currency`` are payments' codes too: payouts raises
    # them through these members until payments' catalogue is on main; then these members go and
    # their raise sites name ``PaymentError`` (each code is written once across the catalogues).
    UNKNOWN_BRANCH = ("unknown_branch", 400, "No such branch.")
    INVALID_SCOPE = ("invalid_scope", 400, "Unknown recipient scope.")
    DUPLICATE_RECIPIENT = (
        "duplicate_recipient",
        409,
        "A recipient with this external_ref already exists.",
    )
    RECIPIENT_INACTIVE = ("recipient_inactive", 409, "The recipient is inactive.")
    QR_CODE_INACTIVE = ("qr_code_inactive", 409, "This QR code is not active.")
    PROVIDER_REQUIRED = ("provider_required", 400, "Name the gateway.")
    INVALID_FEE_POLICY = (
        "invalid_fee_policy",
        400,
        "Percentage is 0-100 and fixed is not negative.",
    )
    INVALID_PERIOD = ("invalid_period", 400, "The period ends before it starts.")
    INVALID_TRANSITION = ("invalid_transition", 400, "Unknown target state.")
    PERIOD_NOT_CLOSED = ("period_not_closed", 409, "Only a closed period is built.")
    BUILD_CONFLICT = ("build_conflict", 409, "Building the period conflicted: retried later.")
    DUPLICATE_ACTIVE_PAYOUT = (
        "duplicate_active_payout",
        409,
        "An active payout of this recipient and currency overlaps this range.",
    )
    NO_VERIFIED_PAYMENTS = (
        "no_verified_payments",
        422,
        "No verified payments for this recipient in this currency and range.",
    )
    REFUND_DRIFT_UNRESOLVED = (
        "refund_drift_unresolved",
        409,
        "A refund hit an included payment: decide the drift first.",
    )
    REFERENCE_REQUIRED = (
        "reference_required",
        400,
        "Completing a payout needs the method and the reference.",
    )
    CARRIED_ADJUSTMENT_APPLIED = (
        "carried_adjustment_applied",
        409,
        "Refunds carried from this payout are already deducted by another payout.",
    )
    INVALID_DECISION = ("invalid_decision", 400, "Decision is one of recalculate, carry.")
    NO_DRIFT_TO_DECIDE = ("no_drift_to_decide", 409, "This payout has no held refund drift.")
    DECIDED_BY_DRIFT_DECISION = (
        "decided_by_drift_decision",
        409,
        "A refund drift case is resolved by the payout's drift decision.",
    )
