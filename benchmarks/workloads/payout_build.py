"""Workload 1: close a month and build every recipient's payout (payouts, history rows, lines,
events and the webhook outbox persisted), as the Celery task does, against its floor: the same
rows written by ``psql`` in one transaction of ``INSERT … SELECT … GROUP BY``.

Between runs the built rows are truncated and the period marked unbuilt, so every run (the
application's and the floor's, alternating) starts from the same data. Each application run is
checked: every eligible payment in exactly one line, gross = fee + net on every payout, the sum
of gross equal to the sum of what the payments have left after refunds.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from decimal import Decimal
from unittest import mock

from django.db import connection, transaction
from django.db.models import F, Sum

from benchmarks.harness import Result, load

NAME = "payout_build"
TITLE = "(1) close a month and build every recipient's payout"
ORDER = 1

RESET = """
TRUNCATE payouts_payoutline, payouts_payoutevent, payouts_payout, payouts_historicalpayout,
    webhooks_webhookevent CASCADE;
UPDATE payouts_payoutperiod SET built_at = NULL;
ANALYZE payouts_payoutline; ANALYZE payouts_payout;
"""

FLOOR = """
BEGIN;
CREATE TEMP TABLE eligible ON COMMIT DROP AS
  SELECT p.id, q.recipient_id, p.currency, p.amount - p.refunded_amount AS available
  FROM payments_payment p JOIN payouts_qrpayment q ON q.payment_id = p.id
  WHERE p.organization_id = {org}
    AND p.status IN ('verified', 'partially_refunded', 'refunded')
    AND p.verified_at >= '{window_start}' AND p.verified_at < '{window_end}'
    AND p.amount > p.refunded_amount
    AND NOT EXISTS (SELECT 1 FROM payouts_payoutline l
                    WHERE l.payment_id = p.id AND l.kind = 'payment' AND l.active)
  FOR UPDATE OF p;
INSERT INTO payouts_payout (currency, period_start, period_end, status, gross, fee, net,
    payment_count, fee_percentage, fee_fixed, method, reference, drift_hold, created_at,
    branch_id, organization_id, requested_by_id, accounting_period_id, recipient_id)
  SELECT g.currency, '{start}', '{end}', 'requested', g.gross, g.fee, g.gross - g.fee, g.n,
    {percentage}, {fixed}, '', '', false, now(), r.branch_id, {org}, {actor}, {period},
    g.recipient_id
  FROM (SELECT recipient_id, currency, sum(available) AS gross, count(*) AS n,
          LEAST(sum(available), round(sum(available) * {percentage} / 100, 2) + {fixed}) AS fee
        FROM eligible GROUP BY recipient_id, currency) g
  JOIN payouts_recipient r ON r.id = g.recipient_id;
INSERT INTO payouts_payoutline (kind, amount, active, created_at, payment_id, payout_id)
  SELECT 'payment', e.available, true, now(), e.id, po.id
  FROM eligible e JOIN payouts_payout po
    ON po.accounting_period_id = {period} AND po.recipient_id = e.recipient_id
   AND po.currency = e.currency;
INSERT INTO payouts_historicalpayout (id, currency, period_start, period_end, status, gross, fee,
    net, payment_count, fee_percentage, fee_fixed, method, reference, drift_hold, created_at,
    completed_at, history_date, history_change_reason, history_type, branch_id, history_user_id,
    organization_id, requested_by_id, accounting_period_id, recipient_id)
  SELECT id, currency, period_start, period_end, status, gross, fee, net, payment_count,
    fee_percentage, fee_fixed, method, reference, drift_hold, created_at, completed_at, now(),
    'built for period {period}', '+', branch_id, {actor}, organization_id, requested_by_id,
    accounting_period_id, recipient_id
  FROM payouts_payout WHERE accounting_period_id = {period};
INSERT INTO payouts_payoutevent (occurred_at, comment, request_id, kind, from_status, to_status,
    method, reference, gross, fee, net, details, actor_id, payout_id)
  SELECT now(), 'built', '', 'requested', '', 'requested', '', '', gross, fee, net,
    jsonb_build_object('payment_count', payment_count, 'period', {period}), {actor}, id
  FROM payouts_payout WHERE accounting_period_id = {period};
INSERT INTO webhooks_webhookevent (id, event_type, subject_type, subject_id, dedup, data, body,
    created_at, organization_id)
  SELECT 'msg_floor' || id, 'payout.requested', 'payout', id::text, 'floor:' || id,
    jsonb_build_object('id', id, 'status', status, 'gross', gross::text, 'fee', fee::text,
      'net', net::text, 'payment_count', payment_count),
    jsonb_build_object('type', 'payout.requested', 'data', jsonb_build_object('id', id,
      'gross', gross::text, 'fee', fee::text, 'net', net::text))::text,
    now(), organization_id
  FROM payouts_payout WHERE accounting_period_id = {period};
