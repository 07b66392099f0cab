"""Exception kinds billing raises (registered in ``BillingConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from exceptionqueue.kinds import ExceptionKind

RETRY_LIMIT_REACHED = ExceptionKind(
    "retry_limit_reached",
    _("Billing period in manual review (retry limit reached or hard decline)"),
    severity="medium",
)
BILLING_AMOUNT_MISMATCH = ExceptionKind(
    "billing_amount_mismatch",
    _("Billing period: paid less, paid twice, or refunded after entitlement"),
    severity="high",
    blocking=True,
)
BILLING_LATE_LINK_PAYMENT = ExceptionKind(
    "billing_late_link_payment",
    _("Payment arrived on a superseded payment link of a billing period"),
    severity="high",
)
REMINDER_FAILED = ExceptionKind(
    "billing_reminder_failed", _("A dunning reminder could not be sent"), severity="low"
)

KINDS = (RETRY_LIMIT_REACHED, BILLING_AMOUNT_MISMATCH, BILLING_LATE_LINK_PAYMENT, REMINDER_FAILED)
