"""core.accounting: the kernel's guard against changes dated in a closed accounting period."""

from __future__ import annotations

import datetime as dt

import pytest

from core.accounting import (
    accounting_adjustment_date,
    accounting_period_guard,
    close_blockers,
    register_close_blocker,
)
from core.errors import DomainError
from core.models import AccountingPeriod


def _period(organization, start, end, status="open"):
    return AccountingPeriod.objects.create(
        organization=organization, start=start, end=end, status=status
    )


def test_guard_refuses_a_date_in_a_closed_period(organization):
    _period(organization, dt.date(2026, 10, 1), dt.date(2026, 10, 31), "closed")
    with pytest.raises(DomainError) as caught:
        accounting_period_guard(
            organization=organization, date=dt.date(2026, 10, 15), what="A refund"
        )
    assert caught.value.code == "period_closed"
    assert caught.value.status_code == 409
    assert "A refund is dated 2026-10-15" in caught.value.message


def test_guard_lets_open_and_undefined_dates_through(organization, other_organization):
    _period(organization, dt.date(2026, 10, 1), dt.date(2026, 10, 31), "closed")
    _period(organization, dt.date(2026, 11, 1), dt.date(2026, 11, 30), "open")
    accounting_period_guard(organization=organization, date=dt.date(2026, 11, 2))
    accounting_period_guard(organization=organization, date=dt.date(2026, 12, 2))
    accounting_period_guard(organization=other_organization, date=dt.date(2026, 10, 15))


def test_guard_reads_datetimes_in_the_organisation_zone(organization):
    _period(organization, dt.date(2026, 10, 1), dt.date(2026, 10, 31), "closed")
    # 31 Oct 21:30 UTC is 1 Nov 01:30 in Yerevan (+04:00): open.
    accounting_period_guard(
        organization=organization, date=dt.datetime(2026, 10, 31, 21, 30, tzinfo=dt.UTC)
    )
    with pytest.raises(DomainError):
        accounting_period_guard(
            organization=organization, date=dt.datetime(2026, 10, 31, 19, 30, tzinfo=dt.UTC)
        )


def test_adjustment_date_is_the_next_open_day(organization):
    _period(organization, dt.date(2026, 9, 1), dt.date(2026, 9, 30), "closed")
    _period(organization, dt.date(2026, 10, 1), dt.date(2026, 10, 31), "closed")
    _period(organization, dt.date(2026, 11, 1), dt.date(2026, 11, 30), "open")
    assert accounting_adjustment_date(
        organization=organization, date=dt.date(2026, 9, 10)
    ) == dt.date(2026, 11, 1)
    assert accounting_adjustment_date(
        organization=organization, date=dt.date(2026, 11, 10)
    ) == dt.date(2026, 11, 10)


def test_registered_blockers_are_tagged_with_their_source(organization):
    def blocker(*, organization, start, end):
        return [{"kind": "thing", "id": 7, "message": f"{start}..{end}"}]

    register_close_blocker("tests.thing", blocker)
    try:
        found = close_blockers(
            organization=organization, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)
        )
        assert {
            "source": "tests.thing",
            "kind": "thing",
            "id": 7,
            "message": "2026-10-01..2026-10-31",
        } in found
    finally:
        from core import accounting

        accounting._blockers.pop("tests.thing")