UPDATE payouts_payoutperiod SET built_at = now() WHERE id = {period};
COMMIT;
"""


def _floor_sql(period, actor) -> str:
    from payouts import selectors

    window_start, window_end = selectors.local_window(
        period.organization, period.start_date, period.end_date
    )
    percentage, fixed = selectors.fee_policy_terms(organization=period.organization, currency="AMD")
    return FLOOR.format(
        org=period.organization_id,
        period=period.pk,
        actor=actor.pk,
        start=period.start_date,
        end=period.end_date,
        window_start=window_start.isoformat(),
        window_end=window_end.isoformat(),
        percentage=percentage,
        fixed=fixed,
    )


class BatchClock:
    """The wall time of each transaction the build opens (from its period lock to just after its
    COMMIT, deferred foreign-key checks included): the longest is what a refund may wait."""

    def __init__(self):
        self.spans: list[float] = []

    def patches(self):
        from payouts.services import build

        real = build._build_lock

        def timed_lock(*args, **kwargs):
            started = time.perf_counter()
            transaction.on_commit(lambda: self.spans.append(time.perf_counter() - started))
            return real(*args, **kwargs)

        return [mock.patch.object(build, "_build_lock", timed_lock)]


class StatementCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _check(period, expected: Decimal, lines: int) -> None:
    from payouts.models import Payout, PayoutLine

    payouts = Payout.objects.filter(accounting_period=period)
    totals = payouts.aggregate(gross=Sum("gross"))
    assert totals["gross"] == expected, (totals, expected)
    assert not payouts.exclude(gross=F("fee") + F("net")).exists()
    assert PayoutLine.objects.filter(payout__accounting_period=period).count() == lines


def _eligible(period) -> tuple[Decimal, int]:
    from payouts import selectors

    qs = selectors.eligible_payments(
        organization=period.organization, start=period.start_date, end=period.end_date
    )
    agg = qs.aggregate(total=Sum("available"))
    return agg["total"], qs.count()


class PlanLog:
    """``BENCH_EXPLAIN_BUILD=1``: the EXPLAIN ANALYZE of every statement of the last application
    run that takes over 100 ms (``auto_explain``, its plans sent to this client as notices),
    written to ``var/bench/explain-build-<size>.txt``."""

    def __init__(self, size: int):
        self.size, self.plans = size, []

    def __enter__(self):
        raw = connection.connection
        raw.add_notice_handler(self._notice)
        with connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting in (
                "auto_explain.log_min_duration = 100",
                "auto_explain.log_analyze = on",
                "auto_explain.log_buffers = on",
                "auto_explain.log_nested_statements = on",
                "auto_explain.log_level = notice",
                "client_min_messages = notice",
            ):
                cursor.execute(f"SET {setting}")
        return self

    def _notice(self, diagnostic):
        self.plans.append(diagnostic.message_primary or "")

    def __exit__(self, *exc):
        from benchmarks.harness import ROOT

        with connection.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")
            cursor.execute("SET client_min_messages = warning")
        connection.connection.remove_notice_handler(self._notice)
        path = ROOT / "var" / "bench" / f"explain-build-{self.size}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(self.plans))
        print(f"  ({len(self.plans)} build plans in {path.relative_to(ROOT)})", flush=True)


def run(ctx) -> list[Result]:
    from core.actors import system_actor
    from payouts import services
    from payouts.models import PayoutPeriod

    actor = system_actor("payout-build")
    period = PayoutPeriod.objects.select_related("organization").get(pk=ctx.data.period_id)
    floor_sql = _floor_sql(period, actor)
    expected, count = _eligible(period)
    app, floor, spans, statements = [], [], [], []
    for repeat in range(ctx.repeat):
        ctx.psql(RESET)
        floor.append(ctx.psql(floor_sql))
        _check(period, expected, count)
        ctx.psql(RESET)
        clock, counter = BatchClock(), StatementCounter()

        with ExitStack() as stack:
            for patch in clock.patches():
                stack.enter_context(patch)
            stack.enter_context(connection.execute_wrapper(counter))
            if repeat == ctx.repeat - 1 and os.environ.get("BENCH_EXPLAIN_BUILD"):
                stack.enter_context(PlanLog(ctx.size))
            started = time.perf_counter()
            built = services.payout_period_build(period=period, actor=actor)
            app.append(time.perf_counter() - started)
        _check(period, expected, count)
        spans.append(max(clock.spans))
        statements.append(counter.count)
    return [
        Result(
            NAME,
            f"build {len(built):,} payouts / {count:,} lines",
            "s",
            app,
            floor,
            extra={
                "longest_transaction_s": f"{max(spans):.2f}",
                "transactions": len(clock.spans),
                "statements": statements[-1],
                "load": f"{load():.2f}",
            },
        )
    ]
