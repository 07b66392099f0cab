"""Across apps: a real payment transition reaches an integrator's receiver, signed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from standardwebhooks import Webhook

from webhooks.models import WebhookEvent
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_sandbox_payment_and_refund_reach_the_receiver_once_each(
    organization, branch, system_user, receiver, eager_celery, django_capture_on_commit_callbacks
):
    from payments import services as payments
    from payments.tests.factories import make_payment

    endpoint = make_endpoint(organization, receiver.url, system_user, ["payment.*"])
    payment = make_payment(organization=organization, branch=branch, amount="2000.00")
    with django_capture_on_commit_callbacks(execute=True):
        payment = payments.sandbox_pay(payment=payment, outcome="approved", actor=system_user)
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_refund(
            payment=payment, amount=Decimal("500.00"), reason="customer", actor=system_user
        )

    verified = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.requests]
    assert [p["type"] for p in verified] == ["payment.verified", "payment.refunded"]
    assert verified[0]["data"]["id"] == payment.pk
    assert verified[0]["data"]["amount"] == "2000.00"
    assert verified[1]["data"]["refund"]["amount"] == "500.00"
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2
    assert WebhookEvent.objects.filter(organization=organization).count() == 2
