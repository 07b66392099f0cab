"""The billing lock order, and the helpers that take locks in it.

    payment (payments' own lock, taken first by payments.services when a gateway answer
    arrives; the hook listener then runs inside it)
      -> subscription -> billing period

Billing never locks a payment while it holds a subscription or period lock: a service that must
change a payment (expire a superseded link) does it before taking billing locks, in its own
transaction. ``no_key=True`` (FOR NO KEY UPDATE) leaves inserting rows that point to the locked
row (attempts, events) free of the KEY SHARE conflict.
"""

from __future__ import annotations

from billing.models import BillingPeriod, Subscription


def subscription_lock(subscription: Subscription | int) -> Subscription:
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    return (
        Subscription.objects.select_for_update(of=("self",), no_key=True)
        .select_related("organization", "customer", "plan", "branch")
        .get(pk=pk)
    )


def period_lock(period: BillingPeriod | int) -> BillingPeriod:
    pk = period.pk if isinstance(period, BillingPeriod) else period
    return (
        BillingPeriod.objects.select_for_update(of=("self",), no_key=True)
        .select_related("plan")
        .get(pk=pk)
    )


def subscription_and_period_lock(period: BillingPeriod | int) -> tuple[Subscription, BillingPeriod]:
    """Lock the period's subscription, then the period (the order above)."""
    pk = period.pk if isinstance(period, BillingPeriod) else period
    subscription_id = BillingPeriod.objects.values_list("subscription_id", flat=True).get(pk=pk)
    subscription = subscription_lock(subscription_id)
    return subscription, period_lock(pk)
