from __future__ import annotations

from decimal import Decimal

import pytest

from appointments import services
from appointments.models import CancellationPolicy

pytestmark = pytest.mark.django_db


def test_posting_a_code_again_makes_its_next_version_and_old_requests_keep_theirs(
    organization, policy, book, actor
):
    appointment = book()
    first = services.payment_request_create(
        appointment=appointment,
        kind="deposit",
        amount=Decimal("5000"),
        currency="AMD",
        expires_in_minutes=30,
        actor=actor,
    )
    second = services.policy_create(
        organization=organization,
        code="standard",
        window_hours=48,
        refund_percent_before=Decimal("90"),
        refund_percent_after=Decimal("10"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )
    assert second.version == 2
    policy.refresh_from_db()
    assert (policy.version, policy.window_hours) == (1, 24)  # never edited
    later = services.payment_request_create(
        appointment=appointment,
        kind="prepayment",
        amount=Decimal("5000"),
        currency="AMD",
        expires_in_minutes=30,
        actor=actor,
    )
    first.refresh_from_db()
    assert first.policy.version == 1
    assert later.policy.version == 2
    assert CancellationPolicy.objects.filter(code="standard").count() == 2
