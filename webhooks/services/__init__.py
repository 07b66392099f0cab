"""Writes of outgoing webhooks, one module per concept; the public names are re-exported here.

- ``endpoints``: receivers, their event types and signing secrets;
- ``outbox``: ``event_emit`` / ``event_emit_many``, written in the caller's transaction;
- ``dispatch``: handing deliveries to Celery after commit, and the sweeper;
- ``delivery``: claim, attempt, record, the retry schedule and the failure case;
- ``sending``: one signed, time-bounded POST;
- ``replay``: one event again, or the failures of a time range.

Reads live in ``webhooks.selectors``, the lock order in ``webhooks.locks``, the error codes in
``webhooks.errors``.
"""

from webhooks.selectors import deliveries_due
from webhooks.services.common import DELIVERY_JOB
from webhooks.services.delivery import (
    FAST_RETRY_MAX_SECONDS,
    LEASE,
    LOST_ATTEMPT_ERROR,
    MAX_ATTEMPTS,
    SCHEDULE,
    delivery_attempt,
)
from webhooks.services.dispatch import deliveries_sweep, enqueue_deliveries
from webhooks.services.endpoints import (
    SECRET_OVERLAP,
    endpoint_create,
    endpoint_disable,
    endpoint_rotate_secret,
    endpoint_update,
    event_types_clean,
)
from webhooks.services.outbox import (
    FORBIDDEN_DATA_KEYS,
    event_emit,
    event_emit_bulk,
    event_emit_many,
    event_id_for,
)
from webhooks.services.replay import deliveries_replay_failed, event_replay
from webhooks.services.sending import (
    ATTEMPT_DEADLINE_SECONDS,
    EXCERPT_BYTES,
    EXCERPT_CHARS,
    MAX_RETRY_AFTER,
    TIMEOUT_SECONDS,
    Outcome,
    parse_retry_after,
)

__all__ = [
    "ATTEMPT_DEADLINE_SECONDS",
    "DELIVERY_JOB",
    "EXCERPT_BYTES",
    "EXCERPT_CHARS",
    "FAST_RETRY_MAX_SECONDS",
    "FORBIDDEN_DATA_KEYS",
    "LEASE",
    "LOST_ATTEMPT_ERROR",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "SCHEDULE",
    "SECRET_OVERLAP",
    "TIMEOUT_SECONDS",
    "Outcome",
    "deliveries_due",
    "deliveries_replay_failed",
    "deliveries_sweep",
    "delivery_attempt",
    "endpoint_create",
    "endpoint_disable",
    "endpoint_rotate_secret",
    "endpoint_update",
    "enqueue_deliveries",
    "event_emit",
    "event_emit_bulk",
    "event_emit_many",
    "event_id_for",
    "event_replay",
    "event_types_clean",
    "parse_retry_after",
]
