"""The nightly run: once a day per organisation, in its own time zone.

Registered as due work (``core.duework``), so the beat task that runs every minute, the
``run_due_work`` command and the sandbox test clock all drive it: after ``nightly_hour`` local
time, yesterday is reconciled once (a unique nightly run per organisation and day) and the
completed payouts still without a bank line are raised.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from reconciliation.models import ReconciliationRun
from reconciliation.services.bank import bank_payouts_check
from reconciliation.services.runs import reconciliation_run
from reconciliation.services.settings import reconciliation_settings_get


def reconciliation_due_work(*, organization, now: dt.datetime, actor) -> dict[str, int]:
    local = timezone.localtime(now, organization.tz)
    settings = reconciliation_settings_get(organization=organization)
    if local.hour < settings.nightly_hour:
        return {}
    yesterday = local.date() - dt.timedelta(days=1)
    if ReconciliationRun.objects.filter(
        organization=organization, period_start=yesterday, trigger=ReconciliationRun.Trigger.NIGHTLY
    ).exists():
        return {}
    run = reconciliation_run(
        organization=organization,
        start=yesterday,
        end=yesterday,
        actor=actor,
        trigger=ReconciliationRun.Trigger.NIGHTLY,
    )
    if not getattr(run, "made_by_this_call", False):
        return {}  # a concurrent run made it (and checks the bank lines): counted there
    late = bank_payouts_check(organization=organization, today=local.date(), actor=actor)
    return {"reconciliation_runs": 1, "reconciliation_cases": run.exceptions_raised + late}
