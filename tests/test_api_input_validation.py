"""Every value of a request is checked before it reaches SQL or a gateway (issue 9, #1 and #9).

Money inputs are bounded by ``core.money.max_amount``; query parameters and JSON bodies holding a
NUL byte, and dates or date-times far out of range, are 400 ``invalid`` naming the field, never a
500, on every app's endpoints. On PostgreSQL, where those values used to raise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.actors import system_actor
from core.money import max_amount
from payments.models import Payment, Refund
from payments.tests.factories import make_payment
from payouts import services as payout_services
from payouts.models import Recipient

pytestmark = pytest.mark.postgres

HUGE = "999999999999999999.99"


@pytest.fixture
def qr(organization, branch):
    actor = system_actor("tests")
    recipient = payout_services.recipient_create(
        organization=organization,
        scope="employee",
        name="Anna Waiter",
        branch=branch,
        external_ref="W-1",
        actor=actor,
    )
    return payout_services.qr_code_create(recipient=recipient, actor=actor)


def invalid_fields(response) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid", error
    return error["fields"]


# --- #1: money bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [HUGE, "10000000000.00", "-" + HUGE, "1e999999999", "1E+30"])
def test_sandbox_qr_payment_beyond_the_bound_is_400_and_stores_nothing(api, qr, amount):
    body = {"qr_code": qr.code, "amount": amount, "currency": "AMD", "outcome": "approved"}
    response = api.post("/api/v1/sandbox/qr-payments/", body, format="json")
    assert "amount" in invalid_fields(response)
    assert not Payment.objects.exists()
    assert api.get("/api/v1/payments/").status_code == 200


def test_sandbox_qr_payment_at_the_bound_is_accepted(api, qr):
    limit = str(max_amount("AMD"))
    body = {"qr_code": qr.code, "amount": limit, "currency": "AMD", "outcome": "approved"}
    response = api.post("/api/v1/sandbox/qr-payments/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == limit
    assert api.get("/api/v1/payments/").json()["results"][0]["amount"] == limit


def test_qr_checkout_beyond_the_bound_is_400(api, qr):
    response = api.post(
        f"/api/v1/qr-codes/{qr.pk}/payments/", {"amount": HUGE, "currency": "USD"}, format="json"
    )
    assert "amount" in invalid_fields(response)
    assert not Payment.objects.exists()


def test_refund_beyond_the_bound_is_400(api, organization, branch):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    response = api.post(
        f"/api/v1/payments/{payment.pk}/refunds/", {"amount": HUGE, "reason": "x"}, format="json"
    )
    assert "amount" in invalid_fields(response)
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("0.00")


def test_the_bound_is_said_in_the_answer(api, qr):
    body = {"qr_code": qr.code, "amount": HUGE, "currency": "AMD", "outcome": "approved"}
    fields = invalid_fields(api.post("/api/v1/sandbox/qr-payments/", body, format="json"))
    assert fields["amount"] == [f"Amounts are at most {max_amount('AMD')}."]


def test_amount_field_checks_the_bound_of_the_currency_in_the_body():
    from core.api.serializers import AmountField, CurrencyField, StrictSerializer

    class Body(StrictSerializer):
        amount = AmountField(max_value=Decimal("1e15"), max_digits=20)  # looser than any bound
        currency = CurrencyField()

    body = Body(data={"amount": "10000000000.00", "currency": "USD"})
    assert not body.is_valid()
    assert body.errors == {"amount": [f"USD amounts are at most {max_amount('USD')}."]}
    assert Body(data={"amount": str(max_amount("USD")), "currency": "USD"}).is_valid()


# --- #9: every filter and body value checked before SQL ------------------------------------------

FAR_DATES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:00:00+00:00",
    "1969-12-31T23:59:59+00:00",
    "1970-01-01T00:00:00+23:59",
    "0001-01-01",
]


@pytest.mark.parametrize("moment", FAR_DATES)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/exceptions/", "created_from"),
        ("/api/v1/exceptions/", "created_to"),
        ("/api/v1/payments/", "verified_from"),
        ("/api/v1/payments/", "verified_to"),
        ("/api/v1/webhook-events/", "created_from"),
        ("/api/v1/webhook-deliveries/", "created_to"),
    ],
)
def test_a_date_filter_far_out_of_range_is_400(api, path, name, moment):
    fields = invalid_fields(api.get(path, {name: moment}))
    assert list(fields) == [name]


def test_the_last_day_as_a_date_filter_is_400_not_an_overflow(api):
    fields = invalid_fields(api.get("/api/v1/payments/", {"verified_to": "9999-12-31"}))
    assert list(fields) == ["verified_to"]


@pytest.mark.parametrize("moment", ["2026-01-01T00:00:00+04:00", "2026-01-01T00:00:00+20:00"])
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/exceptions/", "created_from"),
        ("/api/v1/payments/", "verified_to"),
        ("/api/v1/webhook-events/", "created_to"),
    ],
)
def test_date_filters_within_range_filter_whatever_their_offset(api, path, name, moment):
    """An offset PostgreSQL cannot hold (beyond ±15:59) is read in UTC before the query."""
    response = api.get(path, {name: moment})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/payments/", "branch"),
        ("/api/v1/payments/", "status"),
        ("/api/v1/exceptions/", "branch"),
        ("/api/v1/payouts/", "status"),
        ("/api/v1/recipients/", "external_ref"),
        ("/api/v1/qr-codes/", "code"),
        ("/api/v1/branches/", "code"),
        ("/api/v1/webhook-events/", "subject_id"),
        ("/api/v1/payouts/", "not_a_filter"),
    ],
)
def test_a_nul_byte_in_a_query_parameter_is_400(api, path, name):
    fields = invalid_fields(api.get(path, {name: "north\x00ern"}))
    assert list(fields) == [name]


def test_a_nul_byte_in_a_json_body_is_400_and_stores_nothing(api, branch):
    body = {"scope": "employee", "name": "An\x00na", "branch": branch.code, "external_ref": "W-9"}
    fields = invalid_fields(api.post("/api/v1/recipients/", body, format="json"))
    assert list(fields) == ["name"]
    assert not Recipient.objects.exists()
    body = {"url": "https://example.com/hook", "event_types": ["payout.completed", "x\x00"]}
    fields = invalid_fields(api.post("/api/v1/webhook-endpoints/", body, format="json"))
    assert list(fields) == ["event_types.1"]


def test_a_body_date_time_far_out_of_range_is_400(api):
    body = {"start": "0001-01-01T00:00:00+14:00", "end": "2026-01-01T00:00:00Z"}
    response = api.post("/api/v1/webhook-deliveries/replay-failed/", body, format="json")
    fields = invalid_fields(response)
    assert list(fields) == ["start"]


@pytest.mark.parametrize(
    "path", ["/api/v1/webhook-events/a%00b/", "/api/v1/qr-codes/1%00/", "/api/v1/payments/%00/"]
)
def test_a_nul_byte_in_the_url_names_nothing(api, path):
    response = api.get(path)
    assert response.status_code == 404, response.content


def test_a_nul_byte_in_the_idempotency_key_is_400(api):
    response = api.post(
        "/api/v1/branches/",
        {"code": "opera", "name": "Opera"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k\x00",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


def test_the_schema_pattern_says_the_bound(client, db):
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    for name in ["SandboxQrPaymentRequest", "RefundCreateRequest", "QrCheckoutRequest"]:
        assert schema[name]["properties"]["amount"]["pattern"] == r"^-?\d{0,10}(?:\.\d{0,2})?$"


def test_a_stored_row_at_the_column_limit_breaks_no_list_or_page(api, organization, branch):
    payment = make_payment(organization=organization, branch=branch)
    column_max = Decimal("999999999999999999.99")
    Payment.objects.filter(pk=payment.pk).update(amount=column_max, refunded_amount=column_max)
    for url in ["/api/v1/payments/", f"/api/v1/payments/{payment.pk}/", "/api/v1/payouts/"]:
        assert api.get(url).status_code == 200, url
