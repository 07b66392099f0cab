from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from exceptionqueue.models import ExceptionCase
from payouts.models import Payout, Recipient
from payouts.tests.factories import paid, refund, today

PAYOUT_FIELDS = {
    "id",
    "status",
    "recipient",
    "branch",
    "currency",
    "period_start",
    "period_end",
    "gross",
    "fee",
    "net",
    "payment_count",
}


def create_recipient(api, branch, extra=None):
    body = {"scope": "employee", "name": "Anna", "branch": branch.code, "external_ref": "W-1"}
    return api.post("/api/v1/recipients/", {**body, **(extra or {})}, format="json")


def test_recipient_and_qr_code_shapes(api, branch):
    response = create_recipient(api, branch)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scope"] == "employee"
    assert body["branch"] == branch.code
    assert body["external_ref"] == "W-1"
    qr = api.post("/api/v1/qr-codes/", {"recipient": body["id"]}, format="json")
    assert qr.status_code == 201
    assert set(qr.json()) >= {"id", "code", "payload"}
    assert qr.json()["payload"].endswith(f"/q/{qr.json()['code']}")
    # The payload opens the public page of the recipient.
    from django.test import Client

    page = Client().get(f"/q/{qr.json()['code']}")
    assert page.status_code == 200
    assert b"Anna" in page.content


@pytest.mark.parametrize(
    ("extra", "code", "status"),
    [
        ({"branch": "nowhere"}, "invalid", 400),
        ({"scope": "boss"}, "invalid", 400),
        ({"colour": "red"}, "unknown_field", 400),
    ],
)
def test_recipient_bad_input(api, branch, extra, code, status):
    response = create_recipient(api, branch, extra)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Recipient.objects.exists()


def test_duplicate_external_ref(api, branch):
    assert create_recipient(api, branch).status_code == 201
    response = create_recipient(api, branch)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_recipient"


def test_foreign_recipient_does_not_exist(api, other_api, branch, recipient):
    qr = other_api.post("/api/v1/qr-codes/", {"recipient": recipient.pk}, format="json")
    assert qr.status_code == 400
    assert qr.json()["error"]["fields"] == {"recipient": ["No such recipient."]}
    day = today(recipient.organization).isoformat()
    body = {"recipient": recipient.pk, "currency": "AMD", "period_start": day, "period_end": day}
    response = other_api.post("/api/v1/payouts/", body, format="json")
    assert response.status_code == 400
    assert "recipient" in response.json()["error"]["fields"]
    assert other_api.get(f"/api/v1/recipients/{recipient.pk}/").status_code == 404


def test_sandbox_qr_payment_round_trip(api, qr):
    body = {"qr_code": qr.code, "amount": "2500.00", "currency": "AMD", "outcome": "approved"}
    response = api.post("/api/v1/sandbox/qr-payments/", body, format="json")
    assert response.status_code == 201, response.json()
    payment = response.json()
    assert payment["status"] == "verified"
    assert payment["provider"] == "sandbox"
    assert payment["provider_reference"]
    assert payment["recipient"] == qr.recipient_id
    listed = api.get(f"/api/v1/payments/?recipient={qr.recipient_id}")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["results"]] == [payment["id"]]
    assert api.get("/api/v1/payments/?recipient=999999").json()["results"] == []
    declined = api.post(
        "/api/v1/sandbox/qr-payments/", {**body, "outcome": "declined"}, format="json"
    )
    assert declined.json()["status"] == "declined"


