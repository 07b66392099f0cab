# ruff: noqa: RUF001 (Armenian and Russian sentences)
"""The desk's pages with Django's test client: who sees what, who may do what, every POST
checked, and the close refused with its reasons while a blocker exists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from core.models import AccountingPeriod
from desk.tests.conftest import PASSWORD, staff
from exceptionqueue.models import ExceptionCase
from payments.tests.factories import make_payment
from reconciliation.services import accounting_period_month

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(name, organization, *args):
    return reverse(f"desk:{name}", args=[organization.slug, *args])


def test_anonymous_is_sent_to_the_login(client, organization, month):
    response = client.get(url("period", organization, month["period"].pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_home_opens_the_first_membership(client, accountant, organization):
    response = login(client, accountant).get(reverse("desk:home"))
    assert response.status_code == 302
    assert response["Location"] == url("periods", organization)


def test_periods_list_shows_totals_with_thousands_separators(client, accountant, month):
    response = login(client, accountant).get(url("periods", month["period"].organization))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-amount="1254000.50"' in html  # verified
    assert "1,254,000.50" in html
    assert 'data-amount="250.25"' in html  # refunded
    assert "1 blocking" in html


def test_period_page_lists_the_blocker_with_its_resolve_form(client, accountant, month):
    period, case = month["period"], month["case"]
    response = login(client, accountant).get(url("period", period.organization, period.pk))
    html = response.content.decode()
    assert f'data-blocker="{case.pk}"' in html
    assert reverse("desk:case-resolve", args=[period.organization.slug, case.pk]) in html
    assert "Close period" in html
    for section in ("payments", "exceptions", "reconciliation"):
        assert f'id="section-{section}"' in html
    assert "<svg" in html


def test_close_is_refused_with_the_reasons_then_done_after_resolving(
    client, accountant, organization, month, month_ended
):
    period, case = month["period"], month["case"]
    login(client, accountant)
    with month_ended(period):
        response = client.post(url("period-close", organization, period.pk), follow=True)
    html = response.content.decode()
    assert "The period was not closed: 1 blocking case is still open." in html
    # The kind's label, not its code.
    assert f"Provider report row payops does not know #{case.pk}: A report row" in html
    assert "missing_in_payops" not in html
    assert AccountingPeriod.objects.get(pk=period.pk).status == "open"

    client.post(
        url("case-resolve", organization, case.pk), {"note": "", "period": period.pk}, follow=True
    )
    assert ExceptionCase.objects.get(pk=case.pk).status == "open"  # a note is required
    client.post(
        url("case-resolve", organization, case.pk), {"note": "bank ok", "period": period.pk}
    )
    assert ExceptionCase.objects.get(pk=case.pk).status == "resolved"

    with month_ended(period):
        response = client.post(url("period-close", organization, period.pk), follow=True)
    assert "is closed" in response.content.decode()
    period.refresh_from_db()
    assert period.status == "closed"
    assert period.closed_by == accountant


@pytest.mark.parametrize(
    ("language", "refusal", "notice"),
    [
        ("en", "The period was not closed: it has not ended yet.", "This period has not ended yet"),
        ("ru", "Период не закрыт: он ещё не закончился.", "Этот период ещё не закончился"),
        ("hy", "Ժամանակաշրջանը չփակվեց. այն դեռ չի ավարտվել", "դեռ չի ավարտվել"),
    ],
)
def test_close_of_a_month_not_ended_is_refused_in_the_language(
    client, accountant, organization, month, at_midnight, language, refusal, notice
):
    """Nothing else blocks it, yet this month may not close until its last day is over in
    Yerevan: at 23:59:59 of its last day the close is refused, translated, and the page says
    so; at 00:00 of the next day it closes."""
    from django.utils import translation
    from django.utils.formats import date_format

    period, case = month["period"], month["case"]
    ExceptionCase.objects.filter(pk=case.pk).update(status="resolved")
    login(client, accountant)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    with translation.override(language):
        day = date_format(period.end + dt.timedelta(days=1), "SHORT_DATE_FORMAT")
    with at_midnight(period, seconds=-1):
        page = client.get(url("period", organization, period.pk)).content.decode()
        response = client.post(url("period-close", organization, period.pk), follow=True)
    assert notice in page
    assert f'data-not-ended="{period.end + dt.timedelta(days=1):%Y-%m-%d}"' in page
    html = response.content.decode()
    assert refusal in html
    assert day in html
    assert AccountingPeriod.objects.get(pk=period.pk).status == "open"
    with at_midnight(period):
        page = client.get(url("period", organization, period.pk)).content.decode()
        assert "data-not-ended" not in page
        client.post(url("period-close", organization, period.pk))
    assert AccountingPeriod.objects.get(pk=period.pk).status == "closed"


def test_reopen_needs_a_reason(client, accountant, organization, month, month_ended):
    period, case = month["period"], month["case"]
    login(client, accountant)
    client.post(url("case-resolve", organization, case.pk), {"note": "ok", "period": period.pk})
    with month_ended(period):
        client.post(url("period-close", organization, period.pk))
    response = client.post(
        url("period-reopen", organization, period.pk), {"reason": " "}, follow=True
    )
    assert "Say why the period is reopened." in response.content.decode()
    assert AccountingPeriod.objects.get(pk=period.pk).status == "closed"
    client.post(url("period-reopen", organization, period.pk), {"reason": "late bank fee"})
    period.refresh_from_db()
    assert period.status == "open"
    assert period.history.first().history_change_reason == "reopened: late bank fee"


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "ru",
            [
                "Укажите, почему период открывается снова.",
                "Обязательное поле.",
                "Укажите, как было разрешено исключение.",
            ],
        ),
        (
            "hy",
            [
                "Նշեք, թե ինչու է ժամանակաշրջանը վերաբացվում։",
                "Այս դաշտը պարտադիր է",
                "Նշեք, թե ինչպես է լուծվել դեպքը։",
            ],
        ),
    ],
)
def test_service_refusals_speak_the_language(
    client, accountant, organization, month, language, texts
):
    """A service refuses in English (the API's language): the desk says it in the page's."""
    period, case = month["period"], month["case"]
    login(client, accountant)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    response = client.post(
        url("case-resolve", organization, case.pk), {"note": " ", "period": period.pk}, follow=True
    )
    resolve = response.content.decode()
    client.post(url("case-resolve", organization, case.pk), {"note": "ok", "period": period.pk})
    client.post(url("period-close", organization, period.pk))
    response = client.post(
        url("period-reopen", organization, period.pk), {"reason": " "}, follow=True
    )
    html = resolve + response.content.decode()
    for text in texts:
        assert text in html
    for english in ("Say why", "This field is required.", "Say how the exception"):
        assert english not in html


def test_operator_sees_but_may_not_close_or_reopen(client, operator, organization, month):
    period, case = month["period"], month["case"]
    login(client, operator)
    html = client.get(url("period", organization, period.pk)).content.decode()
    assert "Only accountants close periods." in html
    assert "close-dialog" not in html
    # Resolve the blocker so that only the permission can stop the close.
    ExceptionCase.objects.filter(pk=case.pk).update(status="resolved")
    assert client.post(url("period-close", organization, period.pk)).status_code == 403
    assert AccountingPeriod.objects.get(pk=period.pk).status == "open"
    assert (
        client.post(url("period-reopen", organization, period.pk), {"reason": "x"}).status_code
        == 403
    )
    assert client.post(url("period-create", organization), {"month": "2020-01"}).status_code == 403


def test_another_organisations_period_is_404(
    client, accountant, organization, other_organization, month, system_user
):
    theirs = accounting_period_month(
        organization=other_organization, day=month["today"], actor=system_user
    )
    login(client, accountant)
    assert client.get(url("periods", other_organization)).status_code == 404
    assert client.get(url("period", other_organization, theirs.pk)).status_code == 404
    # Their period under our organisation's URL is no way in either.
    assert client.get(url("period", organization, theirs.pk)).status_code == 404
    assert client.post(url("period-close", other_organization, theirs.pk)).status_code == 404
    assert client.get(url("export-csv", organization, theirs.pk)).status_code == 404
    assert (
        client.post(reverse("desk:switch"), {"organization": other_organization.slug}).status_code
        == 404
    )


def test_switcher_lists_only_memberships(client, accountant, organization, other_organization):
    staff(accountant.username, other_organization, "accountant")
    login(client, accountant)
    html = client.get(url("periods", organization)).content.decode()
    assert 'id="org-switch"' in html
    assert other_organization.name in html
    response = client.post(reverse("desk:switch"), {"organization": other_organization.slug})
    assert response["Location"] == url("periods", other_organization)


def test_post_without_csrf_token_is_refused(accountant, organization, month):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, accountant)
    period = month["period"]
    assert client.post(url("period-close", organization, period.pk)).status_code == 403


def test_create_period_opens_the_month(client, accountant, organization):
    login(client, accountant)
    response = client.post(url("period-create", organization), {"month": "2026-02"})
    period = AccountingPeriod.objects.get(organization=organization)
    assert (period.start.isoformat(), period.end.isoformat()) == ("2026-02-01", "2026-02-28")
    assert response["Location"] == url("period", organization, period.pk)


@pytest.mark.parametrize(
    ("language", "text"),
    [("hy", "1\xa0254\xa0000,50"), ("ru", "1\xa0254\xa0000,50"), ("en", "1,254,000.50")],
)
def test_amounts_follow_the_language(client, accountant, organization, month, language, text):
    login(client, accountant)
    client.post(reverse("set_language"), {"language": language, "next": "/desk/"})
    html = client.get(url("period", organization, month["period"].pk)).content.decode()
    assert f'lang="{language}"' in html
    assert text in html


def test_period_page_with_a_reconciliation_run_of_its_dates(client, accountant, month):
    # The reconciliation section read ReconciliationRun.PROBLEMS, which does not exist: any
    # period with a run (the demo's current month after the nightly run) answered 500.
    from core.actors import system_actor
    from reconciliation.services import reconciliation_run

    period = month["period"]
    reconciliation_run(
        organization=period.organization,
        start=month["today"],
        end=month["today"],
        actor=system_actor("tests"),
    )
    response = login(client, accountant).get(url("period", period.organization, period.pk))
    assert response.status_code == 200
    assert "No reconciliation run covers these dates" not in response.content.decode()


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [
        ("en", "3 matched · 1 case raised", "3 matched · 2 cases raised"),
        ("ru", "3 сопоставлено · 1 случай заведён", "3 сопоставлено · 2 случая заведено"),
    ],
)
def test_the_last_run_counts_its_cases_in_the_right_plural(
    client, accountant, organization, month, language, one, many
):
    """ "1 cases raised" was written under a run that raised one case."""
    from reconciliation.models import ReconciliationRun

    period = month["period"]
    run = ReconciliationRun.objects.create(
        organization=organization,
        period_start=period.start,
        period_end=period.start,
        counts={"matched": 3},
        exceptions_raised=1,
        started_by=accountant,
    )
    login(client, accountant).post(reverse("set_language"), {"language": language, "next": "/"})
    assert one in client.get(url("periods", organization)).content.decode()
    run.exceptions_raised = 2
    run.save()
    assert many in client.get(url("periods", organization)).content.decode()


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1969-12"])
def test_a_month_beyond_the_accepted_dates_is_refused_in_place(
    client, accountant, organization, month
):
    """The period for 9999-12 was created, then its page answered 500 (9999-12-31 + 1 day)."""
    login(client, accountant)
    response = client.post(url("period-create", organization), {"month": month}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == url("periods", organization)
    html = response.content.decode()
    assert "An accounting period must lie between 1970-01-01 and 9998-12-31" in html
    assert not AccountingPeriod.objects.filter(organization=organization).exists()


def test_a_stored_period_at_the_end_of_the_calendar_still_opens(client, accountant, organization):
    """A period stored before the check (9999-12) opens: its local-day bounds and its chart's
    day count stop at Python's last date instead of overflowing."""
    period = AccountingPeriod.objects.create(
        organization=organization, start=dt.date(9999, 12, 1), end=dt.date(9999, 12, 31)
    )
    response = login(client, accountant).get(url("period", organization, period.pk))
    assert response.status_code == 200
    assert "31 bars" in response.content.decode()
    assert "the calendar's last day: it can never be closed" in response.content.decode()
    closing = client.post(url("period-close", organization, period.pk), follow=True)
    assert "the calendar&#x27;s last day, so it can never be closed" in closing.content.decode()
    period.refresh_from_db()
    assert period.status == "open"


def test_a_period_of_the_whole_accepted_range_charts_by_year(
    client, accountant, organization, branch
):
    make_payment(organization=organization, branch=branch, amount="1500.00", verified=True)
    period = AccountingPeriod.objects.create(
        organization=organization, start=dt.date(1970, 1, 1), end=dt.date(9998, 12, 31)
    )
    response = login(client, accountant).get(url("period", organization, period.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Verified volume by year" in html
    assert "1 bars; total 1,500.00 AMD" in html


def test_the_chart_has_a_bar_per_day_month_or_year():
    from desk.sections.payments import volume_bars

    day = dt.date(2026, 3, 5)
    title, points, ticks = volume_bars(dt.date(2026, 3, 1), dt.date(2026, 3, 31), {day: 7})
    assert (str(title), len(points), ticks[0], points[4][1]) == (
        "Verified volume by day",
        31,
        "1",
        7,
    )
    title, points, ticks = volume_bars(dt.date(2025, 1, 1), dt.date(2026, 12, 31), {day: 7})
    assert (str(title), len(points), ticks[14], points[14][1]) == (
        "Verified volume by month",
        24,
        "3",
        7,
    )
    title, points, ticks = volume_bars(dt.date(1970, 1, 1), dt.date(9998, 12, 31), {})
    assert (str(title), len(points)) == ("Verified volume by year", 1)
    title, points, ticks = volume_bars(dt.date(9999, 12, 1), dt.date.max, {})
    assert len(points) == 31
