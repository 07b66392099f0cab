"""What the reconciliation commands share: the organisation by slug, errors as sentences."""

from __future__ import annotations

from django.core.management.base import CommandError

from core.errors import DomainError
from core.models import Organization


def organization_by_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"There is no organisation {slug!r}.")
    return organization


def refused(exc: DomainError) -> CommandError:
    return CommandError(f"{exc.message} ({exc.code})")
