"""Accounting periods (payouts.services.periods)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import DomainError
from payouts import services

D = Decimal


def test_periods_cannot_overlap_or_invert(organization, actor):
    day = dt.date(2025, 1, 1)
    services.period_create(
        organization=organization,
        kind="week",
        start_date=day,
        end_date=day + dt.timedelta(days=6),
        actor=actor,
    )
    with pytest.raises(DomainError) as exc:
        services.period_create(
            organization=organization,
            kind="shift",
            start_date=day + dt.timedelta(days=6),
            end_date=day + dt.timedelta(days=6),
            actor=actor,
        )
    assert exc.value.code == "period_overlap"
    with pytest.raises(DomainError) as exc:
        services.period_create(
            organization=organization,
            kind="shift",
            start_date=day + dt.timedelta(days=9),
            end_date=day,
            actor=actor,
        )
    assert exc.value.code == "invalid_period"
