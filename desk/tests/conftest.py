"""Desk test data: staff logins by role, and a month of money with one blocking case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.actors import system_actor
from core.services import staff_user_ensure
from exceptionqueue.services import exception_raise
from payments.tests.factories import make_payment
from payouts.tests.factories import refund
from reconciliation.services import accounting_period_month
from webhooks.tests.conftest import eager_celery

__all__ = ["eager_celery"]

PASSWORD = "correct horse battery staple"


def staff(username, organization, role):
    user, _created, _pw = staff_user_ensure(
        username=username,
        organization=organization,
        role=role,
        password=PASSWORD,
        actor=system_actor("tests"),
    )
    return user


@pytest.fixture
def accountant(organization):
    return staff("anahit", organization, "accountant")


@pytest.fixture
def operator(organization):
    return staff("oper", organization, "operator")


@pytest.fixture
def month(organization, branch):
    """This month as an accounting period: two verified payments (AMD), a refund of one, and
    a blocking case dated today."""
    actor = system_actor("tests")
    first = make_payment(
        organization=organization, branch=branch, amount="1250000.50", verified=True
    )
    make_payment(organization=organization, branch=branch, amount="4000.00", verified=True)
    refund(first, "250.25")
    today = timezone.localtime(timezone.now(), organization.tz).date()
    period = accounting_period_month(organization=organization, day=today, actor=actor)
    case = exception_raise(
        organization=organization,
        kind="missing_in_payops",
        dedup_key="desk-test:blocker",
        message="A report row payops does not know.",
        actor=actor,
        amount=Decimal("700.00"),
        currency="AMD",
        period_start=today,
        period_end=today,
    )
    return {"period": period, "case": case, "today": today, "start": period.start}


def yesterday(organization) -> dt.date:
    return timezone.localtime(timezone.now(), organization.tz).date() - dt.timedelta(days=1)
