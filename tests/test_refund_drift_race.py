"""Issue 9 #4: a refund racing the drift decision of a processing payout, on PostgreSQL with real
threads. The decision locks the payout and inserts rows referencing the payment (a KEY SHARE
lock on the payment); the refund holds the payment's row lock and then, through the payments
hook, waits for the payout. With the payment locked FOR UPDATE that was a deadlock and the
refund stayed pending after the gateway had refunded; payments lock FOR NO KEY UPDATE
(``payments.locks``), which a KEY SHARE does not wait for.

Each run: no exception on either side, the refund succeeded, the payment counts both refunds,
and the payout's figures are exact (gross = 1000 - the deducted refunds = fee + net, with the
refunds not deducted yet held as drift).
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from conftest import run_together
from payments.models import Payment, Refund
from payouts import services as payouts
from payouts.models import Payout
from payouts.tests.factories import paid, refund, today

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RUNS = 10


def processing_payout_with_drift(organization, branch, actor, n: int):
    """A processing payout of one 1000.00 payment, held by a first 250.00 refund."""
    recipient = payouts.recipient_create(
        organization=organization,
        scope="employee",
        name=f"Waiter {n}",
        branch=branch,
        external_ref=f"W-{n}",
        actor=actor,
    )
    qr = payouts.qr_code_create(recipient=recipient, actor=actor)
    payment = paid(qr, "1000.00")
    day = today(organization)
    payout = payouts.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    payouts.payout_process(payout=payout, actor=actor)
    refund(payment, "250.00")
    payout.refresh_from_db()
    assert payout.drift_hold
    return payment, payout


def decide(payout, actor):
    return payouts.payout_drift_decide(
        payout=Payout.objects.get(pk=payout.pk), decision="recalculate", actor=actor
    )


def assert_exact(payment, payout, outcomes):
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    refunds = list(Refund.objects.filter(payment=payment).values_list("status", flat=True))
    assert refunds == [Refund.Status.SUCCEEDED, Refund.Status.SUCCEEDED]
    payment = Payment.objects.get(pk=payment.pk)
    assert payment.refunded_amount == Decimal("550.00")
    payout = Payout.objects.get(pk=payout.pk)
    deducted = -sum(payout.lines.filter(kind="refund").values_list("amount", flat=True))
    assert payout.gross == Decimal("1000.00") - deducted == payout.fee + payout.net
    if payout.drift_hold:  # the decision came first: the second refund is held as drift
        assert deducted == Decimal("250.00")
    else:  # the refund came first: the decision deducted both
        assert deducted == Decimal("550.00")


def test_refund_and_drift_decision_racing_many_times(organization, branch, system_user):
    for n in range(RUNS):
        payment, payout = processing_payout_with_drift(organization, branch, system_user, n)
        outcomes = run_together(
            lambda payment=payment: refund(payment, "300.00"),
            lambda payout=payout: decide(payout, system_user),
            timeout=60,
        )
        assert_exact(payment, payout, outcomes)


def test_refund_holding_the_payment_while_the_decision_inserts_its_lines(
    organization, branch, system_user, monkeypatch
):
    """The interleaving that deadlocked, forced: the refund has locked the payment (and not
    reached the payout yet) while the decision holds the payout and writes its refund line."""
    from payments.services import refunds as refund_services

    payment, payout = processing_payout_with_drift(organization, branch, system_user, 0)
    real_lock, held, release = refund_services.payment_lock, threading.Event(), threading.Event()
    racing = threading.local()

    def lock_then_wait(target):
        locked = real_lock(target)
        racing.calls = getattr(racing, "calls", 0) + 1
        # The refund's second payment lock: recording the gateway's answer (refund_complete),
        # before the payments hook reaches the payout. (The first is the reservation.)
        if getattr(racing, "refund", False) and racing.calls == 2:
            held.set()
            assert release.wait(30)
        return locked

    monkeypatch.setattr(refund_services, "payment_lock", lock_then_wait)

    def the_refund():
        racing.refund = True
        return refund(payment, "300.00")

    def the_decision():
        assert held.wait(30)
        try:
            return decide(payout, system_user)
        finally:
            decided.set()

    decided = threading.Event()

    def releaser():
        # Let the refund go on once the decision finished or is seen waiting on a lock.
        assert held.wait(30)
        deadline = time.monotonic() + 15
        with connection.cursor() as cursor:
            while time.monotonic() < deadline and not decided.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.02)
        release.set()

    outcomes = run_together(the_refund, the_decision, releaser, timeout=60)
    assert_exact(payment, payout, outcomes[:2])
