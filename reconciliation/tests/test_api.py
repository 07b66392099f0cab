"""The CONTRACT's reconciliation endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import AccountingPeriod
from exceptionqueue.services import exception_raise
from reconciliation.tests.factories import local, paid, report_bytes, row_of

pytestmark = pytest.mark.postgres
DAY = dt.date(2026, 10, 5)


def _upload(api, data: bytes, provider="arca", **extra):
    return api.post(
        "/api/v1/provider-reports/",
        {"file": SimpleUploadedFile("report.csv", data, "text/csv"), "provider": provider, **extra},
        format="multipart",
    )


def test_report_upload_then_run_with_items_filter(api, organization, branch):
    payments = [
        paid(organization, branch, "1000.00", at=local(organization, DAY, h)) for h in (9, 10, 11)
    ]
    rows = [row_of(p) for p in payments[:2]]
    answer = _upload(api, report_bytes(rows))
    assert answer.status_code == 201, answer.json()
    report = answer.json()
    assert report["rows_total"] == 2
    assert report["progress"] == 100
    assert report["format"] == "payops_csv"
    assert api.get(f"/api/v1/provider-reports/{report['id']}/").json()["sha256"] == report["sha256"]
    kept = api.get(f"/api/v1/provider-reports/{report['id']}/file/")
    assert kept.status_code == 200
    assert kept["Content-Disposition"] == 'attachment; filename="report.csv"'
    assert b"".join(kept.streaming_content) == report_bytes(rows)
    again = _upload(api, report_bytes(rows))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "report_already_imported"

    run = api.post("/api/v1/reconciliation-runs/", {"date": DAY.isoformat()}, format="json")
    assert run.status_code == 201, run.json()
    body = run.json()
    assert body["dry_run"] is False
    assert body["counts"] == {
        "matched": 2,
        "missing_in_provider_report": 1,
        "missing_in_payops": 0,
        "amount_mismatch": 0,
        "status_mismatch": 0,
        "duplicate": 0,
    }
    items = api.get(
        f"/api/v1/reconciliation-runs/{body['id']}/items/",
        {"category": "missing_in_provider_report"},
    ).json()["results"]
    assert [i["payment"] for i in items] == [payments[2].pk]
    bad = api.get(f"/api/v1/reconciliation-runs/{body['id']}/items/", {"category": "nope"})
    assert bad.status_code == 400


def test_malformed_upload_names_the_line(api, organization, branch):
    rows = [row_of(paid(organization, branch, "1000.00", at=local(organization, DAY)))]
    rows[0]["amount"] = "ten"
    answer = _upload(api, report_bytes(rows))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "malformed_file"
    assert "line 2" in error["message"]
    assert api.get("/api/v1/provider-reports/").json()["results"] == []


def test_run_body_is_checked(api):
    for body in (
        {},
        {"date": "2026-10-05", "period_start": "2026-10-01"},
        {"date": "2026-10-05", "colour": "red"},
    ):
        answer = api.post("/api/v1/reconciliation-runs/", body, format="json")
        assert answer.status_code == 400, body
    answer = api.post(
        "/api/v1/reconciliation-runs/",
        {"period_start": "2026-10-05", "period_end": "2026-10-01"},
        format="json",
    )
    assert answer.status_code == 400


def test_dry_run(api):
    answer = api.post(
        "/api/v1/reconciliation-runs/", {"date": "2026-10-05", "dry_run": True}, format="json"
    )
    assert answer.status_code == 201
    assert answer.json()["dry_run"] is True


def test_accounting_period_close_reopen(api, organization, system_user):
    created = api.post(
        "/api/v1/accounting-periods/", {"start": "2026-10-01", "end": "2026-10-31"}, format="json"
    )
    assert created.status_code == 201
    period = created.json()
    assert period["status"] == "open"
    case = exception_raise(
        organization=organization,
        kind="missing_in_payops",
        dedup_key="api-test",
        message="Unknown row.",
        actor=system_user,
        period_start=dt.date(2026, 10, 3),
        period_end=dt.date(2026, 10, 3),
    )
    # An integrator's token may not close the books: the permission is asked as in the admin.
    denied = api.post(f"/api/v1/accounting-periods/{period['id']}/close/")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    assert AccountingPeriod.objects.get(pk=period["id"]).status == "open"
    api.api_client.user.user_permissions.add(
        Permission.objects.get(codename="close_accountingperiod")
    )
    refused = api.post(f"/api/v1/accounting-periods/{period['id']}/close/")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "period_blocked"
    assert f"#{case.pk}" in error["message"]
    assert error["fields"]["blocking_cases"]
    detail = api.get(f"/api/v1/accounting-periods/{period['id']}/").json()
    assert detail["blockers"][0]["id"] == case.pk
    assert "figures" in detail
    from exceptionqueue.services import exception_dismiss

    exception_dismiss(case=case, actor=system_user, note="test row")
    closed = api.post(f"/api/v1/accounting-periods/{period['id']}/close/")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    url = f"/api/v1/accounting-periods/{period['id']}/reopen/"
    assert api.post(url, {}, format="json").json()["error"]["code"] == "reason_required"
    denied = api.post(url, {"reason": "late invoice"}, format="json")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    api.api_client.user.user_permissions.add(
        Permission.objects.get(codename="reopen_accountingperiod")
    )
    reopened = api.post(url, {"reason": "late invoice"}, format="json")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    listed = api.get("/api/v1/accounting-periods/", {"status": "open"}).json()["results"]
    assert [p["id"] for p in listed] == [period["id"]]


def test_close_of_the_current_month_is_409_period_not_ended(api, organization, month_ended):
    """Any day of the month, its close is refused until the day after its last day (Yerevan);
    the detail lists it among the blockers; the schema documents the code."""
    from core.clock import clock_today
    from reconciliation.services import accounting_period_month

    period = accounting_period_month(
        organization=organization, day=clock_today(organization), actor=api.api_client.user
    )
    api.api_client.user.user_permissions.add(
        Permission.objects.get(codename="close_accountingperiod")
    )
    url = f"/api/v1/accounting-periods/{period.pk}/close/"
    refused = api.post(url)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "period_not_ended"
    assert (period.end + dt.timedelta(days=1)).isoformat() in error["message"]
    detail = api.get(f"/api/v1/accounting-periods/{period.pk}/").json()
    assert [b["kind"] for b in detail["blockers"]] == ["period_not_ended"]
    assert AccountingPeriod.objects.get(pk=period.pk).status == "open"
    schema = api.get("/api/schema/", {"format": "json"}).content.decode()
    assert "period_not_ended" in schema
    with month_ended(period):
        closed = api.post(url)
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"


def test_overlapping_period_is_409(api):
    api.post(
        "/api/v1/accounting-periods/", {"start": "2026-10-01", "end": "2026-10-31"}, format="json"
    )
    answer = api.post(
        "/api/v1/accounting-periods/", {"start": "2026-10-15", "end": "2026-11-15"}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "period_overlap"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "9999-12-01", "end": "9999-12-31"}, "start"),
        ({"start": "9998-12-01", "end": "9999-01-31"}, "end"),
        ({"start": "0001-01-01", "end": "0001-01-31"}, "start"),
    ],
)
def test_a_period_beyond_the_accepted_dates_is_400(api, body, field):
    answer = api.post("/api/v1/accounting-periods/", body, format="json")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert api.get("/api/v1/accounting-periods/").json()["results"] == []


def test_bank_statements_list_and_detail(api, organization, branch, system_user):
    from pathlib import Path

    from reconciliation.services import bank_statement_import
    from reconciliation.tests.factories import completed_payout

    payout = completed_payout(organization, branch, "45000.00", reference="PAYOUT-2026-11-0001")
    data = (Path(__file__).parent / "fixtures" / "camt053_example.xml").read_bytes()
    statement = bank_statement_import(organization=organization, data=data, actor=system_user)
    listed = api.get("/api/v1/bank-statements/").json()["results"]
    assert [s["id"] for s in listed] == [statement.pk]
    detail = api.get(f"/api/v1/bank-statements/{statement.pk}/").json()
    assert detail["lines"][0]["payout"] == payout.pk
    assert detail["lines"][0]["amount"] == "-45000.00"


def test_other_organisation_sees_nothing(api, other_api):
    created = api.post(
        "/api/v1/accounting-periods/", {"start": "2026-10-01", "end": "2026-10-31"}, format="json"
    ).json()
    assert other_api.get(f"/api/v1/accounting-periods/{created['id']}/").status_code == 404
    assert other_api.post(f"/api/v1/accounting-periods/{created['id']}/close/").status_code == 404


def test_other_organisation_cannot_download_a_report_file(api, other_api, organization, branch):
    rows = [row_of(paid(organization, branch, "500.00", at=local(organization, DAY, 9)))]
    report = _upload(api, report_bytes(rows)).json()
    assert other_api.get(f"/api/v1/provider-reports/{report['id']}/file/").status_code == 404
    assert api.get(f"/api/v1/provider-reports/{report['id']}/file/").status_code == 200


def test_run_items_pages_walk_the_run_newest_first(api, organization, branch):
    """A run's lines through the cursor pages (read in (run_id, id) order): every line of the
    run once, newest first, none of a later run's, with and without a category."""
    from reconciliation.models import ReconciliationItem

    payments = [
        paid(organization, branch, "1000.00", at=local(organization, DAY, h)) for h in range(8, 13)
    ]
    assert _upload(api, report_bytes([row_of(p) for p in payments[:4]])).status_code == 201
    runs = [
        api.post("/api/v1/reconciliation-runs/", {"date": DAY.isoformat()}, format="json").json()
        for _ in range(2)
    ]
    first = runs[0]["id"]

    def walk(**params):
        ids, url = [], f"/api/v1/reconciliation-runs/{first}/items/"
        params = {"page_size": 2, **params}
        while url:
            page = api.get(url, params).json()
            ids += [item["id"] for item in page["results"]]
            url, params = page["next"], {}
        return ids

    lines = ReconciliationItem.objects.filter(run_id=first)
    assert walk() == sorted(lines.values_list("id", flat=True), reverse=True)
    assert len(walk()) == 5
    matched = lines.filter(category="matched").values_list("id", flat=True)
    assert walk(category="matched") == sorted(matched, reverse=True)
    assert len(walk(category="matched")) == 4
    missing = lines.filter(category="missing_in_provider_report").values_list("id", flat=True)
    assert walk(category="missing_in_provider_report,duplicate") == list(missing)
