"""The nightly run: due work per organisation in its own time zone, once a day."""

from __future__ import annotations

import datetime as dt

import pytest

from core.actors import system_actor
from core.duework import due_work_run
from reconciliation.models import ReconciliationRun
from reconciliation.tasks import reconcile_day

pytestmark = pytest.mark.postgres


def test_nightly_runs_yesterday_once_after_the_local_hour(organization):
    actor = system_actor("tests")
    # 01:30 in Yerevan: before the nightly hour (02:00), nothing runs.
    early = dt.datetime(2026, 11, 2, 1, 30, tzinfo=organization.tz)
    due_work_run(organization=organization, now=early, actor=actor)
    assert not ReconciliationRun.objects.exists()
    later = dt.datetime(2026, 11, 2, 2, 5, tzinfo=organization.tz)
    counts = due_work_run(organization=organization, now=later, actor=actor)
    assert counts.get("reconciliation_runs") == 1
    run = ReconciliationRun.objects.get()
    assert (run.period_start, run.trigger) == (dt.date(2026, 11, 1), "nightly")
    due_work_run(organization=organization, now=later + dt.timedelta(minutes=1), actor=actor)
    assert ReconciliationRun.objects.count() == 1


def test_nightly_follows_each_organisation_zone(organization, other_organization):
    other_organization.timezone = "America/New_York"
    other_organization.save()
    # 02:05 in Yerevan is 17:05 the day before in New York.
    now = dt.datetime(2026, 11, 2, 2, 5, tzinfo=organization.tz)
    due_work_run(organization=organization, now=now, actor=system_actor("tests"))
    due_work_run(organization=other_organization, now=now, actor=system_actor("tests"))
    days = dict(ReconciliationRun.objects.values_list("organization__slug", "period_start"))
    assert days == {"yerevan-cafe": dt.date(2026, 11, 1), "gyumri-bakery": dt.date(2026, 10, 31)}


def test_reconcile_day_task_is_idempotent(organization):
    first = reconcile_day(organization.pk, "2026-10-05")
    assert reconcile_day(organization.pk, "2026-10-05") == first
    assert reconcile_day(999999, "2026-10-05") is None
