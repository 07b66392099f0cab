"""Payout transitions (payouts.services.transitions)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payouts import services
from payouts.tests.factories import paid, request, today

D = Decimal


@pytest.fixture
def payout(organization, recipient, qr, actor):
    paid(qr, "1000.00")
    return request(recipient, actor, today(organization))


def test_transitions_write_their_audit_rows(payout, actor, django_capture_on_commit_callbacks):
    from webhooks.models import WebhookEvent

    services.payout_process(
        payout=payout,
        actor=actor,
        method="bank_transfer",
        reference="BATCH-7",
        comment="sent to the bank",
    )
    services.payout_complete(
        payout=payout, actor=actor, method="bank_transfer", reference="TRX-1", comment="confirmed"
    )
    payout.refresh_from_db()
    assert payout.status == "completed"
    assert payout.reference == "TRX-1"
    assert payout.completed_at is not None
    rows = list(
        payout.events.values_list(
            "kind", "from_status", "to_status", "method", "reference", "comment"
        )
    )
    assert rows == [
        ("requested", "", "requested", "", "", ""),
        ("processing", "requested", "processing", "bank_transfer", "BATCH-7", "sent to the bank"),
        ("completed", "processing", "completed", "bank_transfer", "TRX-1", "confirmed"),
    ]
    assert all(e.actor == actor for e in payout.events.all())
    types = sorted(
        WebhookEvent.objects.filter(organization=payout.organization)
        .filter(event_type__startswith="payout.")
        .values_list("event_type", flat=True)
    )
    assert types == ["payout.completed", "payout.processing", "payout.requested"]


def test_completion_requires_method_and_reference(payout, actor):
    services.payout_process(payout=payout, actor=actor)
    with pytest.raises(DomainError) as exc:
        services.payout_transition(payout=payout, to="completed", actor=actor, method="cash")
    assert (exc.value.code, exc.value.status_code) == ("reference_required", 400)
    assert exc.value.fields == {"reference": ["Required to complete."]}
    payout.refresh_from_db()
    assert payout.status == "processing"
    case = ExceptionCase.objects.get(kind="completed_without_reference")
    services.payout_complete(payout=payout, actor=actor, method="cash", reference="R-1")
    case.refresh_from_db()
    assert case.status == "resolved"


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "completed"),
        (["processing", "completed"], "processing"),
        (["cancelled"], "processing"),
        (["processing", "completed"], "cancelled"),
        (["cancelled"], "cancelled"),
    ],
)
def test_transitions_that_are_not_allowed(payout, actor, path, to):
    for step in path:
        services.payout_transition(
            payout=payout, to=step, actor=actor, method="cash", reference="R"
        )
    events = payout.events.count()
    with pytest.raises(DomainError) as exc:
        services.payout_transition(payout=payout, to=to, actor=actor, method="cash", reference="R")
    assert (exc.value.code, exc.value.status_code) == ("transition_not_allowed", 409)
    assert payout.events.count() == events


def test_reversal_is_a_separate_correction(payout, actor):
    services.payout_process(payout=payout, actor=actor)
    services.payout_complete(payout=payout, actor=actor, method="cash", reference="R-1")
    with pytest.raises(DomainError):
        services.payout_reverse(payout=payout, actor=actor, reference="", comment="")
    services.payout_reverse(
        payout=payout, actor=actor, reference="BOUNCE-1", comment="bank returned the transfer"
    )
    payout.refresh_from_db()
    assert payout.status == "reversed"
    assert payout.reversal.reference == "BOUNCE-1"
    assert not payout.lines.filter(active=True).exists()
