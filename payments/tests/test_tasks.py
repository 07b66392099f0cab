"""The janitor: backoff schedule in next_check_at, lookups, expiry after the window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from payments import tasks
from payments.janitor import BACKOFF_SECONDS, EXPIRY_GRACE, backoff_delay
from payments.models import Payment
from payments.tests.conftest import decide, registered


def test_backoff_schedule():
    assert [backoff_delay(n).total_seconds() for n in range(8)] == [
        60,
        120,
        300,
        600,
        1800,
        3600,
        3600,
        3600,
    ]


def test_first_check_is_scheduled_at_creation(payment):
    delay = (payment.next_check_at - payment.created_at).total_seconds()
    assert abs(delay - BACKOFF_SECONDS[0]) < 5


def _due(payment, **fields):
    Payment.objects.filter(pk=payment.pk).update(
        next_check_at=timezone.now() - timedelta(seconds=1), **fields
    )


def test_janitor_claims_due_payments_once(payment, system_user):
    _due(payment)
    assert tasks.due_payment_ids() == [payment.pk]
    assert tasks.due_payment_ids() == []  # claimed: the next beat does not queue it again


def test_the_beat_janitor_has_due_payments_checked(payment, system_user, monkeypatch):
    from config.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # run what it queues
    payment, order = registered(payment, system_user)
    decide(order)
    _due(payment)
    assert tasks.janitor() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED


def test_unpaid_payment_is_rescheduled_with_backoff(payment, system_user):
    payment, _order = registered(payment, system_user)
    for attempt in range(1, 4):
        _due(payment)
        assert tasks.payment_check(payment.pk) == "pending"
        payment.refresh_from_db()
        assert payment.check_attempts == attempt
        expected = payment.last_checked_at + backoff_delay(attempt)
        assert payment.next_check_at == expected


def test_paid_payment_is_verified_by_the_janitor(payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    _due(payment)
    assert tasks.payment_check(payment.pk) == "verified"
    payment.refresh_from_db()
    assert payment.verification_method == "lookup"
    assert payment.next_check_at is None
    assert tasks.payment_check(payment.pk) == "done"


def test_unpaid_payment_expires_after_its_window(payment, system_user):
    payment, _order = registered(payment, system_user)
    _due(payment, expires_at=timezone.now() - EXPIRY_GRACE - timedelta(seconds=1))
    assert tasks.payment_check(payment.pk) == "expired"
    payment.refresh_from_db()
    assert payment.events.filter(kind="expired").count() == 1


def test_payment_paid_late_in_its_window_is_verified_not_expired(payment, system_user):
    payment, order = registered(payment, system_user)
    decide(order)
    _due(payment, expires_at=timezone.now() - timedelta(hours=1))
    assert tasks.payment_check(payment.pk) == "verified"


def test_unreachable_gateway_keeps_the_payment_pending(payment, system_user, settings):
    payment, _ = registered(payment, system_user)
    settings.PAYOPS_SANDBOX_URL = "http://127.0.0.1:9/sandbox/bpc/payment/rest/"  # nothing there
    _due(payment, expires_at=timezone.now() - EXPIRY_GRACE - timedelta(minutes=1))
    assert tasks.payment_check(payment.pk) == "pending"
    payment.refresh_from_db()
    assert "connect" in payment.last_check_error
    assert payment.check_attempts == 1


@pytest.mark.parametrize("beat", ["payments.janitor"])
def test_beat_entry(beat, settings):
    assert settings.CELERY_BEAT_SCHEDULE[beat]["task"] == "payments.tasks.janitor"


def test_an_expired_payment_paid_later_is_found_by_one_final_lookup(payment, system_user):
    """M2: accounts without callbacks (ArCa without a checksum key) still see late payments."""
    from exceptionqueue.models import ExceptionCase
    from payments.janitor import FINAL_CHECK_AFTER

    payment, order = registered(payment, system_user)
    _due(payment, expires_at=timezone.now() - EXPIRY_GRACE - timedelta(seconds=1))
    assert tasks.payment_check(payment.pk) == "expired"
    payment.refresh_from_db()
    assert abs(payment.next_check_at - (timezone.now() + FINAL_CHECK_AFTER)) < timedelta(minutes=1)
    assert tasks.due_payment_ids() == []  # not before FINAL_CHECK_AFTER
    decide(order)  # the customer finishes paying after the last lookup; no callback comes
    later = timezone.now() + FINAL_CHECK_AFTER + timedelta(minutes=1)
    assert tasks.due_payment_ids(now=later) == [payment.pk]
    assert tasks.payment_check(payment.pk) == "late_payment"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert payment.next_check_at is None
    assert ExceptionCase.objects.get(kind="late_payment").dedup_key == (
        f"late_payment:payment:{payment.pk}"
    )
    assert tasks.due_payment_ids(now=later + timedelta(days=1)) == []  # once only


def test_an_expired_payment_still_unpaid_is_looked_up_once(payment, system_user):
    from exceptionqueue.models import ExceptionCase

    payment, _order = registered(payment, system_user)
    _due(payment, expires_at=timezone.now() - EXPIRY_GRACE - timedelta(seconds=1))
    assert tasks.payment_check(payment.pk) == "expired"
    _due(payment)
    assert tasks.payment_check(payment.pk) == "done"
    payment.refresh_from_db()
    assert (payment.status, payment.next_check_at) == ("expired", None)
    assert not ExceptionCase.objects.filter(kind="late_payment").exists()
    assert tasks.payment_check(payment.pk) == "done"
