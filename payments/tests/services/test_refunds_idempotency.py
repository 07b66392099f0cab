"""C2 and I5: refunds survive a crash after the gateway call, a retried request does not refund
again, and a refund stuck pending is settled by a gateway lookup (or listed for operators)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payments import hooks, selectors, services, tasks
from payments.janitor import REFUND_STUCK_AFTER
from payments.models import Payment, PaymentEvent, Refund
from payments.providers.base import ProviderError, RefundResult
from payments.providers.registry import sandbox_adapter
from payments.tests.conftest import decide, registered
from payments.tests.factories import make_payment


class Gateway:
    """Records every refund call and whether a transaction was open around it."""

    def __init__(self, succeeded: bool = True) -> None:
        self.calls: list[bool] = []
        self.succeeded = succeeded

    def refund(self, **kwargs):
        self.calls.append(connection.in_atomic_block)
        return RefundResult(provider_reference="R1", succeeded=self.succeeded, code="0")


@pytest.fixture
def gateway(monkeypatch):
    gateway = Gateway()
    monkeypatch.setattr(
        services.gateways, "adapter_for_payment", lambda payment, http=None: gateway
    )
    return gateway


@pytest.fixture
def crash_after_gateway():
    def crash(change):  # anything failing after the gateway moved money
        if change.kind == "refunded":
            raise RuntimeError("boom after the gateway refunded")

    hooks.subscribe(crash)
    yield crash
    hooks.unsubscribe(crash)


def post_refund(api, payment, key="refund-1", amount="400.00"):
    api.raise_request_exception = False
    return api.post(
        f"/api/v1/payments/{payment.pk}/refunds/",
        {"amount": amount, "reason": "customer"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.django_db(transaction=True)
def test_crash_after_the_gateway_keeps_the_refund_and_a_retry_does_not_refund_again(
    api, organization, branch, gateway, crash_after_gateway
):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    first = post_refund(api, payment)
    assert first.status_code == 500
    assert gateway.calls == [False]  # no transaction (and no row lock) around the gateway call
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING  # survives for the resolver and operators
    assert refund.provider_reference == "R1"
    assert "Recording failed" in refund.failure_message

    retry = post_refund(api, payment)  # the client retries after the 500, same key
    assert retry.status_code == 201
    assert retry.json()["id"] == refund.pk
    assert retry.json()["status"] == "pending"
    assert gateway.calls == [False]  # the gateway was not asked a second time
    assert Refund.objects.count() == 1
    payment.refresh_from_db()
    assert selectors.payment_refundable_amount(payment=payment) == Decimal("600.00")


@pytest.mark.django_db(transaction=True)
def test_retry_after_success_replays_and_another_key_refunds_again(
    api, organization, branch, gateway
):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    assert post_refund(api, payment, key="a").status_code == 201
    assert post_refund(api, payment, key="a").status_code == 201
    assert post_refund(api, payment, key="b").status_code == 201
    assert gateway.calls == [False, False]
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("800.00")
    assert Refund.objects.filter(idempotency_key__endswith=":a").count() == 1


def test_the_same_key_for_another_amount_is_refused(organization, branch, system_user, gateway):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    first = services.payment_refund(
        payment=payment,
        amount=Decimal("100.00"),
        reason="x",
        actor=system_user,
        idempotency_key="k",
    )
    again = services.payment_refund(
        payment=payment,
        amount=Decimal("100.00"),
        reason="x",
        actor=system_user,
        idempotency_key="k",
    )
    assert again.pk == first.pk
    with pytest.raises(DomainError) as caught:
        services.payment_refund(
            payment=payment,
            amount=Decimal("200.00"),
            reason="x",
            actor=system_user,
            idempotency_key="k",
        )
    assert caught.value.code == "idempotency_key_reused"
    assert len(gateway.calls) == 1


def test_refund_inside_an_open_transaction_is_refused(organization, branch, system_user, gateway):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    with pytest.raises(DomainError) as caught, transaction.atomic():
        services.payment_refund(
            payment=payment, amount=Decimal("100.00"), reason="x", actor=system_user
        )
    assert caught.value.code == "refund_in_transaction"
    assert gateway.calls == []
    assert not Refund.objects.exists()


def test_refund_exceeds_message_has_two_decimals(organization, branch, system_user, gateway):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    services.payment_refund(payment=payment, amount=Decimal("500"), reason="x", actor=system_user)
    with pytest.raises(DomainError) as caught:
        services.payment_refund(
            payment=payment, amount=Decimal("600"), reason="x", actor=system_user
        )
    assert caught.value.code == "refund_exceeds_payment"
    assert "total 1100.00 AMD" in caught.value.message
    assert "pending: 500.00" in caught.value.message
    assert caught.value.fields == {"amount": ["At most 500.00 can still be refunded."]}


# -- resolving refunds whose outcome is unknown -------------------------------------------------


class TimesOut:
    """The sandbox gateway, but our side of the refund call times out (after or before it ran)."""

    def __init__(self, *, reached: bool) -> None:
        self.real = sandbox_adapter()
        self.reached = reached
        self.capabilities = self.real.capabilities

    def refund(self, **kwargs):
        if self.reached:
            self.real.refund(**kwargs)
        raise ProviderError("read timeout", code="transport_indeterminate")


@pytest.fixture
def paid(organization, branch, system_user):
    payment = make_payment(organization=organization, branch=branch, amount="1000.00")
    payment, order = registered(payment, system_user)
    decide(order)
    payment = services.payment_check_status(payment=payment, actor=system_user)
    assert payment.status == Payment.Status.VERIFIED
    return payment


@pytest.mark.parametrize(("reached", "outcome"), [(True, "succeeded"), (False, "failed")])
def test_refund_resolve_settles_a_stuck_refund_by_lookup(paid, system_user, reached, outcome):
    refund = services.payment_refund(
        payment=paid,
        amount=Decimal("300.00"),
        reason="x",
        actor=system_user,
        adapter=TimesOut(reached=reached),
    )
    assert refund.status == Refund.Status.PENDING
    paid.refresh_from_db()
    assert selectors.payment_refundable_amount(payment=paid) == Decimal("700.00")
    assert refund.call_ended_at is None  # a timeout: the gateway may still be working on it
    assert services.refund_resolve(refund=refund, actor=system_user).status == "pending"
    Refund.objects.filter(pk=refund.pk).update(
        created_at=timezone.now() - REFUND_STUCK_AFTER - timezone.timedelta(minutes=1)
    )

    refund = services.refund_resolve(refund=refund, actor=system_user)
    assert refund.status == outcome
    paid.refresh_from_db()
    expected = Decimal("300.00") if reached else Decimal("0.00")
    assert paid.refunded_amount == expected
    event = PaymentEvent.objects.filter(refund=refund).last()
    assert event.kind == f"refund_{outcome}"
    assert event.method == "lookup"


def test_refund_janitor_resolves_old_refunds_and_lists_unresolvable_ones(
    paid, system_user, monkeypatch
):
    refund = services.payment_refund(
        payment=paid,
        amount=Decimal("300.00"),
        reason="x",
        actor=system_user,
        adapter=TimesOut(reached=True),
    )
    assert tasks.stuck_refund_ids() == []  # too young
    Refund.objects.filter(pk=refund.pk).update(
        created_at=timezone.now() - REFUND_STUCK_AFTER - timezone.timedelta(minutes=1)
    )
    assert tasks.stuck_refund_ids() == [refund.pk]

    def unreachable(**kwargs):
        raise ProviderError("down", code="transport_error")

    real_adapter_for_payment = services.adapter_for_payment

    def broken(payment, http=None):
        adapter = real_adapter_for_payment(payment, http=http)
        monkeypatch.setattr(adapter, "status", unreachable)
        return adapter

    monkeypatch.setattr(services.gateways, "adapter_for_payment", broken)
    assert tasks.refund_check(refund.pk) == "stuck"
    case = ExceptionCase.objects.get(kind="refund_stuck")
    assert case.dedup_key == f"refund_stuck:refund:{refund.pk}"
    assert tasks.stuck_refund_ids() == []  # looked up just now: not again for a while

    monkeypatch.setattr(services.gateways, "adapter_for_payment", real_adapter_for_payment)
    assert tasks.refund_check(refund.pk) == "succeeded"
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED
