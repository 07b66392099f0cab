"""The lock order of webhooks (``webhooks/locks.py``), on PostgreSQL with real threads."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from conftest import run_together
from core.models import Branch
from webhooks import locks
from webhooks.models import WebhookDelivery
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_recording_an_outcome_locks_the_delivery_not_its_organisation(
    organization, system_user, receiver
):
    """A row inserted for the same organisation (here a branch: its foreign key takes KEY SHARE
    on the organisation) goes ahead while an outcome is being recorded. It waited before: the
    record lock took FOR UPDATE on every joined row, organisation and event included."""
    make_endpoint(organization, receiver.url, system_user)
    delivery = WebhookDelivery.objects.get(event=emit_payment_verified(organization))

    def insert_for_the_organisation():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            Branch.objects.create(organization=organization, code="during", name="During")
        return "inserted"

    with transaction.atomic():
        locked = locks.delivery_record_lock(delivery.pk)
        assert locked.organization == organization  # still read with it
        [outcome] = run_together(insert_for_the_organisation)
    assert outcome == "inserted"
