"""The sections billing and appointments register on the desk: subscriptions (expected versus
verified, periods in manual review, the collection rate) and appointment payments (counted apart
by what became of the visit); their export sheets add up to the page, to the luma."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from appointments.models import PaymentRequest
from billing.models import BillingPeriod
from core.actors import system_actor
from core.models import Branch, Organization
from core.services import organization_ensure
from desk.registry import export_sheets, period_sections
from desk.selectors import period_bounds
from desk.tests.conftest import PASSWORD, staff
from desk.tests.helpers import csv_blocks, csv_totals, page_figures, xlsx_totals
from reconciliation.services import accounting_period_month

pytestmark = pytest.mark.django_db


def test_billing_and_appointments_register_their_sections_and_sheets():
    names = [s.name for s in period_sections()]
    assert names.index("payouts") < names.index("billing") < names.index("appointments")
    sheets = {s.name: s for s in export_sheets()}
    assert sheets["subscription_periods"].totals == {
        "expected": "subscriptions_expected",
        "verified": "subscriptions_verified",
    }
    assert sheets["appointment_payments"].totals == {
        "amount": "appointments_paid",
        "refunded": "appointments_refunded",
    }


def _seeded(slug, name, branch, app):
    actor = system_actor("seed-demo")
    org, _ = organization_ensure(slug=slug, name=name, actor=actor)
    Branch.objects.get_or_create(organization=org, code=branch, defaults={"name": branch.title()})
    apps.get_app_config(app).seed_demo(stdout=io.StringIO())
    today = timezone.localtime(timezone.now(), org.tz).date()
    return org, accounting_period_month(organization=org, day=today, actor=actor)


def _pages(client, org, period):
    user = staff("anahit", org, "accountant")
    client.login(username=user.username, password=PASSWORD)
    page = client.get(reverse("desk:period", args=[org.slug, period.pk])).content.decode()
    response = client.get(reverse("desk:export-csv", args=[org.slug, period.pk]))
    text = b"".join(response.streaming_content).decode()
    response = client.get(reverse("desk:export-xlsx", args=[org.slug, period.pk]))
    return page, text, b"".join(response.streaming_content)


def _match(page, csv_text, xlsx, names):
    figures = page_figures(page)
    found = {k: v for k, v in figures.items() if k[0] in names}
    assert found, f"none of {names} on the page"
    for totals in (csv_totals(csv_text), xlsx_totals(xlsx)):
        for key, value in found.items():
            assert totals[key] == value, key
    return found


def test_subscriptions_section_matches_its_rows_and_exports(client):
    org, period = _seeded("ararat-fitness", "Ararat Fitness", "komitas", "billing")
    due = BillingPeriod.objects.filter(
        organization=org, due_date__gte=period.start, due_date__lte=period.end
    )
    assert due.exists()
    page, text, xlsx = _pages(client, org, period)
    assert 'id="section-billing"' in page
    assert "Collection rate by plan" in page
    found = _match(page, text, xlsx, {"subscriptions_expected", "subscriptions_verified"})
    sums = due.aggregate(e=Sum("expected_amount"), v=Sum("verified_amount"))
    assert found[("subscriptions_expected", "AMD")] == sums["e"]
    assert found[("subscriptions_verified", "AMD")] == sums["v"]
    block = csv_blocks(text)["subscription_periods"]
    assert len(block) - 1 == due.count()
    in_review = due.filter(status=BillingPeriod.Status.MANUAL_REVIEW)
    for p in in_review:
        assert reverse("admin:billing_manualreviewperiod_change", args=[p.pk]) in page


def test_appointments_section_counts_the_visits_apart_and_matches_exports(client):
    org, period = _seeded("arabkir-dental", "Arabkir Dental Clinic", "arabkir", "appointments")
    lo, hi = period_bounds(period)
    paid = PaymentRequest.objects.filter(organization=org, paid_at__gte=lo, paid_at__lt=hi)
    assert paid.exists()
    page, text, xlsx = _pages(client, org, period)
    assert 'id="section-appointments"' in page
    found = _match(page, text, xlsx, {"appointments_paid", "appointments_refunded"})
    assert found[("appointments_paid", "AMD")] == paid.aggregate(s=Sum("amount"))["s"]
    refunded = paid.aggregate(s=Sum("payment__refunded_amount"))["s"]
    assert found[("appointments_refunded", "AMD")] == refunded
    outcomes = set(paid.values_list("appointment__status", flat=True))
    for status, outcome in (("cancelled", "cancelled"), ("no_show", "no_show")):
        if status in outcomes:
            assert f'data-outcome="{outcome}"' in page
    assert len(csv_blocks(text)["appointment_payments"]) - 1 == paid.count()


def test_an_organisation_without_subscriptions_or_appointments_shows_neither(
    client, accountant, organization, month
):
    client.login(username=accountant.username, password=PASSWORD)
    page = client.get(reverse("desk:period", args=[organization.slug, month["period"].pk]))
    html = page.content.decode()
    assert 'id="section-billing"' not in html
    assert 'id="section-appointments"' not in html
    text = b"".join(
        client.get(
            reverse("desk:export-csv", args=[organization.slug, month["period"].pk])
        ).streaming_content
    ).decode()
    blocks = csv_blocks(text)
    assert blocks["subscription_periods"] == [list(export_sheets_columns("subscription_periods"))]
    assert Organization.objects.count() >= 1
    assert Decimal(0) == sum(
        (v for (f, _c), v in csv_totals(text).items() if f.startswith("subscriptions")),
        Decimal(0),
    )


def export_sheets_columns(name):
    return next(s.columns for s in export_sheets() if s.name == name)
