"""The organisation's retry and dunning policy (``billing-settings/``)."""

from __future__ import annotations

from django.db import transaction

from billing.errors import BillingError
from billing.models import BillingSettings
from core.audit import save_audited

RETRY_REASONS = ("insufficient_funds", "technical_error", "link_expired", "declined")
EDITABLE = (
    "max_attempts",
    "retry_delays_hours",
    "grace_days",
    "max_reminders",
    "retry_reasons",
    "link_valid_hours",
)


def billing_settings_get(*, organization) -> BillingSettings:
    found = BillingSettings.objects.filter(organization=organization).first()
    if found is not None:
        return found
    with transaction.atomic():
        found, _ = BillingSettings.objects.get_or_create(organization=organization)
    return found


def retry_delay_hours(settings: BillingSettings, failed_number: int) -> int:
    """The wait after attempt ``failed_number`` (1-based); the last delay repeats."""
    delays = list(settings.retry_delays_hours or [24])
    return int(delays[min(failed_number, len(delays)) - 1])


@transaction.atomic
def billing_settings_update(*, organization, actor, **values) -> BillingSettings:
    """Change the policy; the whole new policy is checked before anything is saved."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    settings = billing_settings_get(organization=organization)
    settings = BillingSettings.objects.select_for_update().get(pk=settings.pk)
    for name, value in values.items():
        setattr(settings, name, value)
    delays = list(settings.retry_delays_hours)
    if len(delays) > max(settings.max_attempts - 1, 0):
        raise BillingError.RETRY_DELAYS_TOO_LONG.error(
            f"{len(delays)} delays for {settings.max_attempts} attempts: at most "
            f"{max(settings.max_attempts - 1, 0)} (one before each retry).",
            fields={"retry_delays_hours": ["More delays than retries."]},
        )
    bad = [reason for reason in settings.retry_reasons if reason not in RETRY_REASONS]
    if bad:
        raise BillingError.UNKNOWN_RETRY_REASON.error(
            f"Unknown failure reasons {bad}; known: {', '.join(RETRY_REASONS)}.",
            fields={"retry_reasons": ["Unknown reason."]},
        )
    changed = ", ".join(f"{name}={values[name]}" for name in values)
    save_audited(settings, actor=actor, reason=f"billing settings: {changed}")
    return settings
