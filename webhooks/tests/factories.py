from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from webhooks.services import endpoint_create, event_emit


def make_endpoint(organization, url, actor, event_types=("payment.*",)):
    return endpoint_create(
        organization=organization, url=url, event_types=list(event_types), actor=actor
    )


def emit_payment_verified(organization, payment_id=1, amount="1500.00", dedup="verified"):
    """A transition as a domain service would emit it: inside its transaction."""
    with transaction.atomic():
        return event_emit(
            organization=organization,
            event_type="payment.verified",
            subject="payment",
            subject_id=payment_id,
            data={
                "id": payment_id,
                "status": "verified",
                "amount": Decimal(amount),
                "currency": "AMD",
            },
            dedup=dedup,
        )
