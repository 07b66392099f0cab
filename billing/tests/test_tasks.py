import pytest

from billing.models import Notification
from billing.tasks import notification_send
from core.duework import due_work_names

pytestmark = pytest.mark.django_db(transaction=True)


def test_billing_due_work_is_registered():
    assert "billing.due" in due_work_names()


def test_notification_task_returns_early_when_done(organization, customer, subscribe, clock):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    notification = Notification.objects.create(
        organization=organization,
        customer=customer,
        period=subscription.periods.get(),
        sequence=1,
        channel="email",
        language="hy",
        recipient=customer.email,
        subject="s",
        body="b",
        created_at=subscription.created_at,
    )
    assert notification_send(notification.pk) is True
    assert notification_send(notification.pk) is False
    notification.refresh_from_db()
    assert notification.status == "sent"
