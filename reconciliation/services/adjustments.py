"""Late changes about closed accounting periods, booked as adjustments in the next open one.

Reconciliation listens to payment changes (``payments.hooks``), inside the transaction of the
change:

- a refund that succeeds for a payment verified in a closed period (or whose own date falls in
  a closed period) is booked as a ``late_refund`` adjustment (negative) on
  ``core.accounting.accounting_adjustment_date`` of the refund's own date: that date when its
  period is open, else the first day of the next period that is not closed;
- a payment verified after the period of its creation closed (a late payment) is booked as a
  ``late_payment`` adjustment (positive), with a link to the payment.

The kernel itself refuses changes dated in a closed period (``accounting_period_guard``); these
rows keep the closed period's figures untouched and make the money visible where it lands. A
payment or refund with an adjustment counts in the ``adjustments`` figure of the period it is
booked in, and in no ``verified`` or ``refunded`` figure (``services/figures.py``): once.

The periods are read ``FOR SHARE`` (``core.locks``): a close racing the change either waits for
it (and counts it) or commits first (and the change is booked here). The close locks no payment
or refund, so taking the period after them makes no cycle.
"""

from __future__ import annotations

from django.utils import timezone

from core.accounting import accounting_adjustment_date, accounting_period_at
from core.clock import clock_now
from reconciliation.models import PeriodAdjustment


def _local(moment, organization):
    return timezone.localtime(moment, organization.tz).date()


def on_payment_change(change) -> None:
    payment = change.payment
    organization = payment.organization
    if change.kind == "refunded" and change.refund is not None:
        _late_refund(payment, change.refund, organization, actor=change.actor)
    elif change.kind == "verified":
        _late_payment(payment, organization, actor=change.actor)


def _late_refund(payment, refund, organization, *, actor) -> None:
    if payment.verified_at is None:
        return
    when = refund.completed_at or clock_now(organization)
    origin_moment = payment.verified_at
    origin = accounting_period_at(organization=organization, date=origin_moment, share_lock=True)
    if origin is None or not origin.is_closed:
        # The payment's period is open; a refund whose own date fell in a closed period (it was
        # asked before the close and the gateway answered after) is late all the same.
        origin_moment = when
        origin = accounting_period_at(
            organization=organization, date=origin_moment, share_lock=True
        )
        if origin is None or not origin.is_closed:
            return
    PeriodAdjustment.objects.get_or_create(
        refund=refund,
        defaults={
            "organization": organization,
            "kind": PeriodAdjustment.Kind.LATE_REFUND,
            "booked_on": accounting_adjustment_date(organization=organization, date=when),
            "origin_date": _local(origin_moment, organization),
            "origin_period": origin,
            "amount": -refund.amount,
            "currency": refund.currency,
            "payment": payment,
            "actor": actor,
            "comment": f"refund #{refund.pk} of a payment of the closed period {origin}",
        },
    )


def _late_payment(payment, organization, *, actor) -> None:
    origin = accounting_period_at(
        organization=organization, date=payment.created_at, share_lock=True
    )
    if origin is None or not origin.is_closed:
        return
    when = payment.verified_at or clock_now(organization)
    PeriodAdjustment.objects.get_or_create(
        payment=payment,
        kind=PeriodAdjustment.Kind.LATE_PAYMENT,
        defaults={
            "organization": organization,
            "booked_on": accounting_adjustment_date(organization=organization, date=when),
            "origin_date": _local(payment.created_at, organization),
            "origin_period": origin,
            "amount": payment.amount,
            "currency": payment.currency,
            "actor": actor,
            "comment": f"payment created in the closed period {origin}, verified later",
        },
    )
