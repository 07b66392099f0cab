"""The set-based build of a closed period's payout requests (and of its leftovers later).

Steps: batches (an unlocked read of the eligible payments' ids by recipient, cut into bounded
batches), then per batch in its own transaction: lock (the period, then the batch's recipients),
select (lock the eligible payments into a temporary table, sum them per scope, skip busy scopes),
compute (the adjustments that fit, the fee rule per payout), persist (payouts with history, lines
by ``INSERT ... SELECT``), announce (event rows, webhooks); last, record (the period's audit, or
the late-payment case). The statement count is constant per batch.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.audit import save_audited
from payments.models import Payment
from payouts import events, locks, selectors
from payouts.errors import PayoutError
from payouts.models import Payout, PayoutLine, PayoutPeriod
from payouts.services.amounts import adjustments_fit, payout_amounts
from payouts.services.cases import late_payment_case_raise

Line = PayoutLine.Kind


# A batch of the build holds at most about this many payments (a recipient is never split):
# at 1,000,000 payments a batch's transaction takes a few seconds, so a refund or a payout
# request of the period waits at most that long for its rows.
BUILD_BATCH_PAYMENTS = 50_000


def payout_period_build(
    *, period: PayoutPeriod, actor, batch_payments: int | None = None
) -> list[Payout]:
    """Build the payout requests of a closed period for every recipient, in bounded batches.

    The first build sets ``built_at``. Any later build (the task queued when a payment is verified
    late into a closed period, or the beat sweeper) builds the *leftovers*: payments of the period
    that no holding payout holds (verified after the build, released by a cancel or a reversal, or
    skipped because their scope had an active payout then) become follow-up payouts of the period,
    and a ``late_payment_in_closed_period`` case is listed so accountants see it.

    Batches (``BUILD_BATCH_PAYMENTS``): an unlocked read of the eligible payments' ids by
    recipient splits the recipients into batches of about that many payments; each batch is one
    transaction that takes the locks in ``payouts.locks``'s order (the period, the batch's
    recipients, their payments by id, read in the locking statement, their pending
    adjustments) and writes its payouts, lines, events and outbox rows. A last transaction
    records the build on the period (or lists the late payments' case). The guarantees hold per
    batch and so for the whole: a closed period stays closed (final), a payout request inside it
    is refused, a scope already holding an active overlapping payout is skipped (the exclusion
    constraint refuses a second one), each payment is in at most one holding line. A failure
    leaves the committed batches (whole payouts, money exact) and ``built_at`` unset: the task's
    retry or the beat sweeper builds the rest. Called inside an outer transaction (tests), the
    batches are savepoints of it.

    Statements per batch are constant in its recipients and payments, and no payment row comes
    to Python (PostgreSQL): lock the period, the recipients, lock the payments by id into the
    batch's temporary table (``CREATE TEMP TABLE ... AS SELECT ... FOR UPDATE``), remove those
    a holding line took meanwhile, the scopes' sums (``GROUP BY``), the active overlapping
    scopes, the pending adjustments (lock, read), the fee policies, the fee rule per payout in
    Python, the payouts and their history rows (``bulk_create_with_history``), the payment lines
    (one ``INSERT ... SELECT`` from the batch table), the adjustment lines, the event rows and
    the ``payout.requested`` outbox rows.
    """
    with transaction.atomic():
        period, _ = _build_lock(period)
        follow_up = period.built_at is not None
    what = "follow-up build (late payments)" if follow_up else "built"
    payouts, inserted = [], 0
    for recipient_ids, payment_ids, payment_recipients in _build_batches(
        period, batch_payments or BUILD_BATCH_PAYMENTS
    ):
        with transaction.atomic():
            period, recipients = _build_lock(period, recipient_ids)
            table, scopes = _build_select(period, recipient_ids, payment_ids, payment_recipients)
            if not scopes:
                continue
            batch, fitted = _build_compute(period, recipients, scopes, actor=actor)
            batch, count = _build_persist(period, batch, table, fitted, actor=actor, what=what)
            events.requested_many(
                batch, period=period, actor=actor, what=what, follow_up=follow_up, fitted=fitted
            )
        payouts += batch
        inserted += count
    with transaction.atomic():
        period = locks.period_lock(period)
        _build_record(period, payouts, inserted, actor=actor, follow_up=follow_up)
    return payouts


def _build_lock(period: PayoutPeriod, recipient_ids=None):
    """Lock order: period, recipients (then payments, adjustments; see ``payouts.locks``)."""
    period = locks.period_lock(period)
    if period.status != PayoutPeriod.Status.CLOSED:
        raise PayoutError.PERIOD_NOT_CLOSED.error("Only a closed period is built.")
    if recipient_ids is None:
        return period, {}
    return period, locks.recipients_lock(period.organization_id, ids=recipient_ids)


def _build_batches(period: PayoutPeriod, size: int) -> list[tuple[list[int], array, array]]:
    """``(recipient ids, payment ids, each payment's recipient id)`` batches of about ``size``
    eligible payments, recipients in id order, a recipient never split (its scopes are built
    whole). An unlocked read, once (the ids kept compactly); each batch locks and checks its
    payments again by id and takes each payment's recipient from this read (a payment's QR
    link never changes), so no batch scans the whole period or the link table: the build is
    linear in its payments. A payment verified after this read is a leftover (a follow-up
    build takes it)."""
    batches: list[tuple[list[int], array, array]] = []
    recipients: list[int] = []
    ids, owners = array("q"), array("q")
    with transaction.atomic():
        _sort_memory()  # the read sorts the period's ids by recipient
        grouped = selectors.eligible_ids_by_recipient(period=period)
    for recipient_id, payment_ids in grouped:
        if len(ids) >= size:
            batches.append((recipients, ids, owners))
            recipients, ids, owners = [], array("q"), array("q")
        recipients.append(recipient_id)
        ids.extend(payment_ids)
        owners.extend([recipient_id] * len(payment_ids))
    if recipients:
        batches.append((recipients, ids, owners))
    return batches


def _build_select(period: PayoutPeriod, recipient_ids: list[int], payment_ids, payment_recipients):
    """The batch table and (recipient id, currency) -> (base, payment count) of the batch's
    scopes to build.

    The batch's payments are locked and read in one statement, by id (still eligible: a refund
    may have taken what was left), into the batch table (``_BatchTable``: a temporary table on
    PostgreSQL, rows in Python elsewhere) with the recipient each came with from the batches'
    read; those a holding line took meanwhile (a concurrent build's batch, committed before we
    locked the period) are removed from it; the sums are read per scope. A scope with an active
    overlapping payout is left for a later (follow-up) build. The lines are later written from
    the same table: no payment row comes to Python."""
    organization, start, end = period.organization, period.start_date, period.end_date
    table = _BatchTable.create(
        selectors.eligible_payments(
            organization=organization, start=start, end=end, unheld=False, linked=False
        ),
        payment_ids,
        payment_recipients,
    )
    table.drop_held()
    busy = set(
        selectors.active_payouts_overlapping(organization=organization, start=start, end=end)
        .filter(recipient_id__in=recipient_ids)
        .values_list("recipient_id", "currency")
    )
    return table, {key: sums for key, sums in table.scopes().items() if key not in busy}


# ``SET LOCAL work_mem`` of the build's transactions (PostgreSQL): the batches' read sorts and
# hashes the period's ids (1,000,000 at 1M: 25 MB spilled to disk at the server's 4 MB), a batch
# hashes and sorts its ~50,000 payments (4 MB spilled). Per transaction, not per server.
BUILD_WORK_MEM = "64MB"


def _sort_memory() -> None:
    """Raise ``work_mem`` for the rest of the current transaction (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{BUILD_WORK_MEM}'")


class _BatchTable:
    """A batch's locked eligible payments ``(payment_id, recipient_id, currency, available)``.

    PostgreSQL: a temporary table filled by ``CREATE TEMP TABLE ... AS SELECT ... FOR UPDATE``
    (the payments by ``id = ANY(array)``, their recipients from the batches' read; dropped at
    COMMIT, or by the next batch's ``DROP ... IF EXISTS`` inside an outer transaction); the
    held payments are removed by one ``DELETE`` probing ``payout_line_payment_once`` per row,
    the scopes summed by one ``GROUP BY`` and the lines written by one ``INSERT ... SELECT``:
    no statement or Python object per payment, and no statement reads more than the batch's
    rows (the link table and the period's earlier lines are not scanned). Elsewhere (SQLite,
    development) the same steps on rows in Python."""

    NAME = "payout_build_batch"

    def __init__(self, rows=None):
        self.rows = rows  # None on PostgreSQL: the rows are in the temporary table

    @classmethod
    def create(cls, eligible, payment_ids, payment_recipients) -> _BatchTable:
        """Lock the batch's payments still ``eligible`` (by id, in id order) and read them with
        the recipient each came with (``payment_recipients``, parallel to ``payment_ids``)."""
        locked = locks.payments_lock(
            eligible.filter(selectors.pk_any(Payment, payment_ids))
        ).values_list("pk", "currency", "available")
        if connection.vendor != "postgresql":
            owner = dict(zip(payment_ids, payment_recipients, strict=True))
            return cls([(pk, owner[pk], currency, left) for pk, currency, left in locked])
        sql, params = locked.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SET LOCAL work_mem = '{BUILD_WORK_MEM}'; DROP TABLE IF EXISTS pg_temp.{cls.NAME}"
            )
            # The payments are locked in the subquery (its own LockRows, in id order); the
            # recipients are joined to what it returns.
            cursor.execute(
                f"CREATE TEMPORARY TABLE {cls.NAME} "  # noqa: S608 - names from the code
                "(payment_id, recipient_id, currency, available) ON COMMIT DROP AS "
                "SELECT l.payment_id, b.recipient_id, l.currency, l.available "
                f"FROM ({sql}) AS l (payment_id, currency, available) "
                "JOIN unnest(%s::bigint[], %s::bigint[]) AS b (payment_id, recipient_id) "
                "ON b.payment_id = l.payment_id",
                [*params, list(payment_ids), list(payment_recipients)],
            )
        return cls()

    def drop_held(self) -> None:
        """Remove the payments an active payment line holds (``payout_line_payment_once``),
        probing that index once per batch row: the correlated ``EXISTS`` (kept one by its
        ``OFFSET 0``, which the planner does not flatten into a join) reads no line of
        another batch, where a join scans every line the period has so far."""
        if self.rows is not None:
            held = selectors.payments_held([row[0] for row in self.rows])
            self.rows = [row for row in self.rows if row[0] not in held]
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {self.NAME} b WHERE EXISTS (SELECT 1 FROM "  # noqa: S608
                f"{PayoutLine._meta.db_table} l WHERE l.payment_id = b.payment_id "
                "AND l.kind = %s AND l.active OFFSET 0)",
                [Line.PAYMENT.value],
            )

    def scopes(self) -> dict[tuple, tuple[Decimal, int]]:
        """(recipient id, currency) -> (sum of what the payments have left, payment count)."""
        if self.rows is not None:
            out: dict[tuple, tuple[Decimal, int]] = {}
            for _, recipient_id, currency, available in self.rows:
                base, count = out.get((recipient_id, currency), (Decimal(0), 0))
                out[(recipient_id, currency)] = (base + available, count + 1)
            return out
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT recipient_id, currency, sum(available), count(*) FROM {self.NAME} "  # noqa: S608
                "GROUP BY recipient_id, currency"
            )
            return {(r, c): (base, count) for r, c, base, count in cursor.fetchall()}

    def insert_lines(self, by_scope: dict[tuple, Payout]) -> int:
        """Write a payment line per payment of the built scopes; returns how many."""
        if not by_scope:
            return 0
        if self.rows is not None:
            lines = [
                PayoutLine(
                    payout=by_scope[(r, c)], kind=Line.PAYMENT, payment_id=pm, amount=available
                )
                for pm, r, c, available in self.rows
                if (r, c) in by_scope
            ]
            PayoutLine.objects.bulk_create(lines, batch_size=500)
            return len(lines)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {PayoutLine._meta.db_table} "  # noqa: S608 - names from the code
                "(payout_id, kind, payment_id, amount, active, created_at) "
                "SELECT p.id, %s, b.payment_id, b.available, TRUE, CURRENT_TIMESTAMP "
                f"FROM {self.NAME} b JOIN {Payout._meta.db_table} p "
                "ON p.recipient_id = b.recipient_id AND p.currency = b.currency "
                "WHERE p.id = ANY(%s::bigint[])",
                [Line.PAYMENT.value, [p.pk for p in by_scope.values()]],
            )
            return cursor.rowcount


