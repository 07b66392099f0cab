"""Lookups by the janitor."""

from __future__ import annotations

from payments import services
from payments.models import Payment
from payments.tests.factories import make_payment


def test_janitor_expiry_after_a_concurrent_verification_returns_quietly(
    organization, branch, system_user
):
    from datetime import timedelta

    from django.utils import timezone

    from payments.providers.base import ProviderError

    payment = make_payment(organization=organization, branch=branch)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    class Gateway:
        class capabilities:
            status_lookup = True

        def status(self, **kwargs):
            # A callback verifies the payment while the janitor waits for the gateway.
            services.payment_verify_manually(
                payment=payment, actor=system_user, comment="callback", reference="CB"
            )
            raise ProviderError("no such order", code="unknown_order")

    result = services.payment_check_status(payment=payment, actor=system_user, adapter=Gateway())
    assert result.status == Payment.Status.VERIFIED
    assert not result.events.filter(kind="expired").exists()
