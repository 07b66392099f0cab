# ruff: noqa: S608  (the floor is the benchmark's own SQL, built from model metadata and ids)
"""Workload 3: subscriptions' due attempts and the dunning sweep (billing's due work, as beat runs
it through ``core.duework``), each against its floor: the same rows written by ``psql`` with
``INSERT … SELECT`` in one transaction.

Data by COPY, in a fresh organisation per run (so every run, the application's and the floor's,
starts from the same state; nothing is deleted: the audit tables are append-only):

- **due attempts**: ``S`` live subscriptions (``BENCH_DUE_SUBSCRIPTIONS``, default ``size // 10``:
  100,000 at 1M), each with its first period scheduled and due now; billing's due work
  (``billing.services.due.billing_due_work``) invoices every period and creates its attempt
  (payment, attempt, period pending; history rows, billing events, webhook outbox rows);
- **dunning sweep**: ``S // 10`` subscriptions whose period is retrying (attempt 1 failed, its
  payment declined, reminder 1 queued) with the retry due and the block date passed; the due work
  makes attempt 2, suspends the subscription (grace over) and sends the queued reminder.

The gateway is not called (issue 14: "without the gateway call"): ``attempt_send`` is replaced
by a no-op for the timed runs, so the attempts stay pending with their links unregistered. Each
application run is checked: one pending attempt per period, numbered after the failed ones,
the payment's amount the period's, and (sweep) every subscription suspended, every reminder sent.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from decimal import Decimal
from itertools import count
from unittest import mock

from django.db import connection
from django.test import override_settings
from psycopg import sql as pgsql

from benchmarks.data import _columns, copy_rows
from benchmarks.harness import Result

NAME = "due_attempts"
TITLE = "(3) subscriptions' due attempts and the dunning sweep"
ORDER = 3

AMOUNT = Decimal("15000.00")
_serial = count(1)


def subscriptions_for(size: int) -> int:
    return int(os.environ.get("BENCH_DUE_SUBSCRIPTIONS", max(100, size // 10)))


def _literal(value) -> str:
    if isinstance(value, dt.datetime | dt.date | Decimal | int | float | bool | str):
        return pgsql.Literal(value).as_string(connection.connection)
    if value is None:
        return "NULL"
    return pgsql.Literal(value).as_string(connection.connection)  # Jsonb


def insert_select(model, values: dict[str, str], source: str) -> str:
    """``INSERT INTO <model's table> (every column) SELECT <values or the field defaults>
    <source>``: ``values`` maps a column to an SQL expression over ``source``."""
    names, defaults = _columns(model, dict.fromkeys(values))
    exprs = [
        values[c] if c in values else _literal(d) for c, d in zip(names, defaults, strict=True)
    ]
    missing = set(values) - set(names)
    assert not missing, missing
    quoted = ", ".join(f'"{c}"' for c in names)
    table = model._meta.db_table
    return f'INSERT INTO "{table}" ({quoted})\n  SELECT {", ".join(exprs)}\n  {source};\n'


def history_select(model, source_table: str, where: str, *, reason: str, actor: int) -> str:
    """History rows (django-simple-history, type ``~``) of ``model``'s rows chosen by ``where``."""
    history = model.history.model
    values = {f.column: f'"{f.column}"' for f in model._meta.concrete_fields}
    values |= {
        "history_date": "now()",
        "history_change_reason": _literal(reason),
        "history_type": "'~'",
        "history_user_id": str(actor),
    }
    values = {c: v for c, v in values.items() if c in {f.column for f in history._meta.fields}}
    return insert_select(history, values, f'FROM "{source_table}" WHERE {where}')