def _build_compute(period: PayoutPeriod, recipients: dict, scopes: dict, *, actor):
    """The unsaved payouts (one per scope, final amounts) and the adjustments each applies."""
    organization = period.organization
    pending: dict[tuple, list] = defaultdict(list)
    for adjustment in locks.adjustments_lock(
        organization=organization, recipient_ids={key[0] for key in scopes}
    ):
        pending[(adjustment.recipient_id, adjustment.currency)].append(adjustment)
    policies = selectors.fee_policy_terms_by_currency(organization=organization)
    payouts, fitted = [], {}
    for key in sorted(scopes):
        recipient_id, currency = key
        recipient = recipients[recipient_id]
        base, count = scopes[key]
        percentage, fixed = policies.get(currency, selectors.NO_FEE)
        fitted[key] = adjustments_fit(base, pending.get(key, []))
        gross, fee, net = payout_amounts(
            base=base,
            adjustments=fitted[key],
            currency=currency,
            percentage=percentage,
            fixed=fixed,
        )
        payouts.append(
            Payout(
                organization=organization,
                recipient=recipient,
                branch=recipient.branch,
                currency=currency,
                period_start=period.start_date,
                period_end=period.end_date,
                accounting_period=period,
                gross=gross,
                fee=fee,
                net=net,
                payment_count=count,
                fee_percentage=percentage,
                fee_fixed=fixed,
                requested_by=actor,
            )
        )
    return payouts, fitted


