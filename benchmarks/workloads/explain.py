"""Not timed against a floor: the EXPLAIN (ANALYZE, BUFFERS) of the hot queries on the scratch
data, written to ``var/bench/explain-<size>.txt`` (BENCHMARKS.md quotes them) and summed up as
one line each (plan root and execution time). Runs after the workloads (the payouts are built)."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Count

from benchmarks.harness import ROOT, Result

NAME = "explain"
TITLE = "EXPLAIN (ANALYZE) of the hot queries"
ORDER = 30


class _Rollback(Exception):
    pass


def queries(ctx) -> list[tuple[str, object]]:
    from core.api.lean import lean_values
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
    batch = list(
        selectors.recipient_list(organization=org)
        .order_by("pk")
        .values_list("pk", flat=True)[1:101]
    )
    out = [
        ("payments page 1", payments.order_by("-id")[:101]),
        (
            "payments status+branch",
            payments.filter(status="verified", branch__code="b03").order_by("-id")[:101],
        ),
        ("payments deep cursor", payments.filter(id__lt=deep).order_by("-id")[:101]),
        (
            "payouts page 1",
            selectors.payout_list(organization=org)
            .values(*lean_values(s.PayoutSerializer, s.PAYOUT_LIST_SOURCES))
            .order_by("-id")[:101],
        ),
        (
            "exceptions page 1",
            ExceptionCase.objects.filter(organization=org)
            .select_related("branch", "subject_type")
            .order_by("-id")[:101],
        ),
        (
            "build: eligible payments per recipient (batches)",
            eligible.order_by().values_list("qr_payment__recipient_id").annotate(n=Count("pk")),
        ),
        (
            "build: lock and read one batch's payments (100 recipients)",
            locks.payments_lock(eligible.filter(qr_payment__recipient_id__in=batch)).values_list(
                "pk", "qr_payment__recipient_id", "currency", "available"
            ),
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
