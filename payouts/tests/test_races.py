"""Races on PostgreSQL with real threads: the row locks and the exclusion constraint decide."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from payouts import services
from payouts.models import Payout, PayoutEvent, PayoutLine
from payouts.tests.factories import paid, today

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(n: int, work):
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_fifty_concurrent_requests_for_one_scope_create_one_payout(api, recipient, qr):
    day = today(recipient.organization)
    for amount in ("100.00", "250.50", "49.50"):
        paid(qr, amount)
    token = api.token
    body = {
        "recipient": recipient.pk,
        "currency": "AMD",
        "period_start": (day - dt.timedelta(days=1)).isoformat(),
        "period_end": day.isoformat(),
    }

    def post(i):
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        # Half ask for the same range, half for overlapping ones.
        shifted = dict(body, period_start=day.isoformat()) if i % 2 else body
        response = client.post("/api/v1/payouts/", shifted, format="json")
        return response.status_code, response.json().get("error", {}).get("code")

    results = Counter(run_concurrently(50, post))
    assert results == {(201, None): 1, (409, "duplicate_active_payout"): 49}
    payout = Payout.objects.get()
    assert payout.gross == Decimal("400.00")
    assert payout.gross == payout.fee + payout.net
    assert PayoutLine.objects.filter(active=True).count() == 3


def test_exclusion_constraint_refuses_an_overlap_the_service_did_not_see(recipient, qr, actor):
    """The database's own guard: an overlapping active row is refused even without the lock."""
    day = today(recipient.organization)
    paid(qr, "10.00")
    first = services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    clone = Payout(
        organization=first.organization,
        recipient=first.recipient,
        branch=first.branch,
        currency="AMD",
        period_start=day - dt.timedelta(days=3),
        period_end=day,
        gross=Decimal(0),
        fee=Decimal(0),
        net=Decimal(0),
        requested_by=actor,
    )
    with (
        pytest.raises(IntegrityError, match="payout_no_overlapping_active_scope"),
        transaction.atomic(),
    ):
        clone.save()
    # Not overlapping, or not active: allowed.
    clone.period_start = clone.period_end = day + dt.timedelta(days=1)
    clone.save()


def test_twenty_conflicting_transitions_leave_one_winner(recipient, qr, actor):
    paid(qr, "500.00")
    day = today(recipient.organization)
    payout = services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    services.payout_process(payout=payout, actor=actor)

    def move(i):
        from core.errors import DomainError

        to = "completed" if i % 2 else "cancelled"
        try:
            services.payout_transition(
                payout=Payout.objects.get(pk=payout.pk),
                to=to,
                actor=actor,
                method="bank_transfer",
                reference=f"TRX-{i}",
            )
        except DomainError as exc:
            return exc.code
        return f"won:{to}"

    results = Counter(run_concurrently(20, move))
    winners = [k for k in results if k.startswith("won:")]
    assert len(winners) == 1
    assert results[winners[0]] == 1
    assert results["transition_not_allowed"] == 19
    payout.refresh_from_db()
    assert payout.status == winners[0].removeprefix("won:")
    final_events = PayoutEvent.objects.filter(payout=payout, kind__in=["completed", "cancelled"])
    assert final_events.count() == 1
    if payout.status == "cancelled":
        assert not payout.lines.filter(active=True).exists()
    else:
        assert payout.lines.filter(active=True).count() == 1


def test_refund_racing_a_request_keeps_the_amounts_exact(recipient, qr, actor):
    from payouts.tests.factories import refund

    day = today(recipient.organization)
    payments = [paid(qr, "1000.00") for _ in range(5)]

    def work(i):
        if i == 0:
            return services.payout_request(
                recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
            ).pk
        refund(payments[i - 1], "100.00")
        return None

    run_concurrently(6, work)
    payout = Payout.objects.get()
    left = sum(p.amount - p.refunded_amount for p in type(payments[0]).objects.all())
    assert left == Decimal("4500.00")
    assert payout.gross == left  # whichever came first, every refund is accounted for
    assert payout.gross == payout.fee + payout.net
