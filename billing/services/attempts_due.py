"""The due work's attempts, many periods at once: the rules of one attempt
(``billing.services.attempts``) applied per period, the rows written per batch.

``attempts_create_due`` takes a batch of at most ``DUE_BATCH`` due periods in one transaction,
in the lock order of ``billing.locks``. On PostgreSQL the batch's chosen periods go into a
temporary table and the payments, attempts, history rows, billing events and webhook outbox
rows are written from it by SQL (no model object per row); elsewhere (SQLite), and for a
gateway whose order numbers are drawn one at a time (Ameria), by model objects in bulk. The
gateway is called afterwards, attempt by attempt (``attempt_send``).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from billing import events
from billing.models import Attempt, BillingPeriod, Subscription
from billing.services.attempts import (
    _attempt_new,
    _collectable,
    _collectable_at,
    _method_of,
    _payment_of,
)
from billing.services.settings import billing_settings_get
from core.audit import with_history
from core.fsm import transition_apply
from payments.models import Payment

# The due work makes the due attempts in batches of at most this many periods, one transaction
# each: a fixed number of statements per batch instead of some thirty per attempt.
DUE_BATCH = 500


@transaction.atomic
def attempts_create_due(*, period_ids: list[int], actor, now: dt.datetime) -> list[Attempt]:
    """The due work's attempts (not manual) for many periods at once, with exactly the rules of
    ``_attempt_create`` for each (see ``_attempts_create_due_objects``). On PostgreSQL the rows
    are written by SQL from a temporary table of the chosen periods (``_attempts_create_due_sql``:
    no model object per row); elsewhere, and for a gateway whose order numbers are drawn one at
    a time (Ameria), by the object path. Returns the new attempts (pending, not yet sent)."""
    if connection.vendor == "postgresql":
        return _attempts_create_due_sql(period_ids=period_ids, actor=actor, now=now)
    return _attempts_create_due_objects(period_ids=period_ids, actor=actor, now=now)


def _attempts_so_far(period_ids) -> tuple[set[int], dict[int, int]]:
    """The periods (of ``period_ids``) with a pending attempt, and each period's attempts made."""
    pending = set(
        Attempt.objects.filter(period_id__in=period_ids, status=Attempt.Status.PENDING).values_list(
            "period_id", flat=True
        )
    )
    made = dict(
        Attempt.objects.filter(period_id__in=period_ids)
        .values("period_id")
        .annotate(n=Count("pk"))
        .values_list("period_id", "n")
    )
    return pending, made


