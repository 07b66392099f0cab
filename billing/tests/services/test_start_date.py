"""How far back (and ahead) a new subscription may start: one interval of its plan back, on the
organisation's clock; its first period ending by the last accepted day ahead."""

import datetime as dt
from decimal import Decimal

import pytest

from billing import services
from billing.models import BillingEvent, BillingPeriod, Subscription
from conftest import clock_at
from core.errors import DomainError
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

YEREVAN = dt.timezone(dt.timedelta(hours=4))


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(10), tzinfo=YEREVAN)


def plan_of(organization, actor, interval: str, count: int = 1, trial_days: int = 0):
    return services.plan_create(
        organization=organization,
        code=f"{interval}-{count}-{trial_days}",
        name=interval,
        amount=Decimal("1000.00"),
        currency="AMD",
        interval=interval,
        interval_count=count,
        trial_days=trial_days,
        actor=actor,
    )


def nothing_stored():
    return not (
        Subscription.objects.exists()
        or BillingPeriod.objects.exists()
        or BillingEvent.objects.exists()
        or WebhookEvent.objects.exists()
    )


def test_a_1970_start_on_a_daily_plan_is_refused_and_nothing_is_created(
    organization, subscribe, system_user
):
    daily = plan_of(organization, system_user, "day")
    with clock_at(organization, at("2026-11-15")), pytest.raises(DomainError) as refused:
        subscribe("1970-01-01", plan=daily)
    assert refused.value.status_code == 400
    assert refused.value.code == "start_date_out_of_range"
    assert refused.value.fields == {
        "start_date": [
            "Must be from 2026-11-14 (one billing interval before today, 2026-11-15) to 9998-12-31."
        ]
    }
    assert nothing_stored()


@pytest.mark.parametrize(
    ("today", "interval", "count", "earliest"),
    [
        ("2026-11-15", "day", 1, "2026-11-14"),
        ("2026-11-15", "day", 3, "2026-11-12"),
        ("2026-11-15", "week", 1, "2026-11-08"),
        ("2026-11-15", "month", 1, "2026-10-15"),
        ("2026-11-15", "month", 3, "2026-08-15"),
        ("2026-11-15", "year", 1, "2025-11-15"),
        # The month before has no 31st: its last day.
        ("2027-03-31", "month", 1, "2027-02-28"),
    ],
)
def test_the_earliest_start_is_one_interval_before_today(
    organization, subscribe, system_user, today, interval, count, earliest
):
    plan = plan_of(organization, system_user, interval, count)
    earliest = dt.date.fromisoformat(earliest)
    with clock_at(organization, at(today)):
        with pytest.raises(DomainError) as refused:
            subscribe((earliest - dt.timedelta(days=1)).isoformat(), plan=plan)
        assert refused.value.code == "start_date_out_of_range"
        assert f"from {earliest.isoformat()}" in refused.value.fields["start_date"][0]
        assert not Subscription.objects.exists()
        subscription = subscribe(earliest.isoformat(), plan=plan)
    # The backdated period and today's: no more than two.
    assert subscription.start_date == earliest
    assert subscription.periods.count() == 1
    assert subscription.periods.get().start == earliest


def test_today_on_the_test_clock_counts_not_real_time(organization, subscribe, system_user):
    daily = plan_of(organization, system_user, "day")
    with clock_at(organization, at("2030-06-15")):
        with pytest.raises(DomainError):
            subscribe("2030-06-13", plan=daily)
        assert subscribe("2030-06-14", plan=daily).start_date == dt.date(2030, 6, 14)


@pytest.mark.parametrize(
    ("interval", "trial_days", "latest"),
    [
        ("day", 0, "9998-12-31"),
        ("month", 0, "9998-12-01"),
        ("year", 0, "9998-01-01"),
        ("month", 14, "9998-11-17"),
    ],
)
def test_the_first_period_ends_by_the_last_accepted_day(
    organization, subscribe, system_user, interval, trial_days, latest
):
    plan = plan_of(organization, system_user, interval, trial_days=trial_days)
    latest = dt.date.fromisoformat(latest)
    with clock_at(organization, at("2026-11-15")):
        if latest < dt.date(9998, 12, 31):
            with pytest.raises(DomainError) as refused:
                subscribe((latest + dt.timedelta(days=1)).isoformat(), plan=plan)
            assert refused.value.status_code == 400
            assert refused.value.fields["start_date"][0].endswith(f"to {latest.isoformat()}.")
            assert nothing_stored()
        subscription = subscribe(latest.isoformat(), plan=plan)
    assert subscription.periods.get().end <= dt.date(9998, 12, 31)
