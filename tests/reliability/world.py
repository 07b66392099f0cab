"""A populated organisation, built through the real services: the objects an access check needs.

One builder per domain, in ``BUILDERS``. The access matrix asks every list endpoint for the
victim organisation's rows and fails when one comes back empty: a domain that adds an endpoint
adds its builder here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from core.actors import system_actor
from core.models import Branch, Organization
from payouts.tests.factories import paid, refund, request, today


def build_core(world: dict) -> None:
    world["branch"] = Branch.objects.create(
        organization=world["organization"], code="main", name="Main"
    )


def build_webhooks(world: dict) -> None:
    from django.test import override_settings

    from webhooks.services import endpoint_create

    with override_settings(PAYOPS_WEBHOOKS_ALLOW_PRIVATE=True):  # nothing is sent to it
        world["endpoint"] = endpoint_create(
            organization=world["organization"],
            url="http://127.0.0.1:9/hook",
            event_types=["payment.verified", "payment.refunded"],
            actor=world["actor"],
        )


def build_payouts(world: dict) -> None:
    from payouts import services

    organization, actor = world["organization"], world["actor"]
    recipient = services.recipient_create(
        organization=organization,
        scope="employee",
        name="Anna Waiter",
        branch=world["branch"],
        external_ref="W-1",
        actor=actor,
    )
    qr = services.qr_code_create(recipient=recipient, actor=actor)
    payment = paid(qr, "5000.00")  # payment.verified: an outbox event and a delivery
    refund(payment, "1000.00")
    day = today(organization)
    monday = day + dt.timedelta(days=35 - day.weekday())
    world.update(recipient=recipient, qr=qr, payment=payment)
    world["payout"] = request(recipient, actor, day)
    world["period"] = services.period_create(
        organization=organization,
        kind="week",
        start_date=monday,
        end_date=monday + dt.timedelta(days=6),
        actor=actor,
    )


def build_exceptions(world: dict) -> None:
    from exceptionqueue.services import exception_raise

    world["case"] = exception_raise(
        organization=world["organization"],
        kind="webhook_delivery_failed",
        dedup_key="reliability-world",
        message="A receiver failed (built for the access matrix).",
        actor=world["actor"],
        amount=Decimal("10.00"),
        currency="AMD",
    )


def build_reconciliation(world: dict) -> None:
    from pathlib import Path

    from reconciliation.services import (
        accounting_period_create,
        bank_statement_import,
        reconciliation_run,
    )
    from reconciliation.tests.factories import import_rows, row_of

    organization, actor = world["organization"], world["actor"]
    day = today(organization)
    world["report"] = import_rows(organization, [row_of(world["payment"])])
    world["run"] = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    camt = Path(__file__).resolve().parents[2] / "reconciliation/tests/fixtures/camt053_example.xml"
    world["statement"] = bank_statement_import(
        organization=organization, data=camt.read_bytes(), actor=actor, file_name="camt.xml"
    )
    world["accounting_period"] = accounting_period_create(
        organization=organization,
        start=day.replace(year=day.year + 1),
        end=day.replace(year=day.year + 1),
        actor=actor,
    )


def build_appointments(world: dict) -> None:
    from django.utils import timezone

    from appointments import services

    organization, actor = world["organization"], world["actor"]
    policy = services.policy_create(
        organization=organization,
        code="standard",
        window_hours=24,
        refund_percent_before=Decimal("100"),
        refund_percent_after=Decimal("50"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )
    starts_at = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    world["appointment"] = services.appointment_book(
        organization=organization,
        branch=world["branch"],
        external_ref="crm-1",
        service_id="svc-cleaning",
        specialist_id="dr-7",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        policy_code=policy.code,
        customer=None,
        actor=actor,
    )
    world["payment_request"] = services.payment_request_create(
        appointment=world["appointment"],
        kind="deposit",
        amount=Decimal("10000.00"),
        currency="AMD",
        expires_in_minutes=60,
        actor=actor,
    )
    world["appointment_reconciliation"] = services.appointments_reconcile_day(
        organization=organization, date=today(organization), actor=actor
    )


def build_billing(world: dict) -> None:
    from django.utils import timezone

    from billing import services

    organization, actor = world["organization"], world["actor"]
    plan = services.plan_create(
        organization=organization,
        code="monthly",
        name="Monthly",
        amount=Decimal("15000.00"),
        currency="AMD",
        interval="month",
        actor=actor,
    )
    customer = services.customer_create(
        organization=organization,
        external_ref="member-1",
        name="Anahit",
        language="hy",
        email="anahit@example.am",
        actor=actor,
    )
    world["subscription"] = services.subscription_create(
        organization=organization,
        customer=customer,
        plan=plan,
        branch=world["branch"],
        start_date=today(organization),
        collection="payment_link",
        actor=actor,
    )
    services.customer_create(  # no email: the schema must allow its ""
        organization=organization, external_ref="member-2", name="Aram", language="hy", actor=actor
    )
    # The due work opens the period, makes the attempt (a payment link) and its notification.
    services.billing_due_work(organization=organization, now=timezone.now(), actor=actor)
    # And a dunning reminder about it (as after a failed attempt).
    from billing.models import BillingPeriod
    from billing.services.dunning import reminder_queue

    period = BillingPeriod.objects.filter(subscription=world["subscription"]).first()
    reminder_queue(period, subscription=world["subscription"], actor=actor, now=timezone.now())


BUILDERS: list[Callable[[dict], None]] = [
    build_core,
    build_webhooks,
    build_payouts,
    build_exceptions,
    build_reconciliation,
    build_appointments,
    build_billing,
]


def build_world(slug: str) -> dict:
    organization = Organization.objects.create(slug=slug, name=slug.title())
    world = {"organization": organization, "actor": system_actor("reliability")}
    for builder in BUILDERS:
        builder(world)
    return world
