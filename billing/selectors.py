"""Billing reads: functions that change nothing."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from billing.models import (
    Attempt,
    BillingPeriod,
    Customer,
    Notification,
    Plan,
    Subscription,
)


def customer_get(*, organization, pk) -> Customer | None:
    return Customer.objects.filter(organization=organization, pk=pk).first()


def plan_get(*, organization, code_or_id) -> Plan | None:
    """A plan by its code (or id) in the organisation."""
    queryset = Plan.objects.filter(organization=organization)
    found = queryset.filter(code=str(code_or_id)).first()
    if found is None and str(code_or_id).isdigit():
        found = queryset.filter(pk=int(code_or_id)).first()
    return found


def period_list(*, organization) -> QuerySet[BillingPeriod]:
    return (
        BillingPeriod.objects.filter(organization=organization)
        .select_related("plan", "subscription")
        .prefetch_related(Prefetch("attempts", queryset=Attempt.objects.select_related("payment")))
    )


def subscription_list(*, organization) -> QuerySet[Subscription]:
    return Subscription.objects.filter(organization=organization).select_related(
        "customer", "plan", "pending_plan", "branch", "organization"
    )


def subscription_detail(*, organization) -> QuerySet[Subscription]:
    return subscription_list(organization=organization).prefetch_related(
        Prefetch(
            "periods",
            queryset=BillingPeriod.objects.select_related("plan").prefetch_related(
                Prefetch("attempts", queryset=Attempt.objects.select_related("payment"))
            ),
        )
    )


def attempt_list(*, organization) -> QuerySet[Attempt]:
    return Attempt.objects.filter(organization=organization).select_related("payment")


def notification_list(*, organization) -> QuerySet[Notification]:
    return Notification.objects.filter(organization=organization)


def manual_review_queue(*, organization) -> QuerySet[BillingPeriod]:
    return period_list(organization=organization).filter(status=BillingPeriod.Status.MANUAL_REVIEW)
