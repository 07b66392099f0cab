"""Not timed against a floor: the EXPLAIN (ANALYZE, BUFFERS) of the hot queries on the scratch
data, written to ``var/bench/explain-<size>.txt`` (BENCHMARKS.md quotes them) and summed up as
one line each (plan root and execution time). Runs after the workloads (the payouts are built)."""

from __future__ import annotations

import re

from django.db import transaction

from benchmarks.harness import ROOT, Result

NAME = "explain"
TITLE = "EXPLAIN (ANALYZE) of the hot queries"
ORDER = 30


class _Rollback(Exception):
    pass


def queries(ctx) -> list[tuple[str, object]]:
    from core.api.lean import lean_values
    from exceptionqueue.api.serializers import EXCEPTION_LIST_SOURCES, ExceptionCaseSerializer
    from exceptionqueue.models import ExceptionCase
    from payments import selectors as payment_selectors
    from payments.api.serializers import PAYMENT_LIST_SOURCES, PaymentSerializer
    from payouts import locks, selectors
    from payouts.api import serializers as s
    from payouts.models import Payout, PayoutLine, PayoutPeriod

    data = ctx.data
    period = PayoutPeriod.objects.select_related("organization").get(pk=data.period_id)
    org = period.organization
    payments = payment_selectors.payment_list(organization=org).values(
        *lean_values(PaymentSerializer, PAYMENT_LIST_SOURCES)
    )
    newest = ("-organization_id", "-id")
    deep = data.first_id + data.size // 10
    big = (
        Payout.objects.filter(recipient_id=data.big_recipient_id, accounting_period=period)
        .order_by("-payment_count")
        .values_list("pk", flat=True)
        .first()
    )
    eligible = selectors.eligible_payments(
        organization=org, start=period.start_date, end=period.end_date
    )
    from payouts.services.build import BUILD_BATCH_PAYMENTS

    # A batch as the build cuts them (recipients whole, about BUILD_BATCH_PAYMENTS payments):
    # the payments of the last recipients' payouts (the build is done; the plans are the same).
    payment_ids = list(
        PayoutLine.objects.filter(payout__accounting_period=period, kind="payment")
        .order_by("-payout__recipient_id", "payment_id")
        .values_list("payment_id", flat=True)[:BUILD_BATCH_PAYMENTS]
    ) or [0]
    out = [
        # As OrganizationCursorPagination orders them (core.api.pagination).
        ("payments page 1", payments.order_by(*newest)[:101]),
        (
            "payments status+branch",
            payments.filter(status="verified", branch__code="b03").order_by(*newest)[:101],
        ),
        ("payments deep cursor", payments.filter(id__lt=deep).order_by(*newest)[:101]),
        (
            "payouts page 1",
            selectors.payout_list(organization=org)
            .values(*lean_values(s.PayoutSerializer, s.PAYOUT_LIST_SOURCES))
            .order_by("-id")[:101],
        ),
        (
            "exceptions page 1",
            ExceptionCase.objects.filter(organization=org)
            .values(*lean_values(ExceptionCaseSerializer, EXCEPTION_LIST_SOURCES))
            .order_by("-id")[:101],
        ),
        (
            "build: eligible payment ids by recipient (batches)",
            eligible.order_by("qr_payment__recipient_id", "pk").values_list(
                "qr_payment__recipient_id", "pk"
            ),
        ),
        (
            f"build: lock and read a batch's {len(payment_ids):,} payments",
            locks.payments_lock(
                selectors.eligible_payments(
                    organization=org, start=period.start_date, end=period.end_date, unheld=False
                ).filter(pk__in=list(payment_ids))
            ).values_list("pk", "qr_payment__recipient_id", "currency", "available"),
        ),
        (
            "build: lines already holding a batch's payments",
            PayoutLine.objects.filter(
                payment_id__in=list(payment_ids), kind="payment", active=True
            ).values_list("payment_id", flat=True),
        ),
    ]
    if big:
        lines = PayoutLine.objects.filter(payout_id=big)
        middle = lines.order_by("id").values_list("id", flat=True)[lines.count() // 2]
        out += [
            (
                "payout detail: first payments page",
                selectors.payout_lines(payout_id=big, kind="payment")
                .values("id", "payment_id", "amount", "payment__status", "payment__verified_at")
                .order_by("id")[:101],
            ),
            (
                "payout lines: middle cursor page",
                lines.filter(id__gt=middle)
                .values("id", "kind", "payment_id", "payment__status")
                .order_by("id")[:101],
            ),
        ]
    from reconciliation import selectors as recon
    from reconciliation.models import ReconciliationRun

    last_run = ReconciliationRun.objects.order_by("-id").first()  # workload (2)'s, if it ran
    if last_run is not None:
        newest_line = ("-run_id", "-id")  # as RunItemPagination orders them
        problems = "missing_in_provider_report,missing_in_payops,amount_mismatch"
        out += [
            (
                "reconciliation run lines page 1",
                recon.run_items(run=last_run).order_by(*newest_line)[:101],
            ),
            (
                "reconciliation run lines: matched",
                recon.run_items(run=last_run, category="matched").order_by(*newest_line)[:101],
            ),
            (
                "reconciliation run lines: three problem categories",
                recon.run_items(run=last_run, category=problems).order_by(*newest_line)[:101],
            ),
        ]
    return out


def run(ctx) -> list[Result]:
    from benchmarks.workloads.api import _ensure_built

    _ensure_built(ctx)
    from benchmarks.data import analyze

    analyze()  # fresh statistics after the build, as autovacuum would have them
    path = ROOT / "var" / "bench" / f"explain-{ctx.size}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = []
    for name, queryset in queries(ctx):
        try:
            with transaction.atomic():  # FOR UPDATE plans lock: roll them back
                plan = queryset.explain(analyze=True, buffers=True)
                sql = str(queryset.query)
                raise _Rollback
        except _Rollback:
            pass
        chunks.append(f"### {name}\n\n{sql}\n\n{plan}\n")
        root = plan.splitlines()[0].split("  (")[0].strip()
        took = re.search(r"Execution Time: ([\d.]+) ms", plan)
        print(f"  {name:<58} {took.group(1) if took else '?':>9} ms  {root}", flush=True)
    path.write_text("\n".join(chunks))
    print(f"  (plans in {path.relative_to(ROOT)})", flush=True)
    return []
