"""The one writer of the delivery log: append-only ``WebhookAttempt`` rows, one per attempt.

(Delivery state changes are audited by ``core.audit.save_audited``: a history row naming the
system actor and a reason.)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from webhooks.models import WebhookAttempt, WebhookDelivery

if TYPE_CHECKING:
    from webhooks.services.sending import Outcome


def attempt_log_write(
    *,
    delivery: WebhookDelivery,
    attempt: int,
    started_at: dt.datetime,
    outcome: Outcome | None = None,
    error: str = "",
    next_attempt_at: dt.datetime | None = None,
) -> WebhookAttempt:
    """Log attempt number ``attempt`` of ``delivery``: its ``outcome``, or (without one) an
    attempt lost with ``error``."""
    row = WebhookAttempt(
        delivery=delivery, attempt=attempt, started_at=started_at, next_attempt_at=next_attempt_at
    )
    row.error = error
    if outcome is not None:
        row.status_code, row.duration_ms = outcome.status_code, outcome.duration_ms
        row.error, row.response_excerpt = outcome.error, outcome.excerpt
        if outcome.retry_after is not None:
            row.retry_after_seconds = int(outcome.retry_after.total_seconds())
    row.save(force_insert=True)
    return row


def attempt_logged(*, delivery: WebhookDelivery, attempt: int) -> bool:
    return WebhookAttempt.objects.filter(delivery=delivery, attempt=attempt).exists()
