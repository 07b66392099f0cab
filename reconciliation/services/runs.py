"""Reconciliation runs: match, count, figure, self-check, and keep the exception queue in step.

``reconciliation_run`` reconciles the organisation's local dates ``[start, end]``:
the items are written by ``matching.match_run`` (set-based SQL), the counts and figures are
stored on the run, and, unless it is a dry run, each problem becomes one exception case (a
stable dedup key, so a rerun raises nothing new) and each active case of a previous run whose
problem is gone is resolved automatically. The money self-check raises ``money_drift`` per
recipient and currency where it does not hold, and clears it when it holds again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.text import capfirst

from core.dates import dates_check, local_day_bounds
from core.models import Organization
from exceptionqueue.models import ExceptionCase
from exceptionqueue.services import exception_clear, exception_raise
from reconciliation import errors
from reconciliation import exception_kinds as kinds
from reconciliation.models import ReconciliationItem, ReconciliationRun
from reconciliation.services.figures import money_self_check, period_figures
from reconciliation.services.matching import match_run
from reconciliation.services.settings import reconciliation_settings_get

Category = ReconciliationItem.Category
MAX_RUN_DAYS = 92
CASE_PREFIX = "reconciliation:"
KIND_OF = {
    Category.MISSING_IN_PROVIDER_REPORT: kinds.MISSING_IN_PROVIDER_REPORT,
    Category.MISSING_IN_PAYOPS: kinds.MISSING_IN_PAYOPS,
    Category.AMOUNT_MISMATCH: kinds.RECONCILIATION_MISMATCH,
    Category.STATUS_MISMATCH: kinds.RECONCILIATION_MISMATCH,
    Category.DUPLICATE: kinds.RECONCILIATION_MISMATCH,
}
SENTENCES = {
    Category.MISSING_IN_PROVIDER_REPORT: "{what} is settled in payops ({expected}) but missing "
    "from the {provider} report.",
    Category.MISSING_IN_PAYOPS: "The {provider} report lists {what} ({reported}) that payops "
    "does not know.",
    Category.AMOUNT_MISMATCH: "{what}: payops has {field} {expected}, the {provider} report "
    "{reported}.",
    Category.STATUS_MISMATCH: "{what}: payops says {expected}, the {provider} report {reported}.",
    Category.DUPLICATE: "The {provider} report lists {what} more than once ({reported}).",
}


def local_bounds(organization: Organization, start: dt.date, end: dt.date):
    """UTC bounds ``[lo, hi)`` of the organisation's local dates ``start..end`` (never an
    overflow, even for a period stored at the edge of Python's dates: ``core.dates``)."""
    return local_day_bounds(organization.tz, start, end)


def _check_range(start: dt.date, end: dt.date) -> None:
    dates_check(period_start=start, period_end=end)
    if end < start:
        raise errors.INVALID.error(
            "The period ends before it starts.", fields={"period_end": ["Before period_start."]}
        )
    if (end - start).days >= MAX_RUN_DAYS:
        raise errors.INVALID.error(
            f"A run covers at most {MAX_RUN_DAYS} days.", fields={"period_end": ["Too far."]}
        )


