"""The BPC adapter end to end against the sandbox gateway over real HTTP (live_server).

Every hop is a real HTTP request to the live server: register.do, the checkout decision,
the sandbox's signed callback to /callbacks/sandbox/, and the getOrderStatusExtended.do lookup
the callback handler makes before verifying.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from payments import services
from payments.models import Payment, ProviderCallback, SandboxOrder
from payments.providers.base import OrderRequest, ProviderState
from payments.providers.registry import sandbox_adapter
from payments.tests.factories import make_payment


@pytest.fixture
def over_http(live_server, settings, transactional_db):
    settings.PAYOPS_BASE_URL = live_server.url
    settings.PAYOPS_SANDBOX_URL = f"{live_server.url}/sandbox/bpc/payment/rest/"
    settings.ALLOWED_HOSTS = ["*"]
    return live_server


def test_adapter_against_the_sandbox_over_http(over_http):
    bpc = sandbox_adapter(http=httpx.Client(timeout=20))
    created = bpc.create_order(
        OrderRequest(
            order_number="E2E-1",
            amount=Decimal("1234.50"),
            currency="AMD",
            description="e2e",
            return_url=f"{over_http.url}/done/",
        )
    )
    assert created.payment_url.startswith(over_http.url)
    order = SandboxOrder.objects.get(order_id=created.provider_reference)
    assert (order.amount_minor, order.currency_numeric) == (123450, "051")
    status = bpc.status(provider_reference=created.provider_reference, order_number="")
    assert status.state is ProviderState.PENDING
    # a second registration of the same order number finds the first order
    again = bpc.create_order(
        OrderRequest(
            order_number="E2E-1",
            amount=Decimal("1234.50"),
            currency="AMD",
            description="e2e",
            return_url=f"{over_http.url}/done/",
        )
    )
    assert again.provider_reference == created.provider_reference
    page = httpx.get(created.payment_url)
    assert page.status_code == 200
    assert "1234.50 AMD" in page.text
    decision = httpx.post(created.payment_url, data={"decision": "approved"})
    assert decision.status_code == 302
    assert decision.headers["location"].startswith(f"{over_http.url}/done/?orderId=")
    paid = bpc.status(provider_reference=created.provider_reference, order_number="")
    assert paid.state is ProviderState.PAID
    assert paid.amount == Decimal("1234.50")
    assert paid.masked_pan == "408397**0021"
    assert len(paid.approval_code) == 6
    refund = bpc.refund(
        provider_reference=created.provider_reference,
        amount=Decimal("234.50"),
        currency="AMD",
        refund_id="r1",
    )
    assert refund.succeeded
    after = bpc.status(provider_reference=created.provider_reference, order_number="")
    assert after.state is ProviderState.PARTIALLY_REFUNDED
    assert after.refunded_amount == Decimal("234.50")
    too_much = bpc.refund(
        provider_reference=created.provider_reference,
        amount=Decimal("1000.01"),
        currency="AMD",
        refund_id="r2",
    )
    assert not too_much.succeeded


def test_wrong_credentials_are_refused(over_http):
    response = httpx.post(
        f"{over_http.url}/sandbox/bpc/payment/rest/getOrderStatusExtended.do",
        data={"userName": "payops-sandbox", "password": "guess", "orderNumber": "x"},
    )
    assert response.json()["errorCode"] == "5"


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("approved", Payment.Status.VERIFIED), ("declined", Payment.Status.DECLINED)],
)
def test_sandbox_pay_whole_round_trip_over_http(
    over_http, organization, branch, system_user, outcome, status
):
    payment = make_payment(organization=organization, branch=branch, amount="990.00")
    payment = services.sandbox_pay(payment=payment, outcome=outcome, actor=system_user)
    assert payment.status == status
    callback = ProviderCallback.objects.get(payment=payment)
    # the callback came over HTTP, was verified by its checksum and confirmed by the lookup
    assert callback.status == "processed"
    assert callback.remote_addr == "127.0.0.1"
    if outcome == "approved":
        assert payment.verification_method == "callback_lookup"
        refund = services.payment_refund(
            payment=payment, amount=Decimal("990.00"), reason="e2e", actor=system_user
        )
        assert refund.status == "succeeded"
        payment.refresh_from_db()
        assert payment.status == Payment.Status.REFUNDED
