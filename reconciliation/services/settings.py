"""An organisation's reconciliation settings (created with the defaults on first use)."""

from __future__ import annotations

from core.models import Organization
from reconciliation.models import ReconciliationSettings


def reconciliation_settings_get(*, organization: Organization) -> ReconciliationSettings:
    settings, _ = ReconciliationSettings.objects.get_or_create(organization=organization)
    return settings
