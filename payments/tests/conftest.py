from __future__ import annotations

import pytest

from payments import hooks, sandbox
from payments.models import SandboxOrder
from payments.providers.bpc import callback_checksum
from payments.providers.registry import sandbox_adapter
from payments.services import payment_register_order
from payments.tests.factories import make_payment


@pytest.fixture
def payment(organization, branch):
    return make_payment(organization=organization, branch=branch, amount="1500.00")


def registered(payment, system_user, *, silent: bool = True):
    """Register ``payment`` at the sandbox; ``silent``: the sandbox will send no callback."""
    payment = payment_register_order(payment=payment, actor=system_user, adapter=sandbox_adapter())
    order = SandboxOrder.objects.get(order_id=payment.provider_reference)
    if silent:
        order.callback_url = ""
        order.save(update_fields=["callback_url"])
    return payment, order


def decide(order, approved: bool = True):
    sandbox.decide(order, approved=approved)
    order.refresh_from_db()
    return order


def callback_params(order, *, operation="deposited", status="1", key=None, **extra) -> dict:
    params = {
        "mdOrder": str(order.order_id),
        "orderNumber": order.order_number,
        "operation": operation,
        "status": status,
        "amount": str(order.amount_minor),
        "currency": order.currency_numeric,
    }
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    params["checksum"] = callback_checksum(params, key or sandbox.sandbox_callback_key())
    return params


@pytest.fixture
def changes():
    seen: list[hooks.PaymentChange] = []
    hooks.subscribe(seen.append)
    yield seen
    hooks.unsubscribe(seen.append)
