"""Two sweeps at once send each queued reminder once (PostgreSQL, real threads)."""

from __future__ import annotations

import pytest
from django.core import mail

from billing import services
from billing.models import Notification
from billing.services import dunning
from conftest import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_sweeps_send_each_queued_reminder_once(
    organization, clock, subscribe, customer, system_user, monkeypatch
):
    monkeypatch.setattr(dunning, "SEND_BATCH", 7)  # several claims per sweep, interleaved
    clock("2026-12-01", 8)
    period = subscribe("2026-12-01").periods.get()
    now = clock("2026-12-01", 9)
    for sequence in range(1, 41):
        Notification.objects.create(
            organization=organization,
            customer=customer,
            period=period,
            sequence=sequence,
            channel=Notification.Channel.EMAIL,
            language="en",
            recipient=f"r{sequence}@example.am",
            subject=f"reminder {sequence}",
            body="pay",
            created_at=now,
        )
    mail.outbox = []

    outcomes = run_together(
        *[lambda: services.notifications_send_queued(organization=organization)] * 4
    )

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sum(outcomes) == 40
    assert sorted(m.subject for m in mail.outbox) == sorted(f"reminder {n}" for n in range(1, 41))
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert services.notifications_send_queued(organization=organization) == 0
    assert len(mail.outbox) == 40
