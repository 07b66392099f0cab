"""Provider callbacks: verification before writing, refusals, dedup, confirmation by lookup."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from conftest import run_together
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
    codes = run_together(*[lambda: Client().get(URL, params).status_code] * 10)
    assert [c for c in codes if isinstance(c, BaseException)] == []
    # A copy arriving while the first is still processing is asked to retry (409); the
    # others are answered like the processed one.
    assert set(codes) <= {200, 409}
    assert 200 in codes
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert PaymentEvent.objects.filter(payment=payment, kind="verified").count() == 1
    assert WebhookEvent.objects.filter(event_type="payment.verified").count() == 1
    statuses = list(ProviderCallback.objects.values_list("status", flat=True))
    assert statuses.count("processed") == 1
    assert statuses.count("duplicate") == 9
    assert ProviderCallback.objects.filter(status="duplicate", http_status=409).count() == (
        codes.count(409)
    )
    assert payment.amount == Decimal("700.00")


# -- a crashed callback releases its key; copies while processing are asked to retry (I3) -------


def test_a_crashed_callback_releases_its_key_and_the_retry_applies(
    client, payment, system_user, monkeypatch
):
    from payments import services

    payment, order = registered(payment, system_user)
    decide(order)

    real = services.payment_apply_status
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("deadlock detected")
        return real(**kwargs)

    monkeypatch.setattr(services, "payment_apply_status", flaky)
    first = client.get(URL, callback_params(order))
    assert first.status_code == 503  # the gateway retries
    crashed = ProviderCallback.objects.get()
    assert crashed.status == "failed"
    assert crashed.dedup_key is None
    assert "RuntimeError" in crashed.handler_error
    retry = client.get(URL, callback_params(order))
    assert retry.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED


def test_a_copy_while_the_first_is_processing_gets_409_and_a_stale_claim_is_taken_over(
    client, payment, system_user
):
    from datetime import timedelta

    from django.utils import timezone

    payment, order = registered(payment, system_user)
    decide(order)
    holder = ProviderCallback.objects.create(
        provider="sandbox",
        event_id=f"{order.order_id}:deposited:1",
        dedup_key=f"{order.order_id}:deposited:1",
        status="processing",
        method="GET",
    )
    copy = client.get(URL, callback_params(order))
    assert copy.status_code == 409
    assert ProviderCallback.objects.filter(status="duplicate", http_status=409).count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING

    # Its worker died: after five minutes the next copy takes the key over.
    ProviderCallback.objects.filter(pk=holder.pk).update(
        received_at=timezone.now() - timedelta(minutes=6)
    )
    retry = client.get(URL, callback_params(order))
    assert retry.status_code == 200
    holder.refresh_from_db()
    assert holder.status == "failed"
    assert holder.dedup_key is None
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED


# -- callbacks are verified with the payment's own organisation's account (I2) -----------------


def _arca_payment(organization, branch, reference="md-1"):
    payment = make_payment(organization=organization, branch=branch, provider="arca")
    Payment.objects.filter(pk=payment.pk).update(provider_reference=reference)
    return payment


def _arca_params(payment, key, reference="md-1"):
    from payments.providers.bpc import callback_checksum

    params = {
        "mdOrder": reference,
        "orderNumber": payment.order_number,
        "operation": "deposited",
        "status": "1",
    }
    params["checksum"] = callback_checksum(params, key)
    return params


def test_a_signed_callback_is_checked_with_its_own_organisations_account(client, db):
    from core.models import Branch, Organization
    from payments.models import ProviderAccount

    alpha = Organization.objects.create(slug="aaa-shop", name="A")  # sorts first, no key
    zulu = Organization.objects.create(slug="zzz-shop", name="Z")
    ProviderAccount.objects.create(organization=alpha, provider="arca", username="a", password="p")
    ProviderAccount.objects.create(
        organization=zulu,
        provider="arca",
        username="z",
        password="p",
        secret_key="zulu-key",
        base_url="http://127.0.0.1:9/",  # the lookup fails: 503 proves verification passed
    )
    branch = Branch.objects.create(organization=zulu, code="main", name="Main")
    payment = _arca_payment(zulu, branch)
    response = client.get("/callbacks/arca/", _arca_params(payment, "zulu-key"))
    row = ProviderCallback.objects.get()
    assert response.status_code == 503, (row.status, row.handler_error)
    assert row.organization == zulu
    # Signed with another organisation's key: refused.
    ProviderAccount.objects.filter(organization=alpha).update(secret_key="alpha-key")
    forged = client.get("/callbacks/arca/", _arca_params(payment, "alpha-key"))
    assert forged.status_code == 403


def test_arca_callbacks_for_an_account_without_a_key_are_refused(client, organization, branch):
    from payments.models import ProviderAccount

    ProviderAccount.objects.create(
        organization=organization, provider="arca", username="u", password="p"
    )
    payment = _arca_payment(organization, branch)
    params = _arca_params(payment, "whatever")
    del params["checksum"]  # an unsigned callback would otherwise be accepted as a hint
    response = client.get("/callbacks/arca/", params)
    assert response.status_code == 403
    row = ProviderCallback.objects.get()
    assert row.status == "rejected"
    assert "checksum key" in row.handler_error
    assert unchanged(payment)


# -- a "paid" answer for an expired or declined payment is listed (I1) --------------------------


@pytest.mark.parametrize("finish", ["expire", "decline"])
def test_paid_after_expiry_or_decline_raises_a_late_payment_case(
    client, payment, system_user, finish
):
    from payments import services

    payment, order = registered(payment, system_user)
    if finish == "expire":
        services.payment_expire(payment=payment, actor=system_user)
    else:
        services.payment_decline(payment=payment, actor=system_user, reason="test")
    decide(order)  # the customer pays after all (slow 3-D Secure)
    response = client.get(URL, callback_params(order))
    assert response.status_code == 200  # the gateway may stop retrying
    payment.refresh_from_db()
    assert payment.status in Payment.FINAL_UNPAID_STATUSES  # states never move back by themselves
    case = ExceptionCase.objects.get(kind="late_payment")
    assert case.dedup_key == f"late_payment:payment:{payment.pk}"
    assert payment.events.filter(kind="late_payment").count() == 1
    # The same answer again (a retry, the janitor) lists nothing new.
    client.post(URL, callback_params(order))
    assert ExceptionCase.objects.filter(kind="late_payment").count() == 1
    assert payment.events.filter(kind="late_payment").count() == 1

    # The operator reinstates it: verified, case resolved; it can now be refunded.
    payment = services.payment_reinstate(payment=payment, actor=system_user, comment="keep it")
    assert payment.status == Payment.Status.VERIFIED
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED
    assert payment.events.filter(kind="verified").get().data["reinstated"] is True


def test_reinstate_needs_a_late_payment(payment, system_user):
    from core.errors import DomainError
    from payments import services

    services.payment_expire(payment=payment, actor=system_user)
    with pytest.raises(DomainError) as caught:
        services.payment_reinstate(payment=payment, actor=system_user, comment="no proof")
    assert caught.value.code == "payment_not_late"


@pytest.mark.django_db(transaction=True)
def test_a_taken_over_callback_finishing_late_does_not_crash(
    client, payment, system_user, monkeypatch
):
    """M8: the first worker is slow, a copy takes its stale claim over and processes the event;
    when the first worker finishes it must not write the old dedup key back (IntegrityError)."""
    from datetime import timedelta

    from django.utils import timezone

    payment, order = registered(payment, system_user)
    decide(order)
    from payments import services

    real = services.payment_apply_status
    inner = []

    def slow(**kwargs):
        if not inner:
            inner.append(None)
            ProviderCallback.objects.filter(status="processing").update(
                received_at=timezone.now() - timedelta(minutes=6)
            )
            inner[0] = client.get(URL, callback_params(order))
        return real(**kwargs)

    monkeypatch.setattr(services, "payment_apply_status", slow)
    first = client.get(URL, callback_params(order))
    assert inner[0].status_code == 200
    assert first.status_code == 200
    rows = list(ProviderCallback.objects.order_by("pk"))
    assert [r.status for r in rows] == ["failed", "processed"]
    assert rows[0].dedup_key is None
    assert "taken over" in rows[0].handler_error
    assert "worker finished later: processed" in rows[0].handler_error
    assert rows[1].dedup_key == f"{order.order_id}:deposited:1"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED


# -- issue 9 #8: a callback that changed nothing keeps no dedup key; the amount check always runs


def test_the_genuine_copy_after_payment_is_looked_up_again(client, payment, system_user):
    """The signed callback came before the customer paid (the lookup said unpaid: nothing
    changed); the same callback after payment must be looked up, not answered as a duplicate."""
    payment, order = registered(payment, system_user)
    params = callback_params(order)
    assert client.get(URL, params).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    first = ProviderCallback.objects.get()
    assert (first.status, first.dedup_key) == ("processed", None)
    decide(order)
    assert client.get(URL, params).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert payment.verification_method == "callback_lookup"
    assert sorted(ProviderCallback.objects.values_list("status", flat=True)) == [
        "processed",
        "processed",
    ]


def test_a_copy_with_another_signed_amount_after_a_no_effect_callback_is_refused(
    client, payment, system_user
):
    payment, order = registered(payment, system_user)
    assert client.get(URL, callback_params(order)).status_code == 200  # unpaid: no effect
    decide(order)
    response = client.get(URL, callback_params(order, amount="1"))
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert ExceptionCase.objects.get().kind == "callback_rejected"


def test_a_duplicate_of_a_processed_callback_is_still_amount_checked(client, payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    assert client.get(URL, callback_params(order)).status_code == 200  # verifies, keeps its key
    response = client.get(URL, callback_params(order, amount="1"))
    assert response.status_code == 400
    stored = ProviderCallback.objects.order_by("pk").last()
    assert stored.status == "rejected"
    assert stored.handler_error.startswith("amount_mismatch")
    assert ExceptionCase.objects.get().kind == "callback_rejected"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
