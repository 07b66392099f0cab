"""Reads for provider payments."""

from __future__ import annotations

from payments.models import Payment, ProviderAccount


def provider_account_get(*, organization, provider: str) -> ProviderAccount | None:
    return ProviderAccount.objects.filter(
        organization=organization, provider=provider, is_active=True
    ).first()


def payment_list(*, organization):
    return Payment.objects.filter(organization=organization).select_related("branch")
