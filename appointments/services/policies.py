"""Cancellation policies: versioned, never edited. Posting a code again makes its next version;
requests keep the version in force when they were made."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from appointments.errors import AppointmentError
from appointments.models import CancellationPolicy
from core.models import Organization


def policy_current(*, organization: Organization, code: str) -> CancellationPolicy | None:
    """The version of ``code`` in force now (the newest)."""
    return (
        CancellationPolicy.objects.filter(organization=organization, code=code)
        .order_by("-version")
        .first()
    )


def policy_in_force(policy: CancellationPolicy) -> CancellationPolicy:
    """The newest version of ``policy``'s code."""
    return policy_current(organization=policy.organization, code=policy.code) or policy


@transaction.atomic
def policy_create(
    *,
    organization: Organization,
    code: str,
    window_hours: int,
    refund_percent_before: Decimal,
    refund_percent_after: Decimal,
    no_show_refund_percent: Decimal,
    actor,
) -> CancellationPolicy:
    """Write the next version of ``code`` (version 1 for a new code). Old versions stay as they
    were: requests made under them keep them."""
    code = code.strip()
    if not code:
        raise AppointmentError.POLICY_NOT_FOUND.error(
            "A policy needs a code.", fields={"code": ["This field is required."]}
        )
    # Versions of one organisation are numbered under its row lock: two posts of one code at
    # once get versions n and n+1, never one unique-constraint failure.
    Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk).first()
    latest = CancellationPolicy.objects.filter(organization=organization, code=code).aggregate(
        v=Max("version")
    )["v"]
    return CancellationPolicy.objects.create(
        organization=organization,
        code=code,
        version=(latest or 0) + 1,
        window_hours=window_hours,
        refund_percent_before=refund_percent_before,
        refund_percent_after=refund_percent_after,
        no_show_refund_percent=no_show_refund_percent,
        created_by=actor,
    )
