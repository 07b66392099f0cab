"""The customer context (name, phone): stored apart, erased after the retention period.

``APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS`` (environment, default 30) counts from the end of
the appointment's slot. The erasure deletes the row: the table has no history, so nothing of it
is left; an ``customer_context_erased`` event (no data) records that it happened.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from appointments import events
from appointments.models import Appointment, CustomerContext


def retention_days() -> int:
    return int(settings.APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS)


def customer_context_erase_expired(*, organization, now: dt.datetime, actor) -> dict[str, int]:
    """Erase the customer context of the organisation's appointments whose slot ended more
    than ``retention_days()`` before ``now``. Idempotent."""
    cutoff = now - dt.timedelta(days=retention_days())
    ids = list(
        CustomerContext.objects.filter(
            organization=organization, appointment__ends_at__lt=cutoff
        ).values_list("appointment_id", flat=True)
    )
    erased = 0
    for appointment_id in ids:
        with transaction.atomic():
            deleted, _ = CustomerContext.objects.filter(appointment_id=appointment_id).delete()
            if deleted:
                events.customer_context_erased(
                    Appointment.objects.get(pk=appointment_id),
                    actor=actor,
                    reason=f"retention of {retention_days()} days passed",
                )
                erased += 1
    return {"customer_contexts_erased": erased}
