"""Races on PostgreSQL with real threads: exactly one winner."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from conftest import run_together
from core.actors import system_actor
from core.errors import DomainError
from core.models import AccountingPeriod
from reconciliation.models import AccountingPeriodEvent, ProviderReport
from reconciliation.services import (
    accounting_period_close,
    accounting_period_create,
    provider_report_import,
)
from reconciliation.tests.factories import report_bytes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_closes_at_once_close_once(organization):
    actor = system_actor("tests")
    period = accounting_period_create(
        organization=organization,
        start=dt.date(2026, 10, 1),
        end=dt.date(2026, 10, 31),
        actor=actor,
    )
    outcomes = run_together(
        lambda: accounting_period_close(period=period.pk, actor=actor),
        lambda: accounting_period_close(period=period.pk, actor=actor),
    )
    winners = [o for o in outcomes if isinstance(o, AccountingPeriod)]
    losers = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(winners) == 1
    assert [e.code for e in losers] == ["transition_not_allowed"]
    assert AccountingPeriodEvent.objects.filter(period=period, action="closed").count() == 1


def test_the_same_file_imported_twice_at_once_is_imported_once(organization):
    actor = system_actor("tests")
    rows = [
        {
            "order_number": f"PO{i}",
            "amount": "10.00",
            "currency": "AMD",
            "status": "paid",
            "paid_at": "2026-10-05T12:00:00+04:00",
        }
        for i in range(2000)
    ]
    data = report_bytes(rows)

    def load():
        return provider_report_import(
            organization=organization, provider="arca", file=io.BytesIO(data), actor=actor
        )

    outcomes = run_together(load, load)
    assert sum(isinstance(o, ProviderReport) for o in outcomes) == 1
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == ["report_already_imported"]
    assert ProviderReport.objects.get().rows.count() == 2000