@transaction.atomic
def _attempts_create_due_objects(
    *, period_ids: list[int], actor, now: dt.datetime
) -> list[Attempt]:
    """The due work's attempts (not manual) for many periods at once, with exactly the rules of
    ``_attempt_create`` for each: under the locks of ``billing.locks`` (the periods'
    subscriptions by id, then the periods by id), a period with a pending attempt is left as it
    is; a scheduled period at its due time is invoiced; a collectable one of a billable
    subscription under ``max_attempts`` gets attempt ``n + 1`` with its payment, and moves to
    pending. The same rows as one at a time: history rows with actor and reason, the billing
    events and their webhooks, the payments' ``created`` events, written set-based (one UPDATE
    of the periods per step with ``bulk_history_create``, ``bulk_create_with_history``, one
    outbox write per kind).
    The unique keys still say once: (subscription, period, number) and one pending attempt per
    period. Returns the new attempts (pending, not yet sent to the gateway)."""
    from payments.services import payment_create_many

    subscription_ids = set(
        BillingPeriod.objects.filter(pk__in=period_ids).values_list("subscription_id", flat=True)
    )
    if not subscription_ids:
        return []
    subscriptions = {
        s.pk: s
        for s in Subscription.objects.select_for_update(of=("self",), no_key=True)
        .select_related("organization", "customer", "plan", "branch")
        .filter(pk__in=subscription_ids)
        .order_by("pk")
    }
    periods = list(
        BillingPeriod.objects.select_for_update(of=("self",), no_key=True)
        .select_related("plan")
        .filter(pk__in=period_ids)
        .order_by("pk")
    )
    periods.sort(key=lambda period: (period.due_at, period.pk))
    pending, made = _attempts_so_far(period_ids)
    organization = next(iter(subscriptions.values())).organization
    settings = billing_settings_get(organization=organization)
    link_hours = settings.link_valid_hours
    invoiced, chosen = [], []
    for period in periods:
        if period.pk in pending:
            continue  # another run made it: the unique key and the lock say once
        subscription = subscriptions[period.subscription_id]
        if period.status == BillingPeriod.Status.SCHEDULED and period.due_at <= now:
            transition_apply(period, "mark_invoiced", what="billing period")
            period.invoiced_at = now
            invoiced.append((period, subscription))
        if not _collectable(period, now=now, manual=False):
            continue
        if subscription.status not in (*Subscription.LIVE, Subscription.Status.SUSPENDED):
            continue
        number = made.get(period.pk, 0) + 1
        if number > settings.max_attempts:
            continue
        chosen.append((period, subscription, number))
    if invoiced:
        _periods_save(
            [with_history(p, actor=actor, reason="invoiced") for p, _ in invoiced],
            actor=actor,
            status=BillingPeriod.Status.INVOICED,
            invoiced_at=now,
        )
        events.period_changed_many([(p, s, None) for p, s in invoiced], actor=actor, now=now)
    if not chosen:
        return []
    payments = payment_create_many(
        organization=organization,
        items=[
            _payment_of(period, subscription, link_hours=link_hours)
            for period, subscription, _ in chosen
        ],
        actor=actor,
    )
    attempts = []
    for (period, subscription, number), payment in zip(chosen, payments, strict=True):
        attempt = _attempt_new(
            period, subscription, number=number, payment=payment, now=now, link_hours=link_hours
        )
        attempts.append(with_history(attempt, actor=actor, reason=f"attempt {number}"))
    attempts = bulk_create_with_history(attempts, Attempt, default_user=actor)
    for period, _, number in chosen:
        transition_apply(period, "mark_pending", what="billing period")
        period.pending_at = now
        period.next_retry_at = None
        with_history(period, actor=actor, reason=f"attempt {number} pending")
    _periods_save(
        [period for period, _, _ in chosen],
        actor=actor,
        status=BillingPeriod.Status.PENDING,
        pending_at=now,
        next_retry_at=None,
    )
    events.period_changed_many(
        [
            (
                period,
                subscription,
                {"attempt": attempt.pk, "number": number, "order_number": attempt.order_number},
            )
            for (period, subscription, number), attempt in zip(chosen, attempts, strict=True)
        ],
        actor=actor,
        now=now,
    )
    return attempts


