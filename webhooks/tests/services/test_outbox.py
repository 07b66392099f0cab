"""The outbox: one row per transition, written with the change (``services/outbox.py``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import run_together
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import event_emit, event_emit_many
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def _emit(organization, **overrides):
    kwargs = {
        "organization": organization,
        "event_type": "payout.completed",
        "subject": "payout",
        "subject_id": 42,
        "data": {"id": 42, "status": "completed", "net": Decimal("900.00"), "currency": "AMD"},
        "dedup": "completed",
    }
    kwargs.update(overrides)
    return services.event_emit(**kwargs)


@pytest.mark.django_db
class TestEmit:
    def test_the_id_is_derived_from_the_transition_so_a_retry_writes_nothing(
        self, organization, other_organization, system_user, receiver
    ):
        make_endpoint(organization, receiver.url, system_user, event_types=["payout.*"])
        first = _emit(organization)
        again = _emit(organization, data={"id": 42, "status": "completed", "net": "1.00"})
        assert again.pk == first.pk
        assert again.body == first.body
        assert WebhookEvent.objects.count() == 1
        assert WebhookDelivery.objects.count() == 1
        assert first.pk == services.event_id_for(
            organization=organization,
            event_type="payout.completed",
            subject="payout",
            subject_id="42",
            dedup="completed",
        )
        assert first.pk.startswith("msg_")
        assert len(first.pk) == 36
        # Another transition, another organisation: other ids.
        assert _emit(organization, dedup="completed-again").pk != first.pk
        assert _emit(other_organization).pk != first.pk

    def test_body_is_thin_json_with_decimal_strings_and_a_utc_timestamp(self, organization):
        now = dt.datetime(2025, 5, 1, 12, 30, tzinfo=dt.UTC)
        event = _emit(organization, now=now)
        assert event.body == (
            '{"type":"payout.completed","timestamp":"2025-05-01T12:30:00Z",'
            '"data":{"id":42,"status":"completed","net":"900.00","currency":"AMD"}}'
        )

    @pytest.mark.parametrize(
        "data",
        [
            {"id": 1, "email": "a@b.am"},
            {"id": 1, "patient": {"name": "Anna"}},
            {"id": 1, "items": [{"diagnosis": "x"}]},
            {"id": 1, "masked_pan": "4111****1111"},
        ],
    )
    def test_personal_or_medical_data_is_refused(self, organization, data):
        with pytest.raises(ValueError, match="thin"):
            _emit(organization, data=data)
        assert not WebhookEvent.objects.exists()

    def test_floats_and_bad_event_types_are_refused(self, organization):
        with pytest.raises(TypeError):
            _emit(organization, data={"amount": 1.5})
        for bad in ["payout", "Payout.Completed", "payout.completed.x", ""]:
            with pytest.raises(ValueError, match="event type"):
                _emit(organization, event_type=bad)

    def test_only_enabled_endpoints_listening_to_the_type_get_a_delivery(
        self, organization, other_organization, system_user, receiver
    ):
        exact = make_endpoint(organization, receiver.url, system_user, ["payout.completed"])
        wildcard = make_endpoint(organization, receiver.url, system_user, ["payout.*"])
        everything = make_endpoint(organization, receiver.url, system_user, ["*"])
        make_endpoint(organization, receiver.url, system_user, ["payment.*"])
        disabled = make_endpoint(organization, receiver.url, system_user, ["*"])
        services.endpoint_disable(endpoint=disabled, reason="test", actor=system_user)
        make_endpoint(other_organization, receiver.url, system_user, ["*"])
        event = _emit(organization)
        assert set(event.deliveries.values_list("endpoint_id", flat=True)) == {
            exact.pk,
            wildcard.pk,
            everything.pk,
        }

    def test_a_rolled_back_change_leaves_no_event(self, organization, system_user, receiver):
        make_endpoint(organization, receiver.url, system_user, ["*"])

        def change_that_fails():
            with transaction.atomic():
                _emit(organization)
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            change_that_fails()
        assert not WebhookEvent.objects.exists()
        assert not WebhookDelivery.objects.exists()

    def test_delivery_is_queued_only_after_commit(
        self, organization, system_user, receiver, django_capture_on_commit_callbacks
    ):
        make_endpoint(organization, receiver.url, system_user, ["*"])
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            _emit(organization)
            _emit(organization)  # the same transition again: one delivery, one callback
        assert len(callbacks) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_emits_of_one_transition_write_one_row(organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user, ["*"])

    def work():
        with transaction.atomic():
            return _emit(organization).pk

    ids = run_together(*[work] * 10)
    assert len(set(ids)) == 1
    assert len(ids) == 10
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


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
    # Not a few statements per event: as many for 50 events as for one, give or take the
    # (savepoint-wrapped) bulk insert and the read of the ids already there.
    assert len(one) <= 6
    assert len(few) <= 15


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


def test_an_emit_for_an_organisation_without_endpoints_is_one_statement(organization):
    with CaptureQueriesContext(connection) as captured:
        row = _emit(organization)
    assert [q["sql"].split(" ", 3)[:3] for q in captured.captured_queries] == [
        ["INSERT", "INTO", '"webhooks_webhookevent"']
    ]
    assert WebhookEvent.objects.get(pk=row.pk).body == row.body
    with CaptureQueriesContext(connection) as again:
        assert _emit(organization).pk == row.pk  # the same transition: nothing written
    assert WebhookEvent.objects.count() == 1
    assert len(again) == 2  # the refused INSERT, the first row's read
