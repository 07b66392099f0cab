"""Provider callbacks: verification before writing, refusals, dedup, confirmation by lookup."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from exceptionqueue.models import ExceptionCase
from payments.models import Payment, PaymentEvent, ProviderCallback, SandboxOrder
from payments.tests.conftest import callback_params, decide, registered
from payments.tests.factories import make_payment
from webhooks.models import WebhookEvent

URL = "/callbacks/sandbox/"


def unchanged(payment) -> bool:
    before = (payment.status, payment.verified_at, payment.events.count())
    payment.refresh_from_db()
    return (payment.status, payment.verified_at, payment.events.count()) == before


def test_signed_callback_verifies_after_lookup(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    response = client.get(URL, callback_params(order))
    assert response.status_code == 200
    assert response.content == b"OK"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert payment.verification_method == "callback_lookup"
    assert payment.masked_pan == "408397**0021"
    assert payment.approval_code == order.approval_code
    stored = ProviderCallback.objects.get()
    assert stored.status == "processed"
    assert stored.payment == payment
    assert stored.event_id == f"{order.order_id}:deposited:1"


def test_callback_claiming_paid_is_not_trusted_without_the_lookup(client, payment, system_user):
    """A correctly signed 'deposited' for an order the customer never paid verifies nothing."""
    payment, order = registered(payment, system_user)
    response = client.get(URL, callback_params(order))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_bad_signature_is_refused_and_changes_nothing(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    params = callback_params(order, key="not-the-sandbox-key")
    response = client.get(URL, params)
    assert response.status_code == 403
    assert unchanged(payment)
    assert payment.status == Payment.Status.PENDING
    stored = ProviderCallback.objects.get()
    assert stored.status == "rejected"
    assert stored.payment is None
    assert stored.http_status == 403
    assert "checksum" in stored.handler_error


def test_unknown_order_is_refused(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    response = client.get(URL, callback_params(order, orderNumber="PO-NOT-OURS"))
    assert response.status_code == 404
    assert unchanged(payment)
    assert ProviderCallback.objects.get().status == "rejected"


@pytest.mark.parametrize(
    ("override", "code"),
    [({"amount": "1"}, "amount_mismatch"), ({"currency": "840"}, "currency_mismatch")],
)
def test_wrong_amount_or_currency_is_refused(client, payment, system_user, override, code):
    payment, order = registered(payment, system_user)
    decide(order)
    response = client.get(URL, callback_params(order, **override))
    assert response.status_code == 400
    assert unchanged(payment)
    assert payment.status == Payment.Status.PENDING
    stored = ProviderCallback.objects.get()
    assert stored.status == "rejected"
    assert stored.handler_error.startswith(code)
    assert ExceptionCase.objects.get().kind == "callback_rejected"


def test_lookup_disagreeing_with_the_callback_raises_an_exception(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    # The gateway's order says 15.00 while the payment (and the signed callback) say 1500.00.
    SandboxOrder.objects.filter(pk=order.pk).update(amount_minor=1500)
    order.amount_minor = 150000
    response = client.get(URL, callback_params(order))
    assert response.status_code == 409
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    case = ExceptionCase.objects.get(kind="amount_mismatch")
    assert case.details["lookup_amount"] == "15.00"
    assert case.details["payment_amount"] == "1500.00"
    assert ProviderCallback.objects.get().status == "failed"


def test_the_same_callback_twice_applies_once(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    params = callback_params(order)
    assert client.get(URL, params).status_code == 200
    assert client.post(URL, params).status_code == 200  # POST with the same fields
    payment.refresh_from_db()
    assert payment.events.filter(kind="verified").count() == 1
    statuses = sorted(ProviderCallback.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]


def test_out_of_order_decline_after_verification_changes_nothing(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    assert client.get(URL, callback_params(order)).status_code == 200
    # a stale "declined" callback arrives later: the lookup says paid, nothing moves back
    response = client.get(URL, callback_params(order, status="0"))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert payment.events.filter(kind="declined").count() == 0


def test_decline_callback_declines(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order, approved=False)
    assert client.get(URL, callback_params(order, status="0")).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.DECLINED


def test_callbacks_of_unknown_provider_and_disabled_sandbox(client, settings):
    assert client.get("/callbacks/paypal/").status_code == 404
    settings.PAYOPS_SANDBOX = False
    assert client.get(URL).status_code == 404


def test_arca_callback_without_account_is_refused(client, db):
    response = client.get("/callbacks/arca/", {"mdOrder": "x", "orderNumber": "y"})
    assert response.status_code == 404
    assert ProviderCallback.objects.get().status == "rejected"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_callback_ten_times_concurrently_verifies_once(organization, branch, system_user):
    payment = make_payment(organization=organization, branch=branch, amount="700.00")
    payment, order = registered(payment, system_user)
    decide(order)
    params = callback_params(order)
    barrier = threading.Barrier(10)
    codes: list[int] = []
    errors: list[BaseException] = []

    def send():
        try:
            barrier.wait()
            codes.append(Client().get(URL, params).status_code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert codes == [200] * 10
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert PaymentEvent.objects.filter(payment=payment, kind="verified").count() == 1
    assert WebhookEvent.objects.filter(event_type="payment.verified").count() == 1
    statuses = list(ProviderCallback.objects.values_list("status", flat=True))
    assert statuses.count("processed") == 1
    assert statuses.count("duplicate") == 9
    assert payment.amount == Decimal("700.00")
