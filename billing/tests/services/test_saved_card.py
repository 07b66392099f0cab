"""Saved card: the first period's link saves the card (a gateway binding), later periods are
charged with it by the due work alone."""

import pytest

from billing.models import Attempt, Customer
from core.duework import due_work_run
from payments import sandbox
from payments.models import SandboxOrder

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_link_saves_the_card_then_the_due_work_charges_it(
    organization, clock, subscribe, system_user
):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01", collection="saved_card")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    first = Attempt.objects.get()
    assert first.method == Attempt.Method.PAYMENT_LINK  # no card yet: a link that saves it
    sandbox.outcome_apply(payment=first.payment, outcome="approved", actor=system_user)
    customer = Customer.objects.get()
    assert customer.binding_id
    assert customer.binding_provider == "sandbox"
    assert "binding" in customer.history.first().history_change_reason

    ran = due_work_run(organization=organization, now=clock("2027-01-01", 10))
    assert ran["billing_attempts_created"] == 1
    second = Attempt.objects.get(number=1, period__number=2)
    assert second.method == Attempt.Method.SAVED_CARD
    assert second.status == Attempt.Status.PAID
    assert second.payment.status == "verified"
    assert SandboxOrder.objects.get(order_number=second.order_number).binding_id == (
        customer.binding_id
    )
    subscription.refresh_from_db()
    assert subscription.entitlement_until.isoformat() == "2027-01-31"
