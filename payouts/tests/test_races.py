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


def wait_for_a_lock_waiter(timeout: float = 15.0) -> None:
    """Block until another backend of this database waits on a row lock (so the interleaving
    below is the one the test claims, not whatever the scheduler chose)."""
    import time

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("nobody waited on the lock")


def in_thread(work, results, name):
    def run():
        try:
            results[name] = work()
        except Exception as exc:  # reported by the assertions
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("first", ["request", "refund"])
def test_refund_racing_a_request_keeps_the_amounts_exact(recipient, qr, actor, first):
    """Both orders, forced: the first side holds the payment's row lock (inside its transaction)
    until the second is seen waiting on it; then it commits and the second goes on."""
    from payments import hooks
    from payouts.tests.factories import refund

    day = today(recipient.organization)
    payment = paid(qr, "1000.00")
    held, release, results = threading.Event(), threading.Event(), {}

    def hold():
        held.set()
        assert release.wait(30)

    def do_request():
        with transaction.atomic():
            payout = services.payout_request(
                recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
            )
            if first == "request":
                hold()  # the payment is locked by the request, not committed yet
        return payout.pk

    def pause_inside_the_refund(change):
        if first == "refund" and change.kind == "refunded":
            hold()  # the refunded payment row is locked and saved, not committed yet

    hooks.subscribe(pause_inside_the_refund)
    try:
        one = in_thread(
            do_request if first == "request" else lambda: refund(payment, "100.00"), results, first
        )
        assert held.wait(30)
        second = "refund" if first == "request" else "request"
        two = in_thread(
            do_request if second == "request" else lambda: refund(payment, "100.00"),
            results,
            second,
        )
        wait_for_a_lock_waiter()
        release.set()
        one.join(30)
        two.join(30)
    finally:
        hooks.unsubscribe(pause_inside_the_refund)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    payout = Payout.objects.get()
    assert payout.gross == Decimal("900.00") == payout.fee + payout.net
    refund_lines = list(payout.lines.filter(kind="refund").values_list("amount", flat=True))
    if first == "request":  # the refund saw the payout: recalculated with a refund line
        assert refund_lines == [Decimal("-100.00")]
        assert payout.events.filter(kind="recalculated").count() == 1
    else:  # the request saw the refunded payment: 900.00 included, nothing to recalculate
        assert refund_lines == []
        assert payout.lines.get(kind="payment").amount == Decimal("900.00")


def test_a_second_close_during_the_build_waits_and_gets_409(recipient, qr, actor, organization):
    """The build locks the period, then the recipients; the close does the same (one lock order):
    the second click waits for the build and is refused, never a deadlock."""
    from core.errors import DomainError
    from payouts.models import PayoutPeriod

    day = today(organization) - dt.timedelta(days=2)
    paid(qr, "100.00", day=day)
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    held, release, results = threading.Event(), threading.Event(), {}

    def build():
        with transaction.atomic():
            PayoutPeriod.objects.select_for_update().get(pk=period.pk)  # as the build does first
            held.set()
            assert release.wait(30)
            return len(services.payout_period_build(period=period, actor=actor))

    one = in_thread(build, results, "build")
    assert held.wait(30)
    two = in_thread(
        lambda: services.period_transition(period=period, to="closed", actor=actor),
        results,
        "close",
    )
    wait_for_a_lock_waiter()
    release.set()
    one.join(30)
    two.join(30)
    assert results["build"] == 1
    assert isinstance(results["close"], DomainError), results
    assert (results["close"].code, results["close"].status_code) == (
        "transition_not_allowed",
        409,
    )


def test_build_writes_lines_only_for_the_payments_it_locked(recipient, qr, actor, organization):
    """A payment verified (and committed) after the build read its rows is not slipped into the
    build's payouts (it is a later follow-up): every payout's lines add up to its gross."""
    from unittest import mock

    from payments.services import payment_verify_manually
    from payouts.models import PayoutPeriod

    day = today(organization)
    paid(qr, "100.00")
    pending = services.qr_payment_create(
        qr_code=qr, amount=Decimal("250.00"), currency="AMD", actor=actor
    )
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    held, release, results = threading.Event(), threading.Event(), {}
    from payouts import locks

    real = locks.adjustments_lock

    def after_the_rows_were_read(**kwargs):
        held.set()
        assert release.wait(30)
        return real(**kwargs)

    def build():
        with mock.patch.object(locks, "adjustments_lock", after_the_rows_were_read):
            return services.payout_period_build(period=period, actor=actor)

    one = in_thread(build, results, "build")
    assert held.wait(30)
    # Verified and committed while the build is between reading its rows and inserting lines.
    late = payment_verify_manually(payment=pending, actor=actor, comment="bank", reference="x")
    release.set()
    one.join(30)
    [payout] = results["build"]
    assert payout.gross == Decimal("100.00")
    assert sum(payout.lines.values_list("amount", flat=True)) == payout.gross
    assert not PayoutLine.objects.filter(payment=late).exists()
    assert PayoutPeriod.objects.get().built_at is not None


def test_a_large_build_holds_one_batch_of_payments_at_a_time(
    organization, branch, recipient, qr, actor
):
    """Issue 14: the build runs in bounded batches (one transaction each), so a refund of a
    payment already built waits for no other batch: while the second batch holds its locks, the
    first batch's payment is free (``NOWAIT`` succeeds); the result is the single build's."""
    from unittest import mock

    from payments.models import Payment
    from payouts import locks
    from payouts.models import PayoutPeriod

    day = today(organization) - dt.timedelta(days=3)
    other = services.recipient_create(
        organization=organization, scope="team", name="Bar", branch=branch, actor=actor
    )
    first = paid(qr, "100.00", day=day)
    second = paid(services.qr_code_create(recipient=other, actor=actor), "40.00", day=day)
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    real, seen = locks.adjustments_lock, []

    def probe():
        try:
            with transaction.atomic():
                Payment.objects.select_for_update(nowait=True).get(pk=first.pk)
            return "free"
        except Exception as exc:  # django.db.utils.OperationalError: could not obtain lock
            return type(exc).__name__
        finally:
            connection.close()

    def adjustments_lock(**kwargs):
        if recipient.pk not in kwargs["recipient_ids"]:  # the second batch
            results = {}
            in_thread(lambda: probe(), results, "probe").join(30)
            seen.append(results["probe"])
        return real(**kwargs)

    with mock.patch.object(locks, "adjustments_lock", adjustments_lock):
        built = services.payout_period_build(period=period, actor=actor, batch_payments=1)
    assert seen == ["free"]
    assert sorted((p.recipient_id, p.gross, p.payment_count) for p in built) == sorted(
        [(recipient.pk, Decimal("100.00"), 1), (other.pk, Decimal("40.00"), 1)]
    )
    assert PayoutLine.objects.get(payment=second).payout.recipient_id == other.pk
    assert PayoutPeriod.objects.get().built_at is not None
    assert services.payout_period_build(period=period, actor=actor) == []
