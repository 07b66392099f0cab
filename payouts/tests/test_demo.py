"""The demo's refund drift is a real one, made through the services, about a payout."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from core.models import Branch, Organization
from exceptionqueue.models import ExceptionCase
from payouts.demo import drift_start, seed_demo
from payouts.models import Payout


def test_demo_drift_case_names_its_payout_and_is_decided_there(
    db, django_capture_on_commit_callbacks
):
    organization = Organization.objects.create(slug="yerevan-cafe", name="Yerevan Cafe")
    for code in ("northern-avenue", "cascade"):
        Branch.objects.create(organization=organization, code=code, name=code)
    for _ in range(2):  # idempotent: the second run makes no second drift
        with django_capture_on_commit_callbacks(execute=True):
            seed_demo(stdout=io.StringIO())
    case = ExceptionCase.objects.get(kind="refund_drift")
    held = Payout.objects.get(drift_hold=True)
    assert case.subject == held
    assert (held.status, held.recipient.external_ref) == ("processing", "cafe-w-mariam")
    assert case.amount == 1500
    # It does not sit in the demo's closed week: that period is closed and built.
    assert held.accounting_period is None
    assert not ExceptionCase.objects.filter(kind="refund_drift", subject_id="").exists()
    # Nor in last month (the desk's demo month, one blocker only), even early in a month.
    today = timezone.localtime(timezone.now(), organization.tz).date()
    assert case.period_start >= today.replace(day=1)
    assert held.period_start == drift_start(today)


@pytest.mark.parametrize(
    ("today", "start"),
    [
        ("2026-12-01", "2026-12-01"),  # Tuesday; its week began on 30 November
        ("2026-12-06", "2026-12-01"),  # Sunday of that week
        ("2026-12-07", "2026-12-07"),  # Monday
        ("2026-12-17", "2026-12-14"),  # mid-month Thursday
        ("2027-03-01", "2027-03-01"),  # a Monday that is the 1st
    ],
)
def test_drift_week_never_reaches_into_last_month(today, start):
    assert drift_start(dt.date.fromisoformat(today)) == dt.date.fromisoformat(start)