def reconciliation_run(
    *,
    organization: Organization,
    start: dt.date,
    end: dt.date,
    actor,
    dry_run: bool = False,
    trigger: str = ReconciliationRun.Trigger.MANUAL,
) -> ReconciliationRun:
    """Reconcile ``[start, end]``; returns the run (for a nightly rerun: the existing run)."""
    _check_range(start, end)
    settings = reconciliation_settings_get(organization=organization)
    lo, hi = local_bounds(organization, start, end)
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                organization=organization,
                period_start=start,
                period_end=end,
                dry_run=dry_run,
                trigger=trigger,
                started_by=actor,
            )
            providers, written = match_run(
                run,
                lo=lo,
                hi=hi,
                tolerance_seconds=settings.match_window_minutes * 60,
                fee_rates={k: Decimal(str(v)) for k, v in (settings.fee_rates or {}).items()},
            )
            # The problems are counted by the (run, category) index; the matched lines are
            # the rest of what was written (not a count over a million index entries).
            counts = dict.fromkeys(Category.values, 0)
            problems = run.items.filter(category__in=ReconciliationItem.PROBLEMS)
            for row in problems.values("category").annotate(n=Count("id")).order_by():
                counts[row["category"]] = row["n"]
            counts[Category.MATCHED] = written - sum(counts.values())
            run.counts = counts
            run.figures = period_figures(
                organization_id=organization.pk, lo=lo, hi=hi, start=start, end=end
            )
            checks = money_self_check(organization_id=organization.pk, lo=lo, hi=hi)
            run.figures["self_check"] = [{k: str(v) for k, v in check.items()} for check in checks]
            if not dry_run:
                raised, resolved = _sync_cases(run, providers=providers, actor=actor)
                drift_raised, drift_resolved = _sync_drift(run, checks, actor=actor)
                run.exceptions_raised = raised + drift_raised
                run.exceptions_resolved = resolved + drift_resolved
            run.completed_at = timezone.now()
            run.save()
            run.made_by_this_call = True  # not a concurrent nightly run's (see nightly.py)
    except IntegrityError:
        if trigger != ReconciliationRun.Trigger.NIGHTLY:
            raise
        return ReconciliationRun.objects.get(
            organization=organization, period_start=start, trigger=trigger
        )
    return run


def _item_key(item: ReconciliationItem) -> str:
    """The case key of a problem line: its order number, else its provider reference, else (a
    report row with neither) the row's content and its place among the rows of that content.

    The content (paid at, amount, currency) and ``item.nth`` (1 for the first row of that content
    by report line, 2 for the second, ...; see ``_sync_cases``) stay the same on a rerun and in a
    corrected report that still lists the row, so its case is found again; a row a corrected
    report drops no longer has its key, and its case resolves. Row ids and line numbers would
    not do: a corrected report has new ids, and a dropped line renumbers the lines after it.
    """
    if item.order_number:
        subject = item.order_number
    elif item.provider_reference:
        subject = f"ref:{item.provider_reference}"
    elif item.report_row_id:
        row = item.report_row
        paid_at = row.paid_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        subject = f"row:{paid_at}:{row.amount}:{row.currency}:{item.nth}"
    else:
        subject = f"payment:{item.payment_id}"
    return f"{CASE_PREFIX}{item.category}:{item.provider}:{subject}"


def _what(item: ReconciliationItem, organization: Organization) -> str:
    if item.order_number:
        return f"order {item.order_number}"
    if item.provider_reference:
        return f"reference {item.provider_reference}"
    if item.report_row_id:
        when = timezone.localtime(item.report_row.paid_at, organization.tz)
        return (
            f"a row without order number or reference, paid {when:%Y-%m-%d %H:%M}, "
            f"line {item.report_row.line_no}"
        )
    return f"payment #{item.payment_id}"


def _item_date(item: ReconciliationItem, organization: Organization) -> dt.date:
    moment = None
    if item.payment_id and item.payment is not None:
        moment = item.payment.verified_at or item.payment.created_at
    elif item.report_row_id and item.report_row is not None:
        moment = item.report_row.paid_at
    return timezone.localtime(moment or timezone.now(), organization.tz).date()


