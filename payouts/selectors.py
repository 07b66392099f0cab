"""Reads of Smart QR payouts."""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import Organization
from payouts.models import Payout, PayoutPeriod, Recipient


def recipient_list(*, organization: Organization) -> QuerySet[Recipient]:
    return Recipient.objects.filter(organization=organization).select_related("branch")


def recipient_get(*, organization: Organization, pk: int) -> Recipient | None:
    """A recipient of ``organization``; another organisation's does not exist (None)."""
    return (
        recipient_list(organization=organization)
        .select_related("organization")
        .filter(pk=pk)
        .first()
    )


def payout_list(*, organization: Organization) -> QuerySet[Payout]:
    return Payout.objects.filter(organization=organization).select_related("branch", "organization")


def period_list(*, organization: Organization) -> QuerySet[PayoutPeriod]:
    return PayoutPeriod.objects.filter(organization=organization)
