"""The desk in a real browser: an accountant closes the demo month (sees the blocker, resolves
it, closes, downloads CSV and XLSX whose totals match the page, reopens with a reason; this
month, not ended yet, does not close); an
operator sees but cannot close; another organisation's period is 404."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.urls import reverse

from core.actors import system_actor
from core.models import AccountingPeriod, Branch, Organization
from core.services import organization_ensure
from desk.tests.conftest import PASSWORD, staff
from desk.tests.helpers import csv_totals, page_figures, xlsx_totals
from reconciliation.services import accounting_period_month

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_month(transactional_db):
    """What ``make run`` seeds for the cafe: a month of QR payments and payouts, the demo
    accounting period and its blocking cases (the payouts and desk seeders themselves)."""
    actor = system_actor("seed-demo")
    cafe, _ = organization_ensure(slug="yerevan-cafe", name="Yerevan Cafe", actor=actor)
    for code, name in (("northern-avenue", "Northern Avenue"), ("cascade", "Cascade")):
        Branch.objects.get_or_create(organization=cafe, code=code, defaults={"name": name})
    out = io.StringIO()
    apps.get_app_config("payouts").seed_demo(stdout=out)
    apps.get_app_config("desk").seed_demo(stdout=out)
    period, current = AccountingPeriod.objects.filter(organization=cafe).order_by("start")
    return cafe, period, current


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/desk/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/desk/*/")


def figures(page):
    return page_figures(page.content())


def same(export_totals, page_totals):
    for (figure, currency), value in page_totals.items():
        got = export_totals.get((figure, currency), export_totals.get((figure, "")))
        assert got == value, f"{figure} {currency}: export {got}, page {value}"


def test_accountant_closes_the_demo_month(
    page, live_server, demo_month, shot, tmp_path, eager_celery
):
    cafe, period, current = demo_month
    staff("anahit", cafe, "accountant")
    page.goto(f"{live_server.url}/desk/")
    shot("01-login", full_page=False)
    log_in(page, live_server, "anahit")
    shot("02-periods")

    page.get_by_role("link", name=period.start.strftime("%B %Y")).click()
    page.wait_for_selector("[data-blocker]")
    shot("03-period-blocked")
    blockers = page.locator("[data-blocker]").count()
    assert blockers == 1  # the demo month's one case (desk/demo.py)
    seeded = figures(page)
    assert seeded[("paid_out", "AMD")] > 0
    assert seeded[("in_flight", "AMD")] > 0
    assert seeded[("refunded", "AMD")] > 0

    # Closing now is refused, with the reasons.
    page.get_by_role("button", name="Close period…").click()
    page.get_by_role("button", name="Yes, close the period").click()
    page.wait_for_load_state()
    refusal = page.locator("ul.messages .error").inner_text()
    assert refusal.startswith(f"The period was not closed: {blockers} blocking case")
    assert page.locator("ul.messages .warning").count() == blockers
    assert AccountingPeriod.objects.get(pk=period.pk).status == "open"
    shot("04-close-refused")

    # Resolve every blocker from the page.
    for _ in range(blockers):
        first = page.locator("[data-blocker]").first
        first.get_by_label("How was it resolved?").fill("Checked with the bank statement.")
        first.get_by_role("button", name="Resolve").click()
        page.wait_for_load_state()
    assert page.locator("[data-blocker]").count() == 0
    assert page.get_by_role("heading", name="Nothing blocks the close").is_visible()

    page.get_by_role("button", name="Close period…").click()
    shot("05-close-dialog", full_page=False)
    page.get_by_role("button", name="Yes, close the period").click()
    page.wait_for_selector('[data-status="closed"]')
    assert AccountingPeriod.objects.get(pk=period.pk).status == "closed"
    shot("06-period-closed")
    on_page = figures(page)
    assert on_page[("verified", "AMD")] > 0

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    text = open(csv_download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    same(csv_totals(text), on_page)
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Download XLSX").click()
    data = open(xlsx_download.value.path(), "rb").read()  # noqa: SIM115
    same(xlsx_totals(data), on_page)

    page.get_by_role("button", name="Reopen…").click()
    page.get_by_label("Why is it reopened?").fill("The bank charged a late fee for October.")
    page.get_by_role("button", name="Reopen", exact=True).click()
    page.wait_for_selector('[data-status="open"]')
    period.refresh_from_db()
    assert period.status == "open"
    assert "late fee" in period.history.first().history_change_reason

    # An import from the browser: upload, progress, result.
    page.get_by_role("link", name="Imports").click()
    report = tmp_path / "arca-report.csv"
    report.write_text(
        "order_number,provider_reference,amount,currency,status,paid_at,refunded_amount,fee\n"
        "X-1,R-1,1000.00,AMD,paid,2026-11-03T10:00:00+04:00,0,15.00\n"
    )
    page.get_by_label("Provider (for a report)").select_option("arca")
    page.get_by_label("File", exact=True).set_input_files(str(report))
    page.get_by_role("button", name="Import").click()
    # The request only queues the import: the card shows the job waiting, then polls (htmx)
    # until the worker (inline here: eager_celery) has imported it.
    page.wait_for_selector('#import-job[data-status="queued"] progress')
    page.wait_for_selector('[data-result="report"]')
    assert "1 row of arca-report.csv imported" in page.inner_text("#import-result")
    shot("07-imports")

    # This month holds the payouts demo's refund drift: decided on the payout, so the desk links
    # to that decision instead of offering a bare resolve.
    page.goto(f"{live_server.url}/desk/{cafe.slug}/periods/{current.pk}/")
    drift = page.locator("[data-blocker]", has_text="Refund after a payout request")
    assert drift.get_by_role("link", name="Decide the refund drift").count() == 1
    assert drift.get_by_role("button", name="Resolve").count() == 0
    # ... and it has not ended yet: the page and the close dialog say so, the close is refused.
    assert page.locator("#not-ended").is_visible()
    shot("09-period-current")
    page.get_by_role("button", name="Close period…").click()
    assert page.locator("#close-dialog").get_by_text("This period has not ended yet").is_visible()
    page.get_by_role("button", name="Yes, close the period").click()
    page.wait_for_load_state()
    refusal = page.locator("ul.messages .error").inner_text()
    assert refusal.startswith("The period was not closed: it has not ended yet.")
    assert AccountingPeriod.objects.get(pk=current.pk).status == "open"

    # The person's language: Armenian, amounts in its format.
    page.goto(f"{live_server.url}/desk/{cafe.slug}/periods/{period.pk}/")
    page.select_option("#lang-switch", "hy")
    page.wait_for_selector("html[lang=hy]")
    shot("08-period-hy", full_page=False)


def test_operator_sees_but_cannot_close(page, live_server, organization, month):
    staff("oper", organization, "operator")
    period = month["period"]
    log_in(page, live_server, "oper")
    page.goto(f"{live_server.url}{reverse('desk:period', args=[organization.slug, period.pk])}")
    assert page.get_by_text("Only accountants close periods.").is_visible()
    assert page.get_by_role("button", name="Close period…").count() == 0
    assert page.locator("[data-blocker]").count() == 1
    # A crafted POST is refused too (CSRF token given: only the permission says no).
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}{reverse('desk:period-close', args=[organization.slug, period.pk])}",
        headers={"X-CSRFToken": token, "Referer": page.url},
    )
    assert response.status == 403
    assert AccountingPeriod.objects.get(pk=period.pk).status == "open"


def test_another_organisations_period_is_404(page, live_server, organization, month):
    staff("anahit", organization, "accountant")
    other = Organization.objects.create(slug="gyumri-bakery", name="Gyumri Bakery")
    theirs = accounting_period_month(
        organization=other, day=month["today"], actor=system_actor("tests")
    )
    log_in(page, live_server, "anahit")
    response = page.goto(f"{live_server.url}{reverse('desk:period', args=[other.slug, theirs.pk])}")
    assert response.status == 404
    response = page.goto(
        f"{live_server.url}{reverse('desk:period', args=[organization.slug, theirs.pk])}"
    )
    assert response.status == 404


def test_an_empty_file_is_refused_in_place(page, live_server, organization, tmp_path):
    """htmx swaps no 4xx answer: the refusal of an empty file was never shown (with DEBUG,
    django-htmx's script put the bare fragment in place of the whole page)."""
    staff("anahit", organization, "accountant")
    log_in(page, live_server, "anahit")
    page.goto(f"{live_server.url}{reverse('desk:imports', args=[organization.slug])}")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    page.get_by_label("Provider (for a report)").select_option("ameria")
    page.get_by_label("File", exact=True).set_input_files(str(empty))
    page.get_by_role("button", name="Import").click()
    alert = page.locator("#import-result [role=alert]")
    alert.wait_for()
    assert "The submitted file is empty." in alert.inner_text()
    form = page.locator("#import-form")
    assert form.locator(".errorlist").inner_text() == "The submitted file is empty."
    assert form.get_by_label("Provider (for a report)").input_value() == "ameria"
    assert page.get_by_role("link", name="Periods").is_visible()  # still the whole page
