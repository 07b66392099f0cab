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


def _add_period(client, organization, start, end):
    return client.post(
        reverse("admin:core_accountingperiod_add"),
        {
            "organization": organization.pk,
            "start": start,
            "end": end,
            "events-TOTAL_FORMS": "0",  # the (read-only) events inline's management form
            "events-INITIAL_FORMS": "0",
        },
    )


@pytest.mark.parametrize("who", ["superuser", "accountant"])
def test_a_period_the_service_refuses_is_a_form_error_not_a_403(
    client, admin_user, organization, period, who
):
    """Before: ``save_model`` turned the service's refusal into ``PermissionDenied``: a 403
    page with the sentence, the input lost. Now the add form is shown again (200) with the
    refusal's sentence and, on each field it names, that field's message; nothing saved."""
    from core.dates import RANGE_MESSAGE

    user = admin_user if who == "superuser" else _staff(organization, "Accountant", "ani")
    client.force_login(user)
    beyond = _add_period(client, organization, "9999-01-01", "9999-12-31")
    assert beyond.status_code == 200
    errors = beyond.context["adminform"].form.errors
    assert errors["__all__"][0].startswith("An accounting period must lie between 1970-01-01")
    assert errors["start"] == [RANGE_MESSAGE]
    assert errors["end"] == [RANGE_MESSAGE]
    html = beyond.content.decode()
    assert 'class="errornote"' in html
    assert 'value="9999-01-01"' in html  # the user's input is kept
    overlap = _add_period(client, organization, "2026-10-15", "2026-11-15")
    assert overlap.status_code == 200
    assert overlap.context["adminform"].form.non_field_errors() == [
        f"The accounting period 2026-10-01..2026-10-31 (#{period.pk}) already covers part of "
        "these dates."
    ]
    inverted = _add_period(client, organization, "2026-12-10", "2026-12-01")
    assert inverted.status_code == 200
    assert inverted.context["adminform"].form.errors
    assert list(AccountingPeriod.objects.values_list("pk", flat=True)) == [period.pk]
    added = _add_period(client, organization, "2026-11-01", "2026-11-30")
    assert added.status_code == 302
    assert AccountingPeriod.objects.count() == 2
