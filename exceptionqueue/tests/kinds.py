"""Kinds the queue's own tests raise: the kernel's tests name no domain either."""

from exceptionqueue.kinds import ExceptionKind, register_exception_kinds
from webhooks.exception_kinds import WEBHOOK_DELIVERY_FAILED


class Kind:
    REFUND_DRIFT = ExceptionKind(
        "sample_drift", "Sample money drift", severity="high", blocking=True
    )
    NO_VERIFIED_PAYMENTS = ExceptionKind("sample_notice", "Sample notice", severity="low")
    WEBHOOK_DELIVERY_FAILED = WEBHOOK_DELIVERY_FAILED


register_exception_kinds(Kind.REFUND_DRIFT, Kind.NO_VERIFIED_PAYMENTS)
