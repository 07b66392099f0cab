"""The one writer of the delivery log: append-only ``WebhookAttempt`` rows, one per attempt.

(Delivery state changes are audited by ``core.audit.save_audited``: a history row naming the
system actor and a reason.)
"""

from __future__ import annotations

import datetime as dt

from webhooks.models import WebhookAttempt, WebhookDelivery


def attempt_log_write(
    *,
    delivery: WebhookDelivery,
    attempt: int,
    started_at: dt.datetime,
    error: str = "",
    status_code: int | None = None,
    duration_ms: int = 0,
    response_excerpt: str = "",
    retry_after: dt.timedelta | None = None,
    next_attempt_at: dt.datetime | None = None,
) -> WebhookAttempt:
    """Log attempt number ``attempt`` of ``delivery`` (an outcome, or an attempt lost)."""
    return WebhookAttempt.objects.create(
        delivery=delivery,
        attempt=attempt,
        started_at=started_at,
        status_code=status_code,
        duration_ms=duration_ms,
        error=error,
        response_excerpt=response_excerpt,
        retry_after_seconds=int(retry_after.total_seconds()) if retry_after is not None else None,
        next_attempt_at=next_attempt_at,
    )


def attempt_logged(*, delivery: WebhookDelivery, attempt: int) -> bool:
    return WebhookAttempt.objects.filter(delivery=delivery, attempt=attempt).exists()