def _build_persist(period, payouts, table: _BatchTable, fitted, *, actor, what: str):
    """Write the payouts with their history rows (final amounts: nothing is updated later), the
    payment lines (from the batch table) and the adjustment lines. Returns the saved payouts
    and the payment line count."""
    try:
        with transaction.atomic():
            payouts = bulk_create_with_history(
                payouts,
                Payout,
                default_user=actor,
                default_change_reason=f"{what} for period {period.pk}",
            )
    except IntegrityError as exc:  # an active overlapping payout appeared: retry later
        raise PayoutError.BUILD_CONFLICT.error(
            f"Building period {period.pk} conflicted: {exc}"
        ) from None
    by_scope = {(p.recipient_id, p.currency): p for p in payouts}
    inserted = table.insert_lines(by_scope)
    PayoutLine.objects.bulk_create(
        [
            PayoutLine(payout=by_scope[key], kind=Line.ADJUSTMENT, adjustment=a, amount=a.amount)
            for key, chosen in fitted.items()
            for a in chosen
        ]
    )
    return payouts, inserted


def _build_record(period, payouts, inserted, *, actor, follow_up: bool):
    """The period records its build (the first one sets ``built_at``, even with no payout); a
    follow-up build lists the late payments as a case."""
    if not follow_up:
        if period.built_at is None:
            period.built_at = timezone.now()
            reason = (
                f"built {len(payouts)} payouts ({inserted} lines)"
                if payouts
                else "built: no payouts"
            )
            save_audited(period, actor=actor, reason=reason)
        return
    if not payouts:
        return
    late_payment_case_raise(
        period,
        message=(
            f"{inserted} payment(s) of the closed period {period} were not in its build "
            f"(verified late, or released): follow-up payouts "
            f"{', '.join(f'#{p.pk}' for p in payouts)} were requested."
        ),
        actor=actor,
        details={
            "payouts": [p.pk for p in payouts],
            "payment_count": inserted,
            "gross": {c: str(v) for c, v in _by_currency(payouts).items()},
        },
    )
    save_audited(
        period, actor=actor, reason=f"follow-up build: {len(payouts)} payouts ({inserted} lines)"
    )


def _by_currency(payouts: list[Payout]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for payout in payouts:
        out[payout.currency] += payout.gross
    return dict(out)
