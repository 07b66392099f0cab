"""Customers and plans: who pays and what for."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from billing.errors import BillingError
from billing.models import Customer, Plan
from core.audit import save_audited
from core.money import check_amount_bound, round_money


@transaction.atomic
def customer_create(
    *,
    organization,
    external_ref: str,
    name: str,
    language: str,
    actor,
    email: str = "",
    phone: str = "",
) -> Customer:
    customer = Customer(
        organization=organization,
        external_ref=external_ref,
        name=name,
        language=language,
        email=email,
        phone=phone,
    )
    try:
        with transaction.atomic():
            save_audited(customer, actor=actor, reason="customer created")
    except IntegrityError:
        raise BillingError.DUPLICATE_CUSTOMER.error(
            fields={"external_ref": ["Already used by another customer."]}
        ) from None
    return customer


@transaction.atomic
def customer_dunning_set(*, customer: Customer, paused: bool, actor, reason: str) -> Customer:
    """An operator pauses (or resumes) the reminders of a customer; audited with the reason."""
    from core.errors import CoreError

    if not reason or not reason.strip():
        raise CoreError.REASON_REQUIRED.error(fields={"reason": ["This field is required."]})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    customer.dunning_paused = paused
    save_audited(
        customer, actor=actor, reason=f"dunning {'paused' if paused else 'resumed'}: {reason}"
    )
    return customer


@transaction.atomic
def plan_create(
    *,
    organization,
    code: str,
    name: str,
    amount: Decimal,
    currency: str,
    interval: str,
    actor,
    interval_count: int = 1,
    trial_days: int = 0,
) -> Plan:
    amount = check_amount_bound(round_money(amount, currency), currency)
    plan = Plan(
        organization=organization,
        code=code,
        name=name,
        amount=amount,
        currency=currency,
        interval=interval,
        interval_count=interval_count,
        trial_days=trial_days,
    )
    try:
        with transaction.atomic():
            save_audited(plan, actor=actor, reason="plan created")
    except IntegrityError:
        raise BillingError.DUPLICATE_PLAN.error(fields={"code": ["Already used."]}) from None
    return plan
