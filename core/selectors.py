"""Reads of the kernel."""

from __future__ import annotations

from core.models import Branch, Organization


def branch_get_by_code(*, organization: Organization, code: str) -> Branch | None:
    return Branch.objects.filter(organization=organization, code=code).first()
