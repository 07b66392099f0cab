"""Writes for provider payments. Every change runs here, under a row lock, with audit rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.audit import save_audited
from core.errors import DomainError
from core.money import CURRENCIES, round_money
from payments.models import Payment, PaymentEvent


def _check_branch(organization, branch) -> None:
    if branch.organization_id != organization.pk:
        raise DomainError(
            "branch_not_found", "The branch does not belong to this organisation.", status_code=404
        )


@transaction.atomic
def payment_create(
    *,
    organization,
    branch,
    provider: str,
    purpose: str,
    amount: Decimal,
    currency: str,
    actor,
    description: str = "",
    window_seconds: int | None = None,
) -> Payment:
    """A pending payment with our order number; the order is registered at the gateway later."""
    _check_branch(organization, branch)
    if provider not in Payment.Provider.values:
        raise DomainError("unknown_provider", f"Unknown provider {provider!r}.", status_code=400)
    if purpose not in Payment.Purpose.values:
        raise DomainError("unknown_purpose", f"Unknown purpose {purpose!r}.", status_code=400)
    if currency not in CURRENCIES:
        raise DomainError(
            "unsupported_currency", f"Unsupported currency {currency!r}.", status_code=400
        )
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    amount = round_money(amount, currency)
    if amount <= 0:
        raise DomainError("invalid_amount", "The amount must be positive.", status_code=400)
    if window_seconds is None:
        from payments.selectors import provider_account_get

        account = provider_account_get(organization=organization, provider=provider)
        window_seconds = account.payment_window_seconds if account else 1200
    now = timezone.now()
    payment = Payment(
        organization=organization,
        branch=branch,
        provider=provider,
        purpose=purpose,
        amount=amount,
        currency=currency,
        description=description[:255],
        expires_at=now + timedelta(seconds=window_seconds),
        next_check_at=now + timedelta(seconds=_first_check_delay()),
    )
    save_audited(payment, actor=actor, reason="payment created")
    PaymentEvent.objects.create(
        organization=organization,
        payment=payment,
        kind=PaymentEvent.Kind.CREATED,
        to_status=payment.status,
        amount=amount,
        currency=currency,
        actor=actor,
    )
    return payment


def _first_check_delay() -> int:
    from payments.janitor import BACKOFF_SECONDS

    return BACKOFF_SECONDS[0]