class Billing:
    """The billing rows of one fresh organisation: ``due`` scheduled periods due now and
    ``dunning`` retrying periods past their retry and block dates."""

    def __init__(self, *, due: int, dunning: int, now: dt.datetime):
        from billing.models import (
            Attempt,
            BillingPeriod,
            BillingSettings,
            Customer,
            Notification,
            Plan,
            Subscription,
        )
        from core.models import Branch, Organization
        from payments.models import Payment

        serial = f"{os.getpid()}-{next(_serial)}-{uuid.uuid4().hex[:6]}"
        self.organization = Organization.objects.create(slug=f"due-{serial}", name="Fitness chain")
        self.branch = Branch.objects.create(organization=self.organization, code="gym", name="Gym")
        self.settings = BillingSettings.objects.create(organization=self.organization)
        plan = Plan.objects.create(
            organization=self.organization,
            code="monthly",
            name="Monthly",
            amount=AMOUNT,
            currency="AMD",
            interval="month",
        )
        self.due, self.dunning, self.now = due, dunning, now
        org, tz = self.organization, self.organization.tz
        today = now.astimezone(tz).date()
        total = due + dunning
        start = today.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        first = self._next_id(Customer)
        copy_rows(
            Customer,
            ["id", "organization", "external_ref", "name", "language", "email"],
            (
                (first + i, org.pk, f"c{i}", f"Member {i}", "hy", f"m{i}@example.test")
                for i in range(total)
            ),
        )
        self._reset(Customer)
        first_sub = self._next_id(Subscription)
        copy_rows(
            Subscription,
            [
                "id", "organization", "customer", "plan", "branch", "provider", "collection",
                "status", "start_date", "billing_anchor",
            ],
            (
                (
                    first_sub + i, org.pk, first + i, plan.pk, self.branch.pk, "sandbox",
                    "payment_link", "active", start, start,
                )
                for i in range(total)
            ),
        )  # fmt: skip
        self._reset(Subscription)
        self.subscriptions = (first_sub, first_sub + total - 1)
        due_at = dt.datetime.combine(start, dt.time(), tzinfo=tz)
        first_period = self._next_id(BillingPeriod)
        retry_at = now - dt.timedelta(hours=1)

        def periods():
            for i in range(total):
                retrying = i >= due
                yield (
                    first_period + i, org.pk, first_sub + i, 1, "regular", plan.pk, start, end,
                    start, due_at, AMOUNT, "AMD",
                    "retrying" if retrying else "scheduled",
                    due_at if retrying else None,
                    retry_at if retrying else None,
                    # the block date: passed for the retrying ones, a week ahead for the others
                    (today - dt.timedelta(days=1)) if retrying else today + dt.timedelta(days=7),
                    1 if retrying else 0,
                )  # fmt: skip

        copy_rows(
            BillingPeriod,
            [
                "id", "organization", "subscription", "number", "kind", "plan", "start", "end",
                "due_date", "due_at", "expected_amount", "currency", "status", "invoiced_at",
                "next_retry_at", "block_date", "reminders_sent",
            ],
            periods(),
        )  # fmt: skip
        self._reset(BillingPeriod)
        self.periods = (first_period, first_period + total - 1)
        if dunning:
            first_payment = self._next_id(Payment)
            copy_rows(
                Payment,
                [
                    "id", "organization", "branch", "provider", "order_number", "purpose",
                    "amount", "currency", "status",
                ],
                (
                    (
                        first_payment + i, org.pk, self.branch.pk, "sandbox",
                        f"D{serial}-{i}"[:32], "subscription", AMOUNT, "AMD", "declined",
                    )
                    for i in range(dunning)
                ),
            )  # fmt: skip
            self._reset(Payment)
            copy_rows(
                Attempt,
                [
                    "organization", "subscription", "period", "number", "method", "status",
                    "payment", "order_number", "created_at", "finished_at", "failure_code",
                ],
                (
                    (
                        org.pk, first_sub + due + i, first_period + due + i, 1, "payment_link",
                        "failed", first_payment + i, f"D{serial}-{i}"[:32], due_at, due_at,
                        "insufficient_funds",
                    )
                    for i in range(dunning)
                ),
            )  # fmt: skip
            self._reset(Attempt)
            copy_rows(
                Notification,
                [
                    "organization", "customer", "period", "sequence", "channel", "language",
                    "recipient", "subject", "body", "created_at",
                ],
                (
                    (
                        org.pk, first + due + i, first_period + due + i, 1, "email", "hy",
                        f"m{due + i}@example.test", "Payment did not go through",
                        "We could not collect 15000.00 AMD.", due_at,
                    )
                    for i in range(dunning)
                ),
            )  # fmt: skip
            self._reset(Notification)
        with connection.cursor() as cursor:
            for model in (Customer, Subscription, BillingPeriod, Attempt, Notification, Payment):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')

    @staticmethod
    def _next_id(model) -> int:
        with connection.cursor() as cursor:
            table = model._meta.db_table
            cursor.execute(f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id'))")
            return cursor.fetchone()[0] + 1

    @staticmethod
    def _reset(model) -> None:
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )


