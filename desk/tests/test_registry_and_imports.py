"""A domain's section joins the period page through the registry; imports from the browser
answer with their result or the service's refusal, and only for those allowed to import."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from desk.registry import _sections, register_period_section
from desk.tests.conftest import PASSWORD
from reconciliation.models import ProviderReport

pytestmark = pytest.mark.django_db
HERE = Path(__file__).resolve().parent

REPORT = (
    b"order_number,provider_reference,amount,currency,status,paid_at,refunded_amount,fee\n"
    b"X-1,R-1,1000.00,AMD,paid,2026-11-03T10:00:00+04:00,0,15.00\n"
)


def test_a_registered_section_is_rendered_on_the_period_page(client, accountant, month, settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], HERE / "templates"]}
    ]
    seen = {}

    def context(*, period, organization, lo, hi, user):
        seen.update(period=period, user=user)
        return {"rate": "87.5"}

    register_period_section(
        "test_billing",
        title="Subscriptions",
        template="desk_test/section.html",
        context=context,
        order=30,
    )
    try:
        client.login(username=accountant.username, password=PASSWORD)
        period = month["period"]
        html = client.get(
            reverse("desk:period", args=[period.organization.slug, period.pk])
        ).content.decode()
    finally:
        _sections.pop("test_billing")
    assert 'id="section-test_billing"' in html
    assert "collection rate 87.5" in html
    assert seen == {"period": period, "user": accountant}
    # Ordered by ``order``: payments (10) < this (30) < exception cases (60).
    assert html.index("section-payments") < html.index("section-test_billing")
    assert html.index("section-test_billing") < html.index("section-exceptions")


def test_upload_a_report_shows_its_result(client, accountant, organization):
    client.login(username=accountant.username, password=PASSWORD)
    response = client.post(
        reverse("desk:imports", args=[organization.slug]),
        {"kind": "report", "provider": "arca", "file": SimpleUploadedFile("r.csv", REPORT)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'data-result="report"' in response.content.decode()
    assert ProviderReport.objects.get(organization=organization).rows_total == 1
    again = client.post(
        reverse("desk:imports", args=[organization.slug]),
        {"kind": "report", "provider": "arca", "file": SimpleUploadedFile("r.csv", REPORT)},
        HTTP_HX_REQUEST="true",
    )
    assert again.status_code == 400
    assert "was imported as report" in again.content.decode()


def test_a_malformed_report_is_refused_naming_the_line(client, accountant, organization):
    client.login(username=accountant.username, password=PASSWORD)
    bad = REPORT + b"X-2,R-2,-5,AMD,paid,2026-11-03T10:00:00+04:00,0,0\n"
    response = client.post(
        reverse("desk:imports", args=[organization.slug]),
        {"kind": "report", "provider": "arca", "file": SimpleUploadedFile("bad.csv", bad)},
    )
    assert response.status_code == 400
    assert "line 3" in response.content.decode().lower()
    assert not ProviderReport.objects.filter(organization=organization).exists()


def test_operator_may_not_import(client, operator, organization):
    client.login(username=operator.username, password=PASSWORD)
    page = client.get(reverse("desk:imports", args=[organization.slug])).content.decode()
    assert "Only accountants import files." in page
    response = client.post(
        reverse("desk:imports", args=[organization.slug]),
        {"kind": "report", "provider": "arca", "file": SimpleUploadedFile("r.csv", REPORT)},
    )
    assert response.status_code == 403
    assert not ProviderReport.objects.exists()
