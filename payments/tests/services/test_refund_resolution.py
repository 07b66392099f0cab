"""Review 3 regressions: a lookup never settles a refund whose gateway call is in flight (C1),
a late contrary answer is never dropped (C1), the lookup is compared with a snapshot taken
before it (I1), and a reused refund key is 422 (I3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from core.actors import system_actor
from exceptionqueue.models import ExceptionCase
from payments import hooks, services
from payments.janitor import REFUND_STUCK_AFTER
from payments.models import Payment, PaymentEvent, Refund
from payments.providers.base import ProviderState, RefundResult, StatusResult
from payments.tests.factories import make_payment


class Caps:
    status_lookup = True
    refunds = True
    partial_refunds = True


def lookup(payment, refunded):
    return StatusResult(
        state=ProviderState.PAID,
        provider_reference=payment.provider_reference or "",
        order_number=payment.order_number,
        amount=payment.amount,
        currency=payment.currency,
        refunded_amount=refunded,
    )


class SlowGateway:
    """The refund call is slow; meanwhile an operator clicks "Resolve pending refunds"."""

    capabilities = Caps()

    def __init__(self, payment):
        self.payment = payment
        self.refunded_at_gateway = Decimal("0")
        self.resolved_during_call = None

    def status(self, **kw):
        return lookup(self.payment, self.refunded_at_gateway)

    def refund(self, *, amount, **kw):
        refund = Refund.objects.get(status=Refund.Status.PENDING)
        self.resolved_during_call = services.refund_resolve(
            refund=refund, actor=system_actor("operator"), adapter=self
        )
        self.refunded_at_gateway += amount  # then the gateway refunds
        return RefundResult(provider_reference="R1", succeeded=True, code="0")


@pytest.mark.django_db(transaction=True)
def test_a_refund_in_flight_is_not_resolved_and_its_success_is_recorded(organization, branch):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    gateway = SlowGateway(payment)
    refund = services.payment_refund(
        payment=payment,
        amount=Decimal("400.00"),
        reason="r",
        actor=system_actor("api"),
        adapter=gateway,
    )
    payment.refresh_from_db()
    assert gateway.resolved_during_call.status == Refund.Status.PENDING
    assert (refund.status, payment.refunded_amount) == ("succeeded", Decimal("400.00"))
    assert refund.call_ended_at is not None


def _failed_refund(payment, amount="400.00"):
    actor = system_actor("t")
    refund, _ = services.refund_reserve(
        payment=payment, amount=Decimal(amount), reason="r", actor=actor
    )
    return services.refund_complete(
        refund=refund, succeeded=False, actor=actor, code="not_at_gateway", method="lookup"
    )


@pytest.mark.django_db(transaction=True)
def test_a_success_for_a_failed_refund_is_corrected_with_audit(organization, branch):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    seen = []
    hooks.subscribe(seen.append)
    try:
        refund = _failed_refund(payment)
        assert refund.status == Refund.Status.FAILED
        refund = services.refund_complete(
            refund=refund, succeeded=True, actor=system_actor("t"), provider_reference="R9"
        )
    finally:
        hooks.unsubscribe(seen.append)
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.provider_reference == "R9"
    assert payment.refunded_amount == Decimal("400.00")
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    event = PaymentEvent.objects.get(refund=refund, kind=PaymentEvent.Kind.REFUND_CORRECTED)
    assert event.data["corrected_from"] == "failed"
    assert [(c.kind, c.refund.pk) for c in seen] == [("refunded", refund.pk)]
    # The same answer again changes nothing.
    services.refund_complete(refund=refund, succeeded=True, actor=system_actor("t"))
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("400.00")


@pytest.mark.django_db(transaction=True)
def test_a_success_for_a_failed_refund_that_no_longer_fits_is_listed(organization, branch):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    refund = _failed_refund(payment, "800.00")
    services.payment_refund(
        payment=payment,
        amount=Decimal("800.00"),
        reason="again",
        actor=system_actor("t"),
        adapter=type(
            "G",
            (),
            {"refund": lambda self, **kw: RefundResult(provider_reference="R2", succeeded=True)},
        )(),
    )
    refund = services.refund_complete(refund=refund, succeeded=True, actor=system_actor("t"))
    payment.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert payment.refunded_amount == Decimal("800.00")
    case = ExceptionCase.objects.get(dedup_key=f"refund_conflict:refund:{refund.pk}")
    assert case.kind == "refund_stuck"


@pytest.mark.django_db(transaction=True)
def test_a_failure_for_a_succeeded_refund_is_listed(organization, branch):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    actor = system_actor("t")
    refund, _ = services.refund_reserve(
        payment=payment, amount=Decimal("100.00"), reason="r", actor=actor
    )
    refund = services.refund_complete(refund=refund, succeeded=True, actor=actor)
    refund = services.refund_complete(refund=refund, succeeded=False, actor=actor, code="x")
    assert refund.status == Refund.Status.SUCCEEDED
    assert ExceptionCase.objects.filter(
        kind="refund_stuck", dedup_key=f"refund_conflict:refund:{refund.pk}"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_an_old_refund_without_an_ended_call_is_resolved(organization, branch):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    actor = system_actor("t")
    refund, _ = services.refund_reserve(
        payment=payment, amount=Decimal("100.00"), reason="r", actor=actor
    )

    class Gateway:
        capabilities = Caps()

        def status(self, **kw):
            return lookup(payment, Decimal("0"))

    assert services.refund_resolve(refund=refund, actor=actor, adapter=Gateway()).status == (
        "pending"
    )
    Refund.objects.filter(pk=refund.pk).update(
        created_at=timezone.now() - REFUND_STUCK_AFTER - timezone.timedelta(minutes=1)
    )
    assert services.refund_resolve(refund=refund, actor=actor, adapter=Gateway()).status == (
        "failed"
    )


@pytest.mark.django_db(transaction=True)
def test_a_refund_settled_during_the_lookup_leaves_the_answer_for_the_next_run(
    organization, branch
):
    payment = make_payment(organization=organization, branch=branch, verified=True)
    actor = system_actor("t")
    # A: 300 sent, the gateway refunded it, the answer was lost (stuck pending; call ended).
    a, _ = services.refund_reserve(
        payment=payment, amount=Decimal("300.00"), reason="a", actor=actor
    )
    Refund.objects.filter(pk=a.pk).update(call_ended_at=timezone.now())
    # B: 300, a second refund whose gateway call is in flight.
    b, _ = services.refund_reserve(
        payment=payment, amount=Decimal("300.00"), reason="b", actor=actor
    )

    class Gateway:
        capabilities = Caps()

        def status(self, **kw):
            answer = lookup(payment, Decimal("300.00"))  # the gateway's view: only A refunded
            # ... and B goes through and is recorded before this answer is compared
            services.refund_complete(refund=b, succeeded=True, actor=actor, provider_reference="RB")
            return answer

    result = services.refund_resolve(refund=a, actor=actor, adapter=Gateway())
    a.refresh_from_db()
    assert (result.status, a.status) == ("pending", "pending")

    class Later:
        capabilities = Caps()

        def status(self, **kw):
            return lookup(payment, Decimal("600.00"))

    assert services.refund_resolve(refund=a, actor=actor, adapter=Later()).status == "succeeded"
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("600.00")


class Succeeds:
    def refund(self, **kwargs):
        return RefundResult(provider_reference="R1", succeeded=True, code="0")


@pytest.mark.django_db(transaction=True)
def test_a_reused_refund_key_is_422(api, organization, branch, monkeypatch):
    """The first request crashed after the refund was recorded (so the API layer kept no
    answer); the same key with another amount reaches the service: 422 as in CONTRACT.md."""
    monkeypatch.setattr(
        services.gateways, "adapter_for_payment", lambda payment, http=None: Succeeds()
    )

    def crash(change):
        if change.kind == "refunded":
            raise RuntimeError("boom")

    hooks.subscribe(crash)
    try:
        payment = make_payment(organization=organization, branch=branch, verified=True)
        api.raise_request_exception = False
        url = f"/api/v1/payments/{payment.pk}/refunds/"
        first = api.post(
            url, {"amount": "400.00", "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="K"
        )
        assert first.status_code == 500
    finally:
        hooks.unsubscribe(crash)
    other = api.post(
        url, {"amount": "300.00", "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="K"
    )
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.status_code == 422


# -- M1: a late payment the gateway reports refunded is never reinstated ------------------------


class LookupGateway:
    capabilities = Caps()

    def __init__(self, payment, state, refunded="0"):
        self.payment, self.state, self.refunded = payment, state, Decimal(refunded)

    def status(self, **kw):
        return StatusResult(
            state=self.state,
            provider_reference="",
            order_number=self.payment.order_number,
            amount=self.payment.amount,
            currency=self.payment.currency,
            refunded_amount=self.refunded,
        )


def _late(payment, state, refunded="0"):
    actor = system_actor("t")
    services.payment_expire(payment=payment, actor=actor)
    services.payment_apply_status(
        payment=payment,
        status=LookupGateway(payment, state, refunded).status(),
        method="lookup",
        actor=actor,
    )
    payment.refresh_from_db()
    assert payment.events.filter(kind="late_payment").exists()
    return payment


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("late_state", "now_state", "refunded"),
    [
        (ProviderState.REFUNDED, ProviderState.REFUNDED, "1000.00"),
        (ProviderState.PAID, ProviderState.PARTIALLY_REFUNDED, "400.00"),
        (ProviderState.PAID, ProviderState.PAID, "400.00"),
    ],
)
def test_a_late_payment_refunded_at_the_gateway_is_not_reinstated(
    organization, branch, late_state, now_state, refunded
):
    from core.errors import DomainError

    payment = _late(make_payment(organization=organization, branch=branch), late_state, refunded)
    with pytest.raises(DomainError) as caught:
        services.payment_reinstate(
            payment=payment,
            actor=system_actor("op"),
            comment="keep it",
            adapter=LookupGateway(payment, now_state, refunded),
        )
    assert caught.value.code == "payment_refunded_at_gateway"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("expired", Decimal("0.00"))


@pytest.mark.django_db(transaction=True)
def test_a_late_payment_without_lookup_reported_refunded_is_not_reinstated(organization, branch):
    from core.errors import DomainError

    class NoLookup:
        class capabilities:
            status_lookup = False

    payment = _late(make_payment(organization=organization, branch=branch), ProviderState.REFUNDED)
    with pytest.raises(DomainError) as caught:
        services.payment_reinstate(
            payment=payment, actor=system_actor("op"), comment="x", adapter=NoLookup()
        )
    assert caught.value.code == "payment_refunded_at_gateway"


@pytest.mark.django_db(transaction=True)
def test_a_late_payment_still_paid_is_reinstated(organization, branch):
    payment = _late(make_payment(organization=organization, branch=branch), ProviderState.PAID)
    payment = services.payment_reinstate(
        payment=payment,
        actor=system_actor("op"),
        comment="keep it",
        adapter=LookupGateway(payment, ProviderState.PAID),
    )
    assert payment.status == Payment.Status.VERIFIED