def floor_sql(billing: Billing, actor: int) -> str:
    """The same rows as the due work, in one transaction of ``INSERT … SELECT``: per collectable
    period (due now, or retrying with its retry due) a payment with its history row and
    ``created`` event, an attempt (numbered after the failed ones) with its history row, the period
    invoiced (scheduled ones) and pending with two history rows, two billing events and two
    webhook outbox rows; then (the sweep) the subscriptions past their block date suspended with
    a history row, a billing event and an outbox row, the queued reminders marked sent."""
    from billing.models import Attempt, BillingEvent, BillingPeriod, Subscription
    from payments.models import Payment, PaymentEvent
    from webhooks.models import WebhookEvent

    org, now = billing.organization.pk, _literal(billing.now)
    link = _literal(billing.now + dt.timedelta(hours=billing.settings.link_valid_hours))
    out = [
        "BEGIN;\n",
        "CREATE TEMP TABLE due ON COMMIT DROP AS\n"
        "  SELECT bp.id AS period_id, bp.subscription_id, bp.status AS was,"
        " bp.expected_amount - bp.verified_amount AS amount, bp.currency,"
        " s.branch_id, s.provider,"
        " (SELECT count(*) FROM billing_attempt a WHERE a.period_id = bp.id) + 1 AS number,"
        " nextval(pg_get_serial_sequence('payments_payment', 'id')) AS payment_id,"
        " 'PO' || upper(substr(md5(random()::text || bp.id), 1, 24)) AS order_number\n"
        "  FROM billing_billingperiod bp JOIN billing_subscription s ON s.id = bp.subscription_id\n"
        f"  WHERE bp.organization_id = {org} AND s.status IN ('trialing', 'active', 'past_due',"
        " 'suspended')\n"
        f"    AND ((bp.status = 'scheduled' AND bp.due_at <= {now})"
        f" OR (bp.status = 'retrying' AND bp.next_retry_at <= {now}))\n"
        "  ORDER BY bp.due_at, bp.id FOR UPDATE OF s, bp;\n",
        insert_select(
            Payment,
            {
                "id": "payment_id",
                "organization_id": str(org),
                "branch_id": "branch_id",
                "provider": "provider",
                "order_number": "order_number",
                "purpose": "'subscription'",
                "amount": "amount",
                "currency": "currency",
                "description": "'Monthly ' || period_id",
                "expires_at": f"{link}::timestamptz",
                "next_check_at": "now() + interval '1 minute'",
                "created_at": "now()",
                "updated_at": "now()",
            },
            "FROM due",
        ),
        history_select(
            Payment,
            "payments_payment",
            "id IN (SELECT payment_id FROM due)",
            reason="payment created",
            actor=actor,
        ),
        insert_select(
            PaymentEvent,
            {
                "organization_id": str(org),
                "payment_id": "payment_id",
                "kind": "'created'",
                "to_status": "'pending'",
                "actor_id": str(actor),
                "occurred_at": "now()",
                "amount": "amount",
                "currency": "currency",
            },
            "FROM due",
        ),
        insert_select(
            Attempt,
            {
                "organization_id": str(org),
                "subscription_id": "subscription_id",
                "period_id": "period_id",
                "number": "number",
                "method": "'payment_link'",
                "status": "'pending'",
                "payment_id": "payment_id",
                "order_number": "order_number",
                "link_expires_at": f"{link}::timestamptz",
                "created_at": now,
            },
            "FROM due",
        ),
        history_select(
            Attempt,
            "billing_attempt",
            "payment_id IN (SELECT payment_id FROM due)",
            reason="attempt",
            actor=actor,
        ),
        f"UPDATE billing_billingperiod bp SET status = 'invoiced', invoiced_at = {now}\n"
        "  FROM due WHERE bp.id = due.period_id AND due.was = 'scheduled';\n",
        history_select(
            BillingPeriod,
            "billing_billingperiod",
            "id IN (SELECT period_id FROM due WHERE was = 'scheduled')",
            reason="invoiced",
            actor=actor,
        ),
        f"UPDATE billing_billingperiod bp SET status = 'pending', pending_at = {now},"
        " next_retry_at = NULL FROM due WHERE bp.id = due.period_id;\n",
        history_select(
            BillingPeriod,
            "billing_billingperiod",
            "id IN (SELECT period_id FROM due)",
            reason="attempt pending",
            actor=actor,
        ),
        insert_select(
            BillingEvent,
            {
                "organization_id": str(org),
                "subscription_id": "subscription_id",
                "period_id": "period_id",
                "kind": "k.kind",
                "actor_id": str(actor),
                "occurred_at": now,
                "data": "jsonb_build_object('number', number, 'order_number', order_number)",
            },
            "FROM due CROSS JOIN (VALUES ('period_invoiced'), ('period_pending')) k(kind)"
            " WHERE k.kind = 'period_pending' OR was = 'scheduled'",
        ),
        insert_select(
            WebhookEvent,
            {
                "id": "'msg_' || md5(random()::text || period_id || k.kind)",
                "organization_id": str(org),
                "event_type": "'billing_' || replace(k.kind, '_', '.')",
                "subject_type": "'billing_period'",
                "subject_id": "period_id::text",
                "dedup": "'floor:' || period_id || k.kind",
                "data": "jsonb_build_object('id', period_id, 'status', k.kind, 'amount',"
                " amount::text, 'currency', currency)",
                "body": "jsonb_build_object('type', k.kind, 'data', jsonb_build_object('id',"
                " period_id, 'amount', amount::text))::text",
                "created_at": "now()",
            },
            "FROM due CROSS JOIN (VALUES ('period_invoiced'), ('period_pending')) k(kind)"
            " WHERE k.kind = 'period_pending' OR was = 'scheduled'",
        ),
        # The sweep: grace over -> suspended; queued reminders sent.
        "CREATE TEMP TABLE overdue ON COMMIT DROP AS\n"
        "  SELECT DISTINCT s.id FROM billing_subscription s JOIN billing_billingperiod bp"
        " ON bp.subscription_id = s.id\n"
        f"  WHERE s.organization_id = {org} AND s.status IN ('trialing', 'active', 'past_due')\n"
        "    AND bp.status IN ('invoiced', 'pending', 'retrying', 'manual_review')"
        f" AND bp.block_date <= ({now}::timestamptz AT TIME ZONE"
        f" {_literal(billing.organization.timezone)})::date;\n",
        "UPDATE billing_subscription s SET status = 'suspended'\n"
        "  FROM overdue o WHERE s.id = o.id;\n",
        history_select(
            Subscription,
            "billing_subscription",
            "id IN (SELECT id FROM overdue)",
            reason="suspended",
            actor=actor,
        ),
        insert_select(
            BillingEvent,
            {
                "organization_id": str(org),
                "subscription_id": "id",
                "kind": "'subscription.suspended'",
                "actor_id": str(actor),
                "occurred_at": now,
                "comment": "'unpaid at the block date (grace over)'",
            },
            "FROM overdue",
        ),
        insert_select(
            WebhookEvent,
            {
                "id": "'msg_' || md5(random()::text || id)",
                "organization_id": str(org),
                "event_type": "'subscription.suspended'",
                "subject_type": "'subscription'",
                "subject_id": "id::text",
                "dedup": "'floor:s' || id",
                "data": "jsonb_build_object('id', id, 'status', 'suspended')",
                "body": "jsonb_build_object('type', 'subscription.suspended')::text",
                "created_at": "now()",
            },
            "FROM overdue",
        ),
        f"UPDATE billing_notification SET status = 'sent', sent_at = {now}"
        f" WHERE organization_id = {org} AND status = 'queued';\n",
        "COMMIT;\n",
    ]
    return "".join(out)


def _check(billing: Billing) -> None:
    from billing.models import Attempt, BillingPeriod, Notification, Subscription

    org = billing.organization
    pending = Attempt.objects.filter(organization=org, status="pending")
    assert pending.count() == billing.due + billing.dunning, pending.count()
    assert pending.filter(payment__amount=AMOUNT).count() == billing.due + billing.dunning
    assert pending.filter(number=2).count() == billing.dunning
    assert BillingPeriod.objects.filter(organization=org, status="pending").count() == (
        billing.due + billing.dunning
    )
    assert Subscription.objects.filter(organization=org, status="suspended").count() == (
        billing.dunning
    )
    assert not Notification.objects.filter(organization=org, status="queued").exists()


def _split(billing: Billing) -> dict[str, int]:
    """How many rows of each kind the due work wrote (for the report)."""
    from billing.models import BillingEvent
    from webhooks.models import WebhookEvent

    org = billing.organization
    return {
        "billing_events": BillingEvent.objects.filter(organization=org).count(),
        "outbox": WebhookEvent.objects.filter(organization=org).count(),
    }


def run(ctx) -> list[Result]:
    from billing.services import due
    from core.actors import system_actor

    actor = system_actor("due-work")
    subscriptions = subscriptions_for(ctx.size)
    dunning = max(10, subscriptions // 10)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    attempts_app, attempts_floor, sweep_app, sweep_floor, rows = [], [], [], [], {}

    def no_gateway(*, attempt, actor):
        return attempt

    for _ in range(ctx.repeat):
        # Floor: the due attempts and the sweep, in one psql transaction (two organisations'
        # data: the due and the dunning, timed apart like the application's).
        for which, samples in (("due", attempts_floor), ("dunning", sweep_floor)):
            billing = Billing(
                due=subscriptions if which == "due" else 0,
                dunning=dunning if which == "dunning" else 0,
                now=now,
            )
            samples.append(ctx.psql(floor_sql(billing, actor.pk)))
            _check(billing)
        for which, samples in (("due", attempts_app), ("dunning", sweep_app)):
            billing = Billing(
                due=subscriptions if which == "due" else 0,
                dunning=dunning if which == "dunning" else 0,
                now=now,
            )
            with (
                mock.patch.object(due, "attempt_send", no_gateway),
                mock.patch("billing.services.attempts.attempt_send", no_gateway),
                override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            ):
                started = time.perf_counter()
                counts = due.billing_due_work(
                    organization=billing.organization, now=now, actor=actor
                )
                samples.append(time.perf_counter() - started)
            _check(billing)
            rows[which] = {**counts, **_split(billing)}
    return [
        Result(
            NAME,
            f"due attempts of {subscriptions:,} subscriptions",
            "s",
            attempts_app,
            attempts_floor,
            extra={
                "per_attempt_ms": f"{1000 * min(attempts_app) / subscriptions:.2f}",
                **{k: v for k, v in rows["due"].items() if v},
            },
        ),
        Result(
            NAME,
            f"dunning sweep of {dunning:,} retrying periods",
            "s",
            sweep_app,
            sweep_floor,
            extra={k: v for k, v in rows["dunning"].items() if v},
        ),
    ]
