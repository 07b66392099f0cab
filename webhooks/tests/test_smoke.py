from decimal import Decimal

from django.db import transaction

from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import endpoint_create, event_emit


def test_emit_twice_one_row(
    organization, system_user, settings, django_capture_on_commit_callbacks
):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint_create(
        organization=organization,
        url="http://127.0.0.1:9/x",
        event_types=["payment.*"],
        actor=system_user,
    )
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            e1 = event_emit(
                organization=organization,
                event_type="payment.verified",
                subject="payment",
                subject_id=1,
                data={"id": 1, "amount": Decimal("1.50")},
                dedup="v",
            )
            e2 = event_emit(
                organization=organization,
                event_type="payment.verified",
                subject="payment",
                subject_id=1,
                data={"id": 1, "amount": Decimal("1.50")},
                dedup="v",
            )
    assert e1.pk == e2.pk and e1.pk.startswith("msg_")
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1
    assert len(callbacks) == 1
