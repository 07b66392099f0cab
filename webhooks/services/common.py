"""What every webhooks service module shares: the delivery job's actor name and the time."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

DELIVERY_JOB = "webhooks.deliver"  # the system actor of deliveries


def now_or_current(now: dt.datetime | None) -> dt.datetime:
    """``now`` when a caller (a test, a replay) gives it, else the current time."""
    return now if now is not None else timezone.now()
