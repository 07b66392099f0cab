"""The payout page says "an operator must decide" only on a payout whose completion is held
(the field's help text said it on every payout, completed ones included)."""

from __future__ import annotations

from django.urls import reverse

from payouts import services
from payouts.tests.factories import paid, refund, today
from payouts.tests.test_admin_roles import person

MUST_DECIDE = b"an operator must decide"


def test_drift_hold_is_explained_only_when_held(client, organization, recipient, qr, actor):
    operator = person(organization, "Operator", "olga")
    payment = paid(qr, "1000.00")
    day = today(organization)
    done = services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    services.payout_process(payout=done, actor=actor)
    services.payout_complete(payout=done, actor=actor, method="bank_transfer", reference="TRX-1")
    client.force_login(operator)
    page = client.get(reverse("admin:payouts_payout_change", args=[done.pk]))
    assert page.status_code == 200
    assert MUST_DECIDE not in page.content
    assert b"Not held" in page.content

    second = paid(qr, "500.00")
    held = services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    services.payout_process(payout=held, actor=actor)
    refund(second, "100.00")
    held.refresh_from_db()
    assert held.drift_hold, payment
    page = client.get(reverse("admin:payouts_payout_change", args=[held.pk]))
    assert MUST_DECIDE in page.content
