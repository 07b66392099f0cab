"""Demo data for subscriptions (idempotent): Ararat Fitness, a gym in Yerevan, with members whose
billing periods are in every state (scheduled, invoiced, pending, paid, retrying, manual review,
waived) and a member on trial. Needs the sandbox gateway (on with DEBUG) for the payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from billing import services
from billing.locks import subscription_and_period_lock
from billing.models import Customer
from billing.services.attempts import period_invoice
from core.actors import system_actor
from core.clock import clock_now, clock_today
from core.models import Branch
from core.services import organization_ensure

ORG = "ararat-fitness"
MEMBERS = [
    # external_ref, name, language, email, phone, plan, start (days from today), what to show
    ("af-001", "Armen Grigoryan", "hy", "armen@example.am", "", "monthly", -12, "paid"),
    ("af-002", "Lilit Avetisyan", "hy", "", "+37491000002", "monthly", 0, "pending"),
    ("af-003", "Olga Smirnova", "ru", "olga@example.ru", "", "monthly", -2, "retrying"),
    ("af-004", "Narek Vardanyan", "hy", "narek@example.am", "", "monthly", -5, "manual_review"),
    ("af-005", "John Miller", "en", "john@example.com", "", "monthly", -20, "waived"),
    ("af-006", "Ani Mkrtchyan", "hy", "ani@example.am", "", "monthly", 6, "scheduled"),
    ("af-007", "Sergey Ivanov", "ru", "sergey@example.ru", "", "monthly", -1, "invoiced"),
    ("af-008", "Mane Hovhannisyan", "hy", "mane@example.am", "", "trial", 0, "trialing"),
]


def seed_demo(*, stdout) -> None:
    actor = system_actor("seed-demo")
    organization, _ = organization_ensure(slug=ORG, name="Ararat Fitness", actor=actor)
    branch, _ = Branch.objects.get_or_create(
        organization=organization, code="komitas", defaults={"name": "Komitas Ave 12"}
    )
    if Customer.objects.filter(organization=organization, external_ref="af-001").exists():
        stdout.write("billing: Ararat Fitness demo already there")
        return
    if not settings.PAYOPS_SANDBOX:
        stdout.write("billing: the sandbox is off; Ararat Fitness demo skipped")
        return
    plans = {
        "monthly": services.plan_create(
            organization=organization,
            code="monthly",
            name="Monthly membership",
            amount=Decimal("18000.00"),
            currency="AMD",
            interval="month",
            actor=actor,
        ),
        "trial": services.plan_create(
            organization=organization,
            code="monthly-trial",
            name="Monthly, 14 days free",
            amount=Decimal("18000.00"),
            currency="AMD",
            interval="month",
            trial_days=14,
            actor=actor,
        ),
    }
    services.plan_create(
        organization=organization,
        code="yearly",
        name="Yearly membership",
        amount=Decimal("180000.00"),
        currency="AMD",
        interval="year",
        actor=actor,
    )
    today = clock_today(organization)
    for ref, name, language, email, phone, plan, offset, show in MEMBERS:
        customer = services.customer_create(
            organization=organization,
            external_ref=ref,
            name=name,
            language=language,
            email=email,
            phone=phone,
            actor=actor,
        )
        subscription = services.subscription_create(
            organization=organization,
            customer=customer,
            plan=plans[plan],
            branch=branch,
            start_date=today + dt.timedelta(days=offset),
            collection="payment_link",
            actor=actor,
        )
        _walk(subscription, show=show, actor=actor)
    stdout.write(f"billing: Ararat Fitness with {len(MEMBERS)} members (periods in every state)")


def _walk(subscription, *, show: str, actor) -> None:
    """Take the member's first period to the state ``show`` through the services."""
    from payments import sandbox

    if show in ("scheduled", "trialing"):
        return
    period = subscription.periods.get()
    if show == "invoiced":
        with transaction.atomic():
            locked_subscription, locked = subscription_and_period_lock(period)
            period_invoice(
                locked,
                subscription=locked_subscription,
                actor=actor,
                now=clock_now(subscription.organization),
            )
        return
    attempt = services.attempt_make(period=period, actor=actor)
    if show == "pending" or attempt is None:
        return
    outcome = {"paid": "approved", "retrying": "insufficient_funds"}.get(show, "declined")
    sandbox.outcome_apply(payment=attempt.payment, outcome=outcome, actor=actor)
    if show == "waived":
        period.refresh_from_db()
        services.period_decide(
            period=period,
            decision="waive",
            comment="demo: waived by the manager (member moved abroad)",
            actor=actor,
        )
