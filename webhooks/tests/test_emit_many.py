"""event_emit_many: the bulk outbox write of a period build, equal to many event_emit calls."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import event_emit, event_emit_many
from webhooks.tests.factories import make_endpoint


def _item(n: int) -> dict:
    return {
        "event_type": "payout.requested",
        "subject": "payout",
        "subject_id": n,
        "data": {"id": n, "status": "requested", "net": Decimal("10.00"), "currency": "AMD"},
        "dedup": f"event-{n}",
    }


def test_many_events_in_a_few_statements_with_one_delivery_each(
    organization, system_user, receiver
):
    make_endpoint(organization, receiver.url, system_user, ["payout.*"])
    make_endpoint(organization, receiver.url, system_user, ["payment.*"])  # not listening
    with CaptureQueriesContext(connection) as few:
        rows = event_emit_many(organization=organization, events=[_item(n) for n in range(50)])
    assert len(rows) == 50
    assert WebhookEvent.objects.count() == 50
    assert WebhookDelivery.objects.count() == 50  # only the payout.* endpoint
    with CaptureQueriesContext(connection) as one:
        event_emit(organization=organization, **_item(999))
    assert len(few) <= len(one) + 6  # not a few statements per event


def test_the_same_ids_as_event_emit_so_nothing_is_written_twice(organization, system_user):
    single = event_emit(organization=organization, **_item(1))
    rows = event_emit_many(organization=organization, events=[_item(1), _item(2)])
    assert rows[0].pk == single.pk
    assert WebhookEvent.objects.count() == 2
    again = event_emit_many(organization=organization, events=[_item(1), _item(2)])
    assert [r.pk for r in again] == [r.pk for r in rows]
    assert WebhookEvent.objects.count() == 2


def test_bodies_are_the_ones_event_emit_writes(organization):
    many = event_emit_many(organization=organization, events=[_item(7)])[0]
    WebhookEvent.objects.all().delete()
    single = event_emit(organization=organization, now=many.created_at, **_item(7))
    assert single.body == many.body
    assert single.pk == many.pk