# The batch's chosen periods (one row per attempt to make), for the statements that write the
# payments, attempts, history rows and events (``_attempts_create_due_sql``).
DUE_TABLE = "billing_due_batch"
DUE_COLUMNS = (
    ("period_id", "bigint"),
    ("subscription_id", "bigint"),
    ("number", "integer"),
    ("method", "text"),
    ("attempt_id", "bigint"),
    ("payment_id", "bigint"),
    ("order_number", "text"),
    ("branch_id", "bigint"),
    ("provider", "text"),
    ("purpose", "text"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("description", "text"),
    ("window_seconds", "integer"),
    ("link_expires_at", "timestamptz"),
)
_PERIOD_VALUES = (*events.PERIOD_DATA_FIELDS, "due_at", "plan_id")
_SUBSCRIPTION_VALUES = (
    "pk",
    "status",
    "collection",
    "provider",
    "branch_id",
    "branch__organization_id",
    "customer__binding_id",
    "customer__binding_provider",
    "plan__name",
)


@transaction.atomic
def _attempts_create_due_sql(*, period_ids: list[int], actor, now: dt.datetime) -> list[Attempt]:
    """``attempts_create_due`` on PostgreSQL, the way of the payout build: the same locks (the
    periods' subscriptions by id, then the periods by id, ``FOR NO KEY UPDATE``) and the same
    per-period rules in Python over column values (pending attempt left alone, invoiced at the
    due time, collectable, billable subscription, ``max_attempts``, number, method, amount and
    the payment's checks); the chosen periods go into a temporary table by COPY and every row
    is written from it by ``INSERT … SELECT``: the payments with their history rows and
    ``created`` events (``payments_create_from``), the attempts with their history rows
    (reason ``attempt n``), the periods invoiced and pending by one UPDATE each with their
    history rows, the billing events and their webhook outbox rows. Python builds only the
    outbox bodies (the exact bytes signed)."""
    from core.bulk import Param, history_insert, ids_reserve, insert_select, qn, temp_table_copy
    from core.models import Organization
    from payments.models import new_order_number
    from payments.services import payment_row_check, payments_create_from

    # The ids first (a list, not a subquery: the lock's plan stays on the primary keys).
    subscription_ids = set(
        BillingPeriod.objects.filter(pk__in=period_ids).values_list("subscription_id", flat=True)
    )
    subscriptions = {
        row["pk"]: row
        for row in Subscription.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=subscription_ids)
        .order_by("pk")
        .values(*_SUBSCRIPTION_VALUES)
    }
    if not subscriptions:
        return []
    if any(s["provider"] == Payment.Provider.AMERIA for s in subscriptions.values()):
        # Numeric order numbers are drawn one payment at a time: the object path.
        return _attempts_create_due_objects(period_ids=period_ids, actor=actor, now=now)
    periods = list(
        BillingPeriod.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=period_ids)
        .order_by("pk")
        .values("organization_id", *_PERIOD_VALUES)
    )
    if not periods:
        return []
    periods.sort(key=lambda period: (period["due_at"], period["id"]))
    pending, made = _attempts_so_far(period_ids)
    organization = Organization.objects.get(pk=periods[0]["organization_id"])
    settings = billing_settings_get(organization=organization)
    link_hours = settings.link_valid_hours
    invoiced, chosen = [], []
    for period in periods:
        if period["id"] in pending:
            continue  # another run made it: the unique key and the lock say once
        subscription = subscriptions[period["subscription_id"]]
        if period["status"] == BillingPeriod.Status.SCHEDULED and period["due_at"] <= now:
            period["status"] = BillingPeriod.Status.INVOICED  # mark_invoiced's source and target
            invoiced.append(period)
        if not _collectable_at(period["status"], period["next_retry_at"], now=now, manual=False):
            continue
        if subscription["status"] not in (*Subscription.LIVE, Subscription.Status.SUSPENDED):
            continue
        number = made.get(period["id"], 0) + 1
        if number > settings.max_attempts:
            continue
        chosen.append((period, subscription, number))
    if invoiced:
        ids = [period["id"] for period in invoiced]
        BillingPeriod.objects.filter(pk__in=ids).update(
            status=BillingPeriod.Status.INVOICED, invoiced_at=now
        )
        history_insert(
            BillingPeriod,
            source=f"FROM {qn(BillingPeriod._meta.db_table)} t WHERE t.id = ANY(%s) ORDER BY t.id",
            params=[ids],
            actor=actor,
            reason="invoiced",
            when=timezone.now(),
        )
        events.period_changed_bulk(
            [(dict(period), None) for period in invoiced],
            organization=organization,
            actor=actor,
            now=now,
        )
    if not chosen:
        return []
    payment_ids = ids_reserve(Payment, len(chosen))
    attempt_ids = ids_reserve(Attempt, len(chosen))
    rows, attempts, changes = [], [], []
    for (period, subscription, number), payment_id, attempt_id in zip(
        chosen, payment_ids, attempt_ids, strict=True
    ):
        amount, window_seconds = payment_row_check(
            organization=organization,
            branch_organization_id=subscription["branch__organization_id"],
            provider=subscription["provider"],
            purpose=Payment.Purpose.SUBSCRIPTION,
            amount=period["expected_amount"] - period["verified_amount"],
            currency=period["currency"],
            window_seconds=link_hours * 3600,
        )
        method = _method_of(
            collection=subscription["collection"],
            provider=subscription["provider"],
            binding_id=subscription["customer__binding_id"],
            binding_provider=subscription["customer__binding_provider"],
        )
        order_number = new_order_number()
        link_expires_at = (
            now + dt.timedelta(hours=link_hours) if method == Attempt.Method.PAYMENT_LINK else None
        )
        rows.append(
            (
                period["id"],
                subscription["pk"],
                number,
                method,
                attempt_id,
                payment_id,
                order_number,
                subscription["branch_id"],
                subscription["provider"],
                Payment.Purpose.SUBSCRIPTION,
                amount,
                period["currency"],
                f"{subscription['plan__name']} {period['start'].isoformat()}",
                window_seconds,
                link_expires_at,
            )
        )
        attempts.append(
            Attempt(
                id=attempt_id,
                organization_id=organization.pk,
                subscription_id=subscription["pk"],
                period_id=period["id"],
                number=number,
                method=method,
                status=Attempt.Status.PENDING,
                payment_id=payment_id,
                order_number=order_number,
                link_expires_at=link_expires_at,
                created_at=now,
            )
        )
        period["status"] = BillingPeriod.Status.PENDING  # mark_pending's target
        period["next_retry_at"] = None
        changes.append(
            (period, {"attempt": attempt_id, "number": number, "order_number": order_number})
        )
    temp_table_copy(DUE_TABLE, DUE_COLUMNS, rows)
    payments_create_from(organization=organization, table=DUE_TABLE, actor=actor)
    batch = f"{qn(DUE_TABLE)} b"
    insert_select(
        Attempt,
        {
            "id": "b.attempt_id",
            "organization_id": Param(organization.pk),
            "subscription_id": "b.subscription_id",
            "period_id": "b.period_id",
            "number": "b.number",
            "method": "b.method",
            "status": Param(Attempt.Status.PENDING),
            "payment_id": "b.payment_id",
            "order_number": "b.order_number",
            "link_expires_at": "b.link_expires_at",
            "created_at": Param(now),
        },
        source=f"FROM {batch} ORDER BY b.attempt_id",
    )
    when = timezone.now()
    history_insert(
        Attempt,
        source=f"FROM {qn(Attempt._meta.db_table)} t JOIN {batch} ON b.attempt_id = t.id"
        " ORDER BY t.id",
        actor=actor,
        reason_sql="'attempt ' || b.number",
        history_type="+",
        when=when,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(BillingPeriod._meta.db_table)} p SET status = %s, pending_at = %s,"  # noqa: S608
            f" next_retry_at = NULL FROM {batch} WHERE p.id = b.period_id",
            [BillingPeriod.Status.PENDING, now],
        )
    history_insert(
        BillingPeriod,
        source=f"FROM {qn(BillingPeriod._meta.db_table)} t JOIN {batch} ON b.period_id = t.id"
        " ORDER BY t.id",
        actor=actor,
        reason_sql="'attempt ' || b.number || ' pending'",
        when=when,
    )
    events.period_changed_bulk(changes, organization=organization, actor=actor, now=now)
    return attempts


def _periods_save(periods: list[BillingPeriod], *, actor, **values) -> None:
    """Save what one transition set on each of ``periods`` (the same ``values`` for all: one
    UPDATE, not ``bulk_update``'s CASE per row) and their history rows (one INSERT; each
    period's actor and reason from ``with_history``)."""
    BillingPeriod.objects.filter(pk__in=[p.pk for p in periods]).update(**values)
    BillingPeriod.history.bulk_history_create(periods, update=True, default_user=actor)