@override_settings(PAYOPS_SANDBOX=False)
def test_sandbox_off_is_404(api, qr):
    body = {"qr_code": qr.code, "amount": "1.00", "currency": "AMD", "outcome": "approved"}
    response = api.post("/api/v1/sandbox/qr-payments/", body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "sandbox_disabled"


def payout_body(recipient, start, end=None, currency="AMD"):
    return {
        "recipient": recipient.pk,
        "currency": currency,
        "period_start": start.isoformat(),
        "period_end": (end or start).isoformat(),
    }


def test_payout_contract_shapes(api, recipient, qr, actor):
    day = today(recipient.organization)
    payment = paid(qr, "1500.00")
    response = api.post("/api/v1/payouts/", payout_body(recipient, day), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= PAYOUT_FIELDS
    assert {k: body[k] for k in PAYOUT_FIELDS - {"id"}} == {
        "status": "requested",
        "recipient": recipient.pk,
        "branch": recipient.branch.code,
        "currency": "AMD",
        "period_start": day.isoformat(),
        "period_end": day.isoformat(),
        "gross": "1500.00",
        "fee": "0.00",
        "net": "1500.00",
        "payment_count": 1,
    }
    url = f"/api/v1/payouts/{body['id']}/"
    detail = api.get(url).json()
    assert [p["id"] for p in detail["payments"]] == [payment.pk]
    assert detail["payments"][0]["included_amount"] == "1500.00"
    assert [e["kind"] for e in detail["events"]] == ["requested"]
    assert detail["events"][0]["actor"].startswith("api:")
    assert detail["events"][0]["request_id"]

    moved = api.post(f"{url}transitions/", {"to": "processing", "comment": "batch"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["status"] == "processing"
    missing = api.post(
        f"{url}transitions/", {"to": "completed", "method": "bank_transfer"}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "reference_required"
    listed = api.get("/api/v1/exceptions/?kind=completed_without_reference").json()
    assert len(listed["results"]) == 1
    done = api.post(
        f"{url}transitions/",
        {"to": "completed", "method": "bank_transfer", "reference": "TRX-9"},
        format="json",
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["reference"]) == ("completed", "TRX-9")
    again = api.post(f"{url}transitions/", {"to": "cancelled"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "transition_not_allowed"
    trail = api.get(url).json()["events"]
    assert [(e["kind"], e["method"], e["reference"]) for e in trail] == [
        ("requested", "", ""),
        ("processing", "", ""),
        ("completed", "bank_transfer", "TRX-9"),
    ]


def test_payout_errors(api, recipient, qr):
    day = today(recipient.organization)
    paid(qr, "100.00")
    url = "/api/v1/payouts/"
    inverted = api.post(url, payout_body(recipient, day, day - dt.timedelta(days=1)), format="json")
    assert (inverted.status_code, inverted.json()["error"]["code"]) == (400, "invalid_period")
    unknown = api.post(url, {**payout_body(recipient, day), "currency": "XYZ"}, format="json")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "invalid")
    extra = api.post(url, {**payout_body(recipient, day), "net": "5"}, format="json")
    assert extra.json()["error"]["code"] == "unknown_field"
    none = api.post(url, payout_body(recipient, day, currency="USD"), format="json")
    assert (none.status_code, none.json()["error"]["code"]) == (422, "no_verified_payments")
    assert api.post(url, payout_body(recipient, day), format="json").status_code == 201
    dup = api.post(url, payout_body(recipient, day - dt.timedelta(days=3), day), format="json")
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "duplicate_active_payout")
    assert Payout.objects.count() == 1
    kinds = {c["kind"] for c in api.get("/api/v1/exceptions/").json()["results"]}
    assert kinds >= {"no_verified_payments", "duplicate_active_payout"}


def test_refused_request_with_idempotency_key_keeps_its_case(api, recipient, qr):
    day = today(recipient.organization)
    response = api.post(
        "/api/v1/payouts/", payout_body(recipient, day), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 422
    assert ExceptionCase.objects.filter(kind="no_verified_payments").count() == 1
    replay = api.post(
        "/api/v1/payouts/", payout_body(recipient, day), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert replay.status_code == 422
    assert replay.headers.get("Idempotent-Replayed") == "true"


def test_refund_after_request_shows_as_exception_and_amounts_stay_exact(api, recipient, qr):
    day = today(recipient.organization)
    p1 = paid(qr, "1000.00")
    paid(qr, "333.33")
    payout = api.post("/api/v1/payouts/", payout_body(recipient, day), format="json").json()
    refund(p1, "0.01")
    detail = api.get(f"/api/v1/payouts/{payout['id']}/").json()
    assert (detail["gross"], detail["net"]) == ("1333.32", "1333.32")
    assert detail["payments"][0]["included_amount"] == "999.99"
    cases = api.get("/api/v1/exceptions/?kind=refund_drift").json()["results"]
    assert len(cases) == 1


def test_payouts_are_scoped_to_the_organisation(api, other_api, recipient, qr):
    day = today(recipient.organization)
    paid(qr, "10.00")
    payout = api.post("/api/v1/payouts/", payout_body(recipient, day), format="json").json()
    assert other_api.get(f"/api/v1/payouts/{payout['id']}/").status_code == 404
    moved = other_api.post(
        f"/api/v1/payouts/{payout['id']}/transitions/", {"to": "cancelled"}, format="json"
    )
    assert moved.status_code == 404
    assert other_api.get("/api/v1/payouts/").json()["results"] == []
    assert len(api.get("/api/v1/payouts/").json()["results"]) == 1


def test_transition_bad_target(api, recipient, qr):
    paid(qr, "10.00")
    day = today(recipient.organization)
    payout = api.post("/api/v1/payouts/", payout_body(recipient, day), format="json").json()
    response = api.post(
        f"/api/v1/payouts/{payout['id']}/transitions/", {"to": "requested"}, format="json"
    )
    assert response.status_code == 400
    assert Payout.objects.get().status == "requested"


def test_periods_api(api, recipient, qr):
    created = api.post(
        "/api/v1/payout-periods/",
        {"kind": "week", "start_date": "2025-01-06", "end_date": "2025-01-12"},
        format="json",
    )
    assert created.status_code == 201
    overlap = api.post(
        "/api/v1/payout-periods/",
        {"kind": "shift", "start_date": "2025-01-12", "end_date": "2025-01-12"},
        format="json",
    )
    assert (overlap.status_code, overlap.json()["error"]["code"]) == (409, "period_overlap")
    url = f"/api/v1/payout-periods/{created.json()['id']}/transitions/"
    assert api.post(url, {"to": "closing"}, format="json").json()["status"] == "closing"
    assert api.post(url, {"to": "closed"}, format="json").json()["status"] == "closed"
    body = payout_body(recipient, dt.date(2025, 1, 8))
    refused = api.post("/api/v1/payouts/", body, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "period_closed")


def test_openapi_schema_lists_the_payout_endpoints(api):
    from django.test import Client

    schema = Client().get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/payouts/",
        "/api/v1/payouts/{id}/transitions/",
        "/api/v1/recipients/",
        "/api/v1/qr-codes/",
        "/api/v1/sandbox/qr-payments/",
    ):
        assert path in schema["paths"]


def test_qr_checkout_registers_the_order_at_the_gateway(api, qr):
    response = api.post(
        f"/api/v1/qr-codes/{qr.pk}/payments/",
        {"amount": "1500.00", "currency": "AMD", "provider": "sandbox"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["provider"], body["recipient"]) == (
        "pending",
        "sandbox",
        qr.recipient_id,
    )
    assert body["payment_url"]
    assert body["provider_reference"]


def test_qr_checkout_without_a_configured_gateway_is_409(api, qr):
    response = api.post(
        f"/api/v1/qr-codes/{qr.pk}/payments/", {"amount": "1.00", "currency": "AMD"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "provider_not_configured"


def test_payments_filter_by_a_malformed_recipient_is_400(api):
    response = api.get("/api/v1/payments/?recipient=abc")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "recipient" in response.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_sandbox_payment_with_an_idempotency_key_commits_before_the_gateway(api, qr):
    body = {"qr_code": qr.code, "amount": "900.00", "currency": "AMD", "outcome": "approved"}
    first = api.post("/api/v1/sandbox/qr-payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "verified"
    again = api.post("/api/v1/sandbox/qr-payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_a_crash_finds_the_first_sandbox_payment(api, qr, monkeypatch):
    """The key is freed by the 500, but the payment had committed: the retry must not start a
    second payment (and order) at the gateway."""
    from rest_framework.test import APIClient

    from payments import services as payment_services
    from payouts.models import QrPayment

    real = payment_services.sandbox_pay
    calls = []

    def crash_once(**kwargs):
        calls.append(kwargs["payment"].pk)
        if len(calls) == 1:
            raise RuntimeError("worker died after the payment committed")
        return real(**kwargs)

    monkeypatch.setattr(payment_services, "sandbox_pay", crash_once)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api.token}")
    body = {"qr_code": qr.code, "amount": "700.00", "currency": "AMD", "outcome": "approved"}
    url = "/api/v1/sandbox/qr-payments/"
    assert client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="c1").status_code == 500
    retry = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="c1")
    assert retry.status_code == 201
    assert retry.json()["status"] == "verified"
    assert calls == [retry.json()["id"], retry.json()["id"]]  # the same payment, twice
    assert QrPayment.objects.count() == 1


def test_a_key_reused_after_the_purge_never_answers_another_recipients_payment(
    api, organization, branch, qr, actor
):
    """Issue 9 #3: once the 24 h Idempotency-Key rows are purged, the payment's own key is the
    only guard: a key reused on another QR code (or with a corrected amount) is 422, never the
    first recipient's payment."""
    from core.models import IdempotencyKey
    from payouts import services

    other = services.recipient_create(
        organization=organization, scope="team", name="Bar", branch=branch, actor=actor
    )
    other_qr = services.qr_code_create(recipient=other, actor=actor)
    url = "/api/v1/sandbox/qr-payments/"
    body = {"qr_code": qr.code, "amount": "2500.00", "currency": "AMD", "outcome": "approved"}
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    IdempotencyKey.objects.all().delete()  # the 24 h purge
    for changed in ({"qr_code": other_qr.code}, {"amount": "2400.00"}):
        reused = api.post(url, {**body, **changed}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert reused.status_code == 422, reused.json()
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
    IdempotencyKey.objects.all().delete()
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert not other.payments.exists()


def test_a_completed_payout_is_reversed_over_the_api(api, recipient, qr):
    """Issue 9: reversal had no API. ``to: reversed`` needs a comment (400 ``reason_required``)
    and calls ``payout_reverse``; only a completed payout is reversed."""
    paid(qr, "800.00")
    day = today(recipient.organization)
    payout = api.post("/api/v1/payouts/", payout_body(recipient, day), format="json").json()
    url = f"/api/v1/payouts/{payout['id']}/transitions/"
    early = api.post(url, {"to": "reversed", "reference": "R", "comment": "c"}, format="json")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "transition_not_allowed")
    assert api.post(url, {"to": "processing"}, format="json").status_code == 200
    done = {"to": "completed", "method": "bank_transfer", "reference": "TRX-1"}
    assert api.post(url, done, format="json").status_code == 200
    bare = api.post(url, {"to": "reversed", "reference": "BOUNCE-1"}, format="json")
    assert (bare.status_code, bare.json()["error"]["code"]) == (400, "reason_required")
    assert "comment" in bare.json()["error"]["fields"]
    assert Payout.objects.get().status == "completed"
    body = {"to": "reversed", "reference": "BOUNCE-1", "comment": "the bank returned it"}
    response = api.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "reversed"
    reversed_payout = Payout.objects.get()
    assert reversed_payout.reversal.reference == "BOUNCE-1"
    assert reversed_payout.events.order_by("pk").last().kind == "reversed"
    assert not reversed_payout.lines.filter(active=True).exists()
    assert not ExceptionCase.objects.filter(kind="completed_without_reference").exists()


def test_the_schema_documents_the_payout_error_codes_from_the_catalogue(api):
    from django.test import Client

    schema = Client().get("/api/schema/?format=json").json()
    transitions = schema["paths"]["/api/v1/payouts/{id}/transitions/"]["post"]["responses"]
    assert "`reason_required`" in transitions["400"]["description"]
    assert "`refund_drift_unresolved`" in transitions["409"]["description"]
    sandbox = schema["paths"]["/api/v1/sandbox/qr-payments/"]["post"]["responses"]
    assert "`idempotency_key_reused`" in sandbox["422"]["description"]
    targets = schema["components"]["schemas"]["PayoutTransitionTargetEnum"]["enum"]
    assert "reversed" in targets
