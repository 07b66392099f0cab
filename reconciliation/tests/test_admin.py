"""Operators' admin: every page renders; close and reopen go through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from core.models import AccountingPeriod, Membership
from reconciliation.services import accounting_period_create

PAGES = [
    "providerreport",
    "reconciliationrun",
    "reconciliationitem",
    "bankstatement",
    "reconciliationsettings",
    "periodadjustment",
]


def _staff(organization, role, name):
    user = User.objects.create_user(name, password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def period(organization, actor):
    return accounting_period_create(
        organization=organization,
        start=dt.date(2026, 10, 1),
        end=dt.date(2026, 10, 31),
        actor=actor,
    )


def test_pages_render(admin_client, period):
    for name in PAGES:
        page = admin_client.get(reverse(f"admin:reconciliation_{name}_changelist"))
        assert page.status_code == 200, name
    page = admin_client.get(reverse("admin:core_accountingperiod_change", args=[period.pk]))
    assert page.status_code == 200


def _act(client, action, period, reason=""):
    return client.post(
        reverse("admin:core_accountingperiod_changelist"),
        {"action": action, "_selected_action": [period.pk], "reason": reason},
        follow=True,
    )


def test_accountant_closes_and_reopens_with_a_reason(client, organization, period):
    client.force_login(_staff(organization, "Accountant", "ani"))
    _act(client, "close", period)
    period.refresh_from_db()
    assert period.status == AccountingPeriod.Status.CLOSED
    answer = _act(client, "reopen", period)
    assert b"Say why the period is reopened" in answer.content
    period.refresh_from_db()
    assert period.status == "closed"
    _act(client, "reopen", period, reason="late invoice")
    period.refresh_from_db()
    assert period.status == "open"


def test_operator_may_not_close(client, organization, period):
    client.force_login(_staff(organization, "Operator", "aram"))
    answer = client.post(
        reverse("admin:core_accountingperiod_changelist"),
        {"action": "close", "_selected_action": [period.pk]},
    )
    assert answer.status_code == 403
    period.refresh_from_db()
    assert period.status == "open"


def test_close_of_a_month_not_ended_is_refused_in_the_readers_language(
    client, organization, actor, month_ended
):
    from core.clock import clock_today
    from reconciliation.services import accounting_period_month

    period = accounting_period_month(
        organization=organization, day=clock_today(organization), actor=actor
    )
    client.force_login(_staff(organization, "Accountant", "ani"))
    answer = _act(client, "close", period)
    assert b"The period was not closed: it has not ended yet." in answer.content
    period.refresh_from_db()
    assert period.status == "open"
    client.post(reverse("set_language"), {"language": "ru", "next": "/admin/"})
    answer = _act(client, "close", period)
    assert "Период не закрыт: он ещё не закончился." in answer.content.decode()
    with month_ended(period):
        _act(client, "close", period)
    period.refresh_from_db()
    assert period.status == "closed"
