"""The set-based build of a closed period's payout requests (and of its leftovers later).

Steps: lock (the period, then its organisation's recipients), select (lock and read the eligible
payments, skip busy scopes), compute (the adjustments that fit, the fee rule), persist (payouts
with history, lines), announce (event rows, webhooks, the late-payment case, the period's audit).
The statement count is constant in the number of recipients and payments.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.audit import save_audited
from payouts import events, locks, selectors
from payouts.errors import PayoutError
from payouts.models import Payout, PayoutLine, PayoutPeriod
from payouts.services.amounts import adjustments_fit, payout_amounts
from payouts.services.cases import late_payment_case_raise

Line = PayoutLine.Kind


@transaction.atomic
def payout_period_build(*, period: PayoutPeriod, actor) -> list[Payout]:
    """Build the payout requests of a closed period for every recipient, set-based.

    The first build sets ``built_at``. Any later build (the task queued when a payment is verified
    late into a closed period, or the beat sweeper) builds the *leftovers*: payments of the period
    that no holding payout holds (verified after the build, released by a cancel or a reversal, or
    skipped because their scope had an active payout then) become follow-up payouts of the period,
    and a ``late_payment_in_closed_period`` case is listed so accountants see it.

    Statements (constant in the number of recipients and payments, except the webhook outbox):
    lock the period, lock the recipients, lock and read the eligible payments (one statement, the
    ids, scopes and amounts the lines are written from), the active overlapping scopes, the
    pending adjustments (lock, read), the fee policies, the payouts and their history rows
    (``bulk_create_with_history``), the payment lines (one ``INSERT ... SELECT FROM unnest`` on
    PostgreSQL), the adjustment lines, the event rows, and the ``payout.requested`` outbox events
    of all payouts at once (``webhooks.services.event_emit_many``).
    """
    period, recipients = _build_lock(period)
    follow_up = period.built_at is not None
    scopes = _build_select(period)
    if not scopes:
        if not follow_up:
            period.built_at = timezone.now()
            save_audited(period, actor=actor, reason="built: no payouts")
        return []
    payouts, fitted = _build_compute(period, recipients, scopes, actor=actor)
    what = "follow-up build (late payments)" if follow_up else "built"
    payouts, inserted = _build_persist(period, payouts, scopes, fitted, actor=actor, what=what)
    _build_announce(period, payouts, fitted, inserted, actor=actor, what=what, follow_up=follow_up)
    return payouts


def _build_lock(period: PayoutPeriod):
    """Lock order: period, recipients (then payments, adjustments; see ``payouts.locks``)."""
    period = locks.period_lock(period)
    if period.status != PayoutPeriod.Status.CLOSED:
        raise PayoutError.PERIOD_NOT_CLOSED.error("Only a closed period is built.")
    return period, locks.recipients_lock(period.organization_id)


def _build_select(period: PayoutPeriod) -> dict[tuple, list]:
    """(recipient id, currency) -> [(payment id, available)] of the scopes to build.

    The rows we include are locked and read in the same statement: the lines are written from
    this list, so a payment verified after it (READ COMMITTED) is never picked up half-way. A
    scope with an active overlapping payout is left for a later (follow-up) build."""
    organization, start, end = period.organization, period.start_date, period.end_date
    rows = list(
        locks.payments_lock(
            selectors.eligible_payments(organization=organization, start=start, end=end)
        ).values_list("pk", "qr_payment__recipient_id", "currency", "available")
    )
    busy = set(
        selectors.active_payouts_overlapping(
            organization=organization, start=start, end=end
        ).values_list("recipient_id", "currency")
    )
    scopes: dict[tuple, list] = defaultdict(list)
    for payment_id, recipient_id, currency, available in rows:
        if (recipient_id, currency) not in busy:
            scopes[(recipient_id, currency)].append((payment_id, available))
    return scopes


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
        lines = scopes[key]
        base = sum((available for _, available in lines), Decimal(0))
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
                payment_count=len(lines),
                fee_percentage=percentage,
                fee_fixed=fixed,
                requested_by=actor,
            )
        )
    return payouts, fitted


def _build_persist(period, payouts, scopes, fitted, *, actor, what: str):
    """Write the payouts with their history rows (final amounts: nothing is updated later), the
    payment lines and the adjustment lines. Returns the saved payouts and the payment line count."""
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
    inserted = _insert_payment_lines(
        [
            (by_scope[key].pk, payment_id, available)
            for key, lines in scopes.items()
            for payment_id, available in lines
        ]
    )
    PayoutLine.objects.bulk_create(
        [
            PayoutLine(payout=by_scope[key], kind=Line.ADJUSTMENT, adjustment=a, amount=a.amount)
            for key, chosen in fitted.items()
            for a in chosen
        ]
    )
    return payouts, inserted


def _insert_payment_lines(rows: list[tuple[int, int, Decimal]]) -> int:
    """Write the payment lines ``(payout_id, payment_id, amount)`` read under the build's lock.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)`` whatever the count; elsewhere
    ``bulk_create`` in batches."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        PayoutLine.objects.bulk_create(
            [
                PayoutLine(payout_id=po, kind=Line.PAYMENT, payment_id=pm, amount=amount)
                for po, pm, amount in rows
            ],
            batch_size=500,
        )
        return len(rows)
    payout_ids, payment_ids, amounts = (list(column) for column in zip(*rows, strict=True))
    sql = (
        f"INSERT INTO {PayoutLine._meta.db_table} "  # noqa: S608 - table name from the model
        "(payout_id, kind, payment_id, amount, active, created_at) "
        "SELECT u.payout_id, %s, u.payment_id, u.amount, TRUE, CURRENT_TIMESTAMP "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS u(payout_id, payment_id, amount)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Line.PAYMENT.value, payout_ids, payment_ids, amounts])
        return cursor.rowcount


def _build_announce(period, payouts, fitted, inserted, *, actor, what: str, follow_up: bool):
    """The ``requested`` events and webhooks of all payouts at once; a follow-up build lists the
    late payments as a case; the period records its build."""
    events.requested_many(
        payouts, period=period, actor=actor, what=what, follow_up=follow_up, fitted=fitted
    )
    if not follow_up:
        period.built_at = timezone.now()
        save_audited(period, actor=actor, reason=f"built {len(payouts)} payouts ({inserted} lines)")
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
