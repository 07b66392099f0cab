"""Exception cases of a period: open cases by kind and their ageing (the blockers are shown, with
their resolve forms, at the top of the period page)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from desk.charts import bar_list
from desk.selectors import period_cases
from exceptionqueue.kinds import exception_kind

AGES = (
    (1, gettext_noop("< 1 day")),
    (3, gettext_noop("1-3 days")),
    (7, gettext_noop("3-7 days")),
    (30, gettext_noop("7-30 days")),
    (None, gettext_noop("> 30 days")),
)


def section(*, period, organization, lo, hi, user) -> dict:
    cases = period_cases(period)
    now = timezone.now()
    buckets = [0] * len(AGES)
    for created in cases.values_list("created_at", flat=True):
        days = (now - created).total_seconds() / 86400
        for i, (limit, _label) in enumerate(AGES):
            if limit is None or days < limit:
                buckets[i] += 1
                break
    kinds = list(
        cases.values("kind", "blocking").annotate(n=Count("id")).order_by("-blocking", "kind")
    )
    for row in kinds:
        try:
            row["label"] = exception_kind(row["kind"]).label
        except LookupError:
            row["label"] = row["kind"]
    return {
        "kinds": kinds,
        "total": sum(buckets),
        "chart": bar_list(
            [
                (_(label), Decimal(n), "age-old" if i >= 3 else "age")
                for i, ((_l, label), n) in enumerate(zip(AGES, buckets, strict=True))
            ],
            title=_("Open cases by age"),
        ),
    }
