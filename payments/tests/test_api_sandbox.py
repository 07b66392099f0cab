"""``POST /api/v1/sandbox/payments/{id}/outcome/``: the sandbox gateway decides a payment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from payments.models import Payment, SandboxOrder
from payments.providers.registry import sandbox_adapter
from payments.services import payment_expire, payment_register_order
from payments.tests.factories import make_payment

pytestmark = pytest.mark.django_db(transaction=True)


def url(payment) -> str:
    return f"/api/v1/sandbox/payments/{payment.pk}/outcome/"


@pytest.mark.parametrize(
    ("outcome", "status", "action_code"),
    [
        ("approved", "verified", "0"),
        ("declined", "declined", "100"),
        ("insufficient_funds", "declined", "116"),
        ("technical_error", "declined", "909"),
    ],
)
def test_each_outcome_goes_through_the_whole_round_trip(
    api, organization, branch, outcome, status, action_code
):
    payment = make_payment(organization=organization, branch=branch, amount="1500.00")
    response = api.post(url(payment), {"outcome": outcome}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == status
    payment.refresh_from_db()
    assert payment.action_code == action_code
    assert payment.verification_method in ("callback_lookup", "")
    order = SandboxOrder.objects.get(order_number=payment.order_number)
    assert order.callback_log  # the signed callback was sent


def test_an_order_payops_expired_can_still_be_paid_late(api, organization, branch, system_user):
    late = make_payment(organization=organization, branch=branch, amount="900.00")
    payment_register_order(payment=late, actor=system_user, adapter=sandbox_adapter())
    payment_expire(payment=late, actor=system_user)
    response = api.post(url(late), {"outcome": "approved"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "expired"  # payops' state never moves back
    assert SandboxOrder.objects.get(order_number=late.order_number).order_status == 2
    assert late.events.filter(kind="late_payment").count() == 1


def test_refusals(api, other_api, organization, branch, settings):
    payment = make_payment(organization=organization, branch=branch, amount="1500.00")
    bad = api.post(url(payment), {"outcome": "maybe"}, format="json")
    assert bad.status_code == 400
    unknown = api.post(url(payment), {"outcome": "approved", "pan": "4111"}, format="json")
    assert unknown.json()["error"]["code"] == "unknown_field"
    assert other_api.post(url(payment), {"outcome": "approved"}, format="json").status_code == 404
    arca = make_payment(organization=organization, branch=branch, amount="1.00", provider="arca")
    refused = api.post(url(arca), {"outcome": "approved"}, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "not_a_sandbox_payment"
    settings.PAYOPS_SANDBOX = False
    assert api.post(url(payment), {"outcome": "approved"}, format="json").status_code == 404
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_under_a_test_clock_the_payment_is_verified_at_the_clock_s_time(api, organization, branch):
    """The sandbox gateway's paid-at is real time; under a test clock the clock's time counts."""
    later = timezone.now() + dt.timedelta(days=40)
    assert api.post("/api/v1/sandbox/clock/", {"now": later.isoformat()}, "json").status_code == 200
    payment = make_payment(organization=organization, branch=branch, amount="1500.00")
    response = api.post(url(payment), {"outcome": "approved"}, format="json")
    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert payment.status == "verified"
    assert payment.verified_at == later
    assert (
        response.json()["verified_at"]
        == api.get(f"/api/v1/payments/{payment.pk}/").json()["verified_at"]
    )
