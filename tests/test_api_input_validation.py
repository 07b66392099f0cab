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
        amount = AmountField(max_value=Decimal("1e15"))  # looser than any currency's bound
        currency = CurrencyField()

    body = Body(data={"amount": "10000000000.00", "currency": "USD"})
    assert not body.is_valid()
    assert body.errors == {"amount": [f"USD amounts are at most {max_amount('USD')}."]}
    assert Body(data={"amount": str(max_amount("USD")), "currency": "USD"}).is_valid()
