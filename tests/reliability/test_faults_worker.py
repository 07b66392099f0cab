"""A Celery worker killed with SIGKILL mid-task, then restarted: no double effect, nothing lost.

Real processes: a redis-server of the test's own (broker), a Celery worker (solo pool, so the
kill takes the task with it) over the test database. The kill lands at a known point: the
worker's stop point (``fault_worker``: a function of the task waits on an advisory lock the test
holds), seen by the test in ``pg_stat_activity``; no sleep decides when. After the kill the
killed task's message stays unacknowledged in Redis (late acks, a visibility timeout of an hour),
so recovery is the job of what beat runs (the webhooks sweeper, ``run_due_work``, the period
build sweeper), queued here by name as beat would.

- webhook delivery: killed after the receiver answered, before the outcome was recorded; the
  sweeper takes the delivery once its lease (shortened to 8 s here) ran out: attempt 1 logged
  as lost, attempt 2 delivered, the same ``webhook-id`` both times, the delivery succeeded once;
- subscription attempt (saved card): killed just before and just after the card is charged;
  the next due-work run finds the attempt, asks the gateway, charges at most once;
- period build: killed inside its second batch's transaction (batches of one recipient);
  the first batch stays committed, the second rolls back, the build sweeper builds the rest:
  one payout per recipient, each payment in one line;
- reconciliation nightly run: killed inside its transaction (before the money self-check);
  nothing of it stays, the next due-work run makes the one nightly run;
- a desk import (an accountant's upload): a worker imports it; another is killed inside the
  import's transaction; once the job's lease has run out the sweeper queues it again and a new
  worker imports it once (one report, every row, the upload removed).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.actors import system_actor
from core.models import Branch, Organization
from tests.reliability.live import (
    beat_send,
    broker,
    fault_lock,
    kill_at_stop_point,
    own_redis,
    scripted_receiver,
    wait_until,
    worker_pool,
    worker_stop,
)

pytestmark = [pytest.mark.postgres, pytest.mark.long]
LEASE_SECONDS = 8
RECOVERY = 240  # seconds a recovery may take on a loaded CI machine (it takes a few)


def _organization(slug: str):
    organization = Organization.objects.create(slug=slug, name=slug.title())
    branch = Branch.objects.create(organization=organization, code="main", name="Main")
    return organization, branch


def test_worker_killed_mid_webhook_delivery(transactional_db, settings):
    from webhooks.models import WebhookAttempt, WebhookDelivery
    from webhooks.services import LOST_ATTEMPT_ERROR, endpoint_create, event_emit

    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on loopback
    organization, _ = _organization("kill-webhook")
    actor = system_actor("reliability")
    with (
        own_redis() as redis_url,
        broker(redis_url),
        scripted_receiver() as receiver,
        fault_lock() as admin,
        worker_pool(redis_url) as start,
    ):
        endpoint = endpoint_create(
            organization=organization,
            url=receiver.url,
            event_types=["payment.verified"],
            actor=actor,
        )
        lease = {"PAYOPS_WEBHOOKS_LEASE_SECONDS": str(LEASE_SECONDS)}
        # Stops after the receiver's answer came in, before the outcome is recorded.
        worker = start(stop_at="webhooks.services.delivery:_record", **lease)
        event = event_emit(
            organization=organization,
            event_type="payment.verified",
            subject="payment",
            subject_id=1,
            data={"id": 1, "status": "verified"},
            dedup="kill-1",
        )
        kill_at_stop_point(worker, admin)
        delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert not WebhookAttempt.objects.filter(delivery=delivery).exists()

        start(**lease)

        def delivered():
            beat_send(redis_url, "webhooks.tasks.sweep")  # beat: every 10 s
            delivery.refresh_from_db()
            return delivery.status == WebhookDelivery.Status.SUCCEEDED

        wait_until(delivered, timeout=RECOVERY, every=1, what="the delivery recovered")
    assert [hit["id"] for hit in receiver.hits] == [event.id, event.id]  # at least once, same id
    assert delivery.attempts == 2
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("attempt"))
    assert [(row.attempt, row.status_code, row.error) for row in log] == [
        (1, None, LOST_ATTEMPT_ERROR),
        (2, 200, ""),
    ]
    # The second attempt waited for the first one's lease.
    assert log[1].started_at >= log[0].started_at + dt.timedelta(seconds=LEASE_SECONDS)


@pytest.mark.parametrize(("kill_at", "charged_before"), [(1, 0), (2, 1)])
def test_worker_killed_mid_subscription_attempt(
    transactional_db, organization, gym, plan, system_user, clock, kill_at, charged_before
):
    """``checkpoint`` 1 is just before the saved-card charge, 2 just after it."""
    from billing import services
    from billing.models import Attempt, BillingPeriod
    from billing.tests.conftest import at
    from billing.tests.test_races import _saved_card_customer
    from payments.models import Payment, SandboxOrder

    with (
        own_redis() as redis_url,
        broker(redis_url),
        fault_lock() as admin,
        worker_pool(redis_url) as start,
    ):
        clock("2026-12-01", 8)
        customer = _saved_card_customer(organization, system_user)
        subscription = services.subscription_create(
            organization=organization,
            customer=customer,
            plan=plan,
            branch=gym,
            start_date=at("2026-12-01").date(),
            collection="saved_card",
            actor=system_user,
        )
        clock("2026-12-01", 10)  # the first period is due
        worker = start(stop_at=f"billing.services.attempts:checkpoint@{kill_at}")
        beat_send(redis_url, "core.tasks.run_due_work")
        kill_at_stop_point(worker, admin)

        attempt = Attempt.objects.get()
        orders = SandboxOrder.objects.filter(order_number=attempt.order_number)
        assert orders.count() == charged_before
        assert attempt.charge_started_at is not None

        start()
        period = subscription.periods.get()

        def paid():
            beat_send(redis_url, "core.tasks.run_due_work")  # beat: every minute
            period.refresh_from_db()
            return period.status == BillingPeriod.Status.PAID

        wait_until(paid, timeout=RECOVERY, every=1, what="the period paid")
    assert Attempt.objects.count() == 1
    assert Payment.objects.count() == 1
    assert orders.count() == 1  # one gateway order, charged once
    assert orders.get().order_status == 2
    assert Payment.objects.get().status == Payment.Status.VERIFIED
    assert period.verified_amount == plan.amount


def test_worker_killed_mid_period_build(transactional_db):
    from payouts import services
    from payouts.models import Payout, PayoutLine, PayoutPeriod
    from payouts.tests.factories import paid, today

    organization, branch = _organization("kill-build")
    actor = system_actor("reliability")
    day = today(organization) - dt.timedelta(days=2)
    with (
        own_redis() as redis_url,
        broker(redis_url),
        fault_lock() as admin,
        worker_pool(redis_url) as start,
    ):
        payments = []
        for name in ("Anna", "Aram", "Ani"):
            recipient = services.recipient_create(
                organization=organization, scope="employee", name=name, branch=branch, actor=actor
            )
            qr = services.qr_code_create(recipient=recipient, actor=actor)
            payments += [paid(qr, "5000.00", day=day), paid(qr, "2500.00", day=day)]
        period = services.period_create(
            organization=organization,
            kind=PayoutPeriod.Kind.WEEK,
            start_date=day - dt.timedelta(days=1),
            end_date=day + dt.timedelta(days=1),
            actor=actor,
        )
        # Batches of one recipient; the second batch stops inside its transaction.
        worker = start(
            stop_at="payouts.services.build:_build_persist@2",
            PAYOPS_FAULT_SET="payouts.services.build:BUILD_BATCH_PAYMENTS=1",
        )
        services.period_transition(period=period, to="closing", actor=actor)
        services.period_transition(period=period, to="closed", actor=actor)  # queues the build
        kill_at_stop_point(worker, admin)

        period.refresh_from_db()
        assert period.built_at is None
        # The first batch (one recipient) committed, the second rolled back.
        assert Payout.objects.filter(accounting_period=period).count() == 1

        start()

        def built():
            beat_send(redis_url, "payouts.tasks.build_closed_periods")  # beat: every 15 min
            period.refresh_from_db()
            return period.built_at is not None

        wait_until(built, timeout=RECOVERY, every=1, what="the period built")
    payouts = Payout.objects.filter(accounting_period=period)
    assert payouts.count() == 3
    assert len(set(payouts.values_list("recipient_id", flat=True))) == 3
    lines = PayoutLine.objects.filter(
        payout__accounting_period=period, kind=PayoutLine.Kind.PAYMENT
    )
    assert sorted(lines.values_list("payment_id", flat=True)) == sorted(p.pk for p in payments)
    for payout in payouts:
        assert payout.gross == Decimal("7500.00")
        assert payout.fee + payout.net == payout.gross


def test_worker_killed_mid_reconciliation_run(transactional_db, system_user):
    from core.clock import test_clock_advance
    from payouts import services
    from payouts.tests.factories import paid
    from reconciliation.models import ReconciliationItem, ReconciliationRun
    from reconciliation.services import reconciliation_run
    from reconciliation.services.settings import reconciliation_settings_get

    organization, branch = _organization("kill-reconcile")
    actor = system_actor("reliability")
    with (
        own_redis() as redis_url,
        broker(redis_url),
        fault_lock() as admin,
        worker_pool(redis_url) as start,
    ):
        recipient = services.recipient_create(
            organization=organization, scope="employee", name="Anna", branch=branch, actor=actor
        )
        qr = services.qr_code_create(recipient=recipient, actor=actor)
        now = dt.datetime.now(organization.tz) + dt.timedelta(minutes=1)
        yesterday = now.date() - dt.timedelta(days=1)
        for amount in ("1000.00", "2000.00", "3000.00"):
            paid(qr, amount, day=yesterday)
        hour = reconciliation_settings_get(organization=organization).nightly_hour
        test_clock_advance(
            organization=organization,
            now=max(now, now.replace(hour=hour, minute=5)),  # past the nightly hour
            actor=system_user,
        )
        # Stops inside the run's transaction: its run row and items written, not committed.
        worker = start(stop_at="reconciliation.services.runs:money_self_check")
        beat_send(redis_url, "core.tasks.run_due_work")
        kill_at_stop_point(worker, admin)
        assert not ReconciliationRun.objects.exists()
        assert not ReconciliationItem.objects.exists()

        start()

        def reconciled():
            beat_send(redis_url, "core.tasks.run_due_work")  # beat: every minute
            return ReconciliationRun.objects.filter(completed_at__isnull=False).exists()

        wait_until(reconciled, timeout=RECOVERY, every=1, what="the nightly run made")
    run = ReconciliationRun.objects.get()  # one nightly run, whole
    assert (run.trigger, run.period_start) == ("nightly", yesterday)
    again = reconciliation_run(
        organization=organization, start=yesterday, end=yesterday, actor=actor, dry_run=True
    )
    assert run.counts == again.counts
    assert run.items.count() == again.items.count()


def _report_csv(rows: int, first: int) -> bytes:
    lines = ["order_number,provider_reference,amount,currency,status,paid_at,refunded_amount,fee"]
    for n in range(first, first + rows):
        lines.append(f"ORD-{n},REF-{n},1500.00,AMD,paid,2026-10-0{1 + n % 9}T10:00:00+04:00,0,0")
    return ("\n".join(lines) + "\n").encode()


def test_desk_import_in_a_real_worker_and_one_killed_mid_import(
    transactional_db, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from desk.models import ImportJob
    from desk.services import LEASE, import_job_create, import_jobs_requeue
    from reconciliation.models import ProviderReport

    settings.MEDIA_ROOT = str(tmp_path)  # the worker reads the uploads from the same folder
    organization, _ = _organization("kill-import")
    actor = system_actor("reliability")

    def upload(name: str, first: int) -> ImportJob:
        return import_job_create(
            organization=organization,
            kind=ImportJob.Kind.REPORT,
            provider="arca",
            upload=SimpleUploadedFile(name, _report_csv(50, first)),
            actor=actor,
        )

    def finished(job: ImportJob):
        job.refresh_from_db()
        return job if job.finished else None

    with (
        own_redis() as redis_url,
        broker(redis_url),
        fault_lock() as admin,
        worker_pool(redis_url) as start,
    ):
        worker = start(MEDIA_ROOT=str(tmp_path))
        first = upload("october-1.csv", 1)
        wait_until(lambda: finished(first), timeout=RECOVERY, what="the worker's import")
        assert (first.status, first.progress, first.report.rows.count()) == ("done", 100, 50)
        assert not first.file
        assert not any(tmp_path.rglob("october-1*"))
        worker_stop(worker)

        # Stops inside the import's transaction: the report and its rows written, not committed.
        worker = start(stop_at="reconciliation.services.reports:_finish", MEDIA_ROOT=str(tmp_path))
        second = upload("october-2.csv", 100)
        kill_at_stop_point(worker, admin)
        second.refresh_from_db()
        assert second.status == ImportJob.Status.RUNNING  # claimed by the dead worker
        assert ProviderReport.objects.count() == 1  # its import rolled back whole

        assert import_jobs_requeue() == 0  # within its lease: left to its run
        # A worker whose lease is 8 s; the sweeper (beat, every minute) as if the test's 15
        # minutes had passed: it queues the job again until a run may take it over.
        start(MEDIA_ROOT=str(tmp_path), PAYOPS_DESK_IMPORT_LEASE_SECONDS=str(LEASE_SECONDS))
        later = timezone.now() + LEASE + dt.timedelta(minutes=1)

        def taken_over():
            assert import_jobs_requeue(now=later) <= 1
            return finished(second)

        wait_until(taken_over, timeout=RECOVERY, every=2, what="the import taken over")
    assert second.status == ImportJob.Status.DONE
    assert ProviderReport.objects.count() == 2
    assert second.report.rows.count() == 50
    assert sorted(second.report.rows.values_list("order_number", flat=True))[:2] == [
        "ORD-100",
        "ORD-101",
    ]