def _sync_cases(run: ReconciliationRun, *, providers: set[str], actor) -> tuple[int, int]:
    """One case per problem item (deduplicated), and resolve the cases whose problem is gone."""
    organization = run.organization
    # ``nth``: the place of a line among the run's lines of the same category, provider,
    # identifiers and row content, by report line (only the rows without order number and
    # reference need it, for their key: ``_item_key``). Computed by the database, in the query
    # that reads the problems.
    same = ("category", "provider", "order_number", "provider_reference")
    same += ("report_row__paid_at", "report_row__amount", "report_row__currency")
    problems = (
        run.items.filter(category__in=ReconciliationItem.PROBLEMS)
        .select_related("payment", "report_row")
        .annotate(
            nth=Window(
                RowNumber(),
                partition_by=[F(name) for name in same],
                order_by=[F("report_row__report_id").desc(), "report_row__line_no", "id"],
            )
        )
        .order_by("id")
    )
    keys: set[str] = set()
    raised = 0
    for item in problems.iterator(chunk_size=500):
        key = _item_key(item)
        if key in keys:
            continue
        keys.add(key)
        what = _what(item, organization)
        day = _item_date(item, organization)
        sentence = SENTENCES[item.category]
        if sentence.startswith("{what}"):
            # The first letter only: ``str.capitalize`` lowercased the rest, the order number
            # or reference included ("ORD-ABC" became "Ord-abc").
            what = capfirst(what)
        case = exception_raise(
            organization=organization,
            kind=KIND_OF[item.category],
            dedup_key=key,
            message=sentence.format(
                what=what,
                provider=item.provider,
                expected=item.expected,
                reported=item.reported,
                field=(item.field or "amount").replace("_", " "),
            ),
            actor=actor,
            subject=item.payment if item.payment_id else None,
            period_start=day,
            period_end=day,
            details={
                "category": item.category,
                "field": item.field,
                "provider": item.provider,
                "order_number": item.order_number,
                "provider_reference": item.provider_reference,
                "expected": item.expected,
                "reported": item.reported,
                "run": run.pk,
                "report_row": item.report_row_id,
            },
        )
        raised += case.occurrences == 1 and case.last_seen_at == case.created_at
    stale = ExceptionCase.objects.filter(
        organization=organization,
        status__in=ExceptionCase.ACTIVE_STATUSES,
        kind__in=[str(k) for k in set(KIND_OF.values())],
        dedup_key__startswith=CASE_PREFIX,
        period_start__gte=run.period_start,
        period_end__lte=run.period_end,
    ).exclude(dedup_key__in=keys)
    resolved = 0
    for dedup_key, details in stale.values_list("dedup_key", "details"):
        if (details or {}).get("provider") not in providers:
            continue  # no report of that provider in this run: it proves nothing
        exception_clear(
            organization=organization,
            dedup_key=dedup_key,
            actor=actor,
            note=f"reconciliation run #{run.pk} no longer finds this problem",
        )
        resolved += 1
    return raised, resolved


def _sync_drift(run: ReconciliationRun, checks: list[dict], *, actor) -> tuple[int, int]:
    organization = run.organization
    span = f"{run.period_start.isoformat()}:{run.period_end.isoformat()}"
    raised = resolved = 0
    for check in checks:
        key = f"{CASE_PREFIX}money_drift:{check['recipient_id']}:{check['currency']}:{span}"
        if check["drift"] == 0:
            if exception_clear(
                organization=organization,
                dedup_key=key,
                actor=actor,
                note=f"run #{run.pk}: the money self-check holds again",
            ):
                resolved += 1
            continue
        case = exception_raise(
            organization=organization,
            kind=kinds.MONEY_DRIFT,
            dedup_key=key,
            message=(
                f"Money self-check of recipient #{check['recipient_id']} for {span}: verified "
                f"{check['verified']} - refunded {check['refunded']} is not paid out "
                f"{check['paid_out']} + in flight {check['in_flight']} + carried adjustments "
                f"{check['carried_adjustments']} (drift {check['drift']} {check['currency']})."
            ),
            actor=actor,
            amount=abs(check["drift"]),
            currency=check["currency"],
            period_start=run.period_start,
            period_end=run.period_end,
            details={k: str(v) for k, v in check.items()} | {"run": run.pk},
        )
        raised += case.occurrences == 1 and case.last_seen_at == case.created_at
    return raised, resolved
