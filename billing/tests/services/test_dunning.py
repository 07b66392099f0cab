"""Reminders: language, channel, the per-period limit, an operator's pause."""

import pytest
from django.core import mail

from billing import services, sms
from billing.models import Customer, Notification
from core.duework import due_work_run
from payments import sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def fail_first(organization, clock, subscription, actor):
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    attempt = subscription.periods.get().attempts.get()
    sandbox.outcome_apply(payment=attempt.payment, outcome="insufficient_funds", actor=actor)
    return due_work_run(organization=organization, now=clock("2026-12-01", 11))


def test_sms_in_armenian_when_the_customer_has_only_a_phone(
    organization, clock, subscribe, system_user, settings
):
    settings.PAYOPS_SMS_BACKEND = "billing.sms.LocmemBackend"
    sms.outbox.clear()
    phone_only = services.customer_create(
        organization=organization,
        external_ref="p1",
        name="Gor",
        language="hy",
        phone="+37491000001",
        actor=system_user,
    )
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01", customer=phone_only)
    fail_first(organization, clock, subscription, system_user)
    notification = Notification.objects.get()
    assert (notification.channel, notification.language, notification.status) == (
        "sms",
        "hy",
        "sent",
    )
    assert sms.outbox == [{"to": "+37491000001", "text": notification.body}]
    assert "Չհաջողվեց գանձել 15000.00 AMD" in notification.body
    assert "2026-12-08" in notification.body  # the block date


def test_paused_dunning_sends_nothing(organization, clock, subscribe, customer, system_user):
    services.customer_dunning_set(
        customer=customer, paused=True, actor=system_user, reason="in hospital"
    )
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    fail_first(organization, clock, subscription, system_user)
    assert not Notification.objects.exists()
    assert mail.outbox == []
    assert Customer.objects.get().history.first().history_change_reason == (
        "dunning paused: in hospital"
    )


def test_a_reminder_is_sent_once(organization, clock, subscribe, system_user):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    fail_first(organization, clock, subscription, system_user)
    notification = Notification.objects.get()
    assert services.notification_send(notification_id=notification.pk) is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anahit@example.am"]
