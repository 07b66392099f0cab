"""``Idempotency-Key`` on every POST, with Stripe's semantics.

- The first request with a key claims it (a row committed before the handler runs).
- The handler and the storing of its response run in one database transaction: if the process
  dies half-way, nothing the handler wrote is committed and the key can be used again once stale.
- Same key, same body: the stored response is replayed (header ``Idempotent-Replayed: true``).
- Same key, another body or endpoint: 422 ``idempotency_key_reused``.
- Same key while the first request is still running: 409 ``idempotency_in_progress``.
- Responses are stored for 2xx and 4xx other than 400; a 400 (validation: the request never
  ran) and a 5xx free the key, so the client can correct or retry with the same key.
- A view may mark its answer not replayable (a secret shown once): a replay is then 409
  ``idempotency_not_replayable`` and the answer is never stored.
- Keys are kept at least 24 hours (``IDEMPOTENCY_KEY_TTL``), then purged by a beat task.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.api.errors import ApiError
from core.errors import RequestError
from core.models import ApiClient, IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class Replay(Exception):
    def __init__(self, record: IdempotencyKey) -> None:
        self.record = record


def fingerprint(method: str, path: str, body: bytes) -> str:
    path = path.rstrip("/") + "/"  # served with or without its trailing slash: one endpoint
    try:
        canonical = json.dumps(json.loads(body or b"{}"), sort_keys=True, separators=(",", ":"))
        payload = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        payload = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + payload).hexdigest()


def claim(*, client: ApiClient, key: str, method: str, path: str, body: bytes) -> IdempotencyKey:
    """Claim ``key`` for this request, or raise Replay / ApiError for the cases above."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise ApiError(
            RequestError.INVALID_IDEMPOTENCY_KEY,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters, none of them NUL.",
        )
    now = timezone.now()
    print_ = fingerprint(method, path, body)
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    api_client=client,
                    key=key,
                    method=method,
                    path=path,
                    fingerprint=print_,
                    created_at=now,
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(api_client=client, key=key).first()
            if existing is None:  # purged between our insert and read: try again
                continue
            expired = now - existing.created_at > settings.IDEMPOTENCY_KEY_TTL
            stale = (
                existing.state == IdempotencyKey.State.IN_PROGRESS
                and now - existing.created_at > settings.IDEMPOTENCY_STALE_AFTER
            )
            if expired or stale:
                # Delete only the row we looked at, so two retakers cannot both win.
                IdempotencyKey.objects.filter(
                    pk=existing.pk, created_at=existing.created_at, state=existing.state
                ).delete()
                continue
            if existing.fingerprint != print_:
                raise ApiError(RequestError.IDEMPOTENCY_KEY_REUSED) from None
            if existing.state == IdempotencyKey.State.IN_PROGRESS:
                raise ApiError(RequestError.IDEMPOTENCY_IN_PROGRESS) from None
            raise Replay(existing) from None
    raise ApiError(RequestError.IDEMPOTENCY_IN_PROGRESS, "The Idempotency-Key is contended; retry.")


def storable(status: int) -> bool:
    """Which answers are kept for replay. As Stripe: not a 400 (the request failed validation
    and never ran: fix it and retry with the same key), not a 5xx (the key is freed)."""
    return status < 500 and status != 400


def complete(record: IdempotencyKey, *, status: int, data, replayable: bool = True) -> None:
    record.state = IdempotencyKey.State.COMPLETED
    record.response_status = status
    record.replayable = replayable
    # Kept as JSON text, not a JSON column: PostgreSQL's jsonb would reorder the keys, and a
    # replay must give back the first answer as it was. Nothing is kept when not replayable.
    record.response_body = json.dumps(data, cls=DjangoJSONEncoder) if replayable else None
    record.completed_at = timezone.now()
    record.save(
        update_fields=["state", "response_status", "response_body", "replayable", "completed_at"]
    )


def replay_data(record: IdempotencyKey):
    return None if record.response_body is None else json.loads(record.response_body)


def release(record: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.IN_PROGRESS).delete()


def purge_expired() -> int:
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
