"""Writes of outgoing webhooks: endpoints, the outbox (``event_emit``), delivery and replay.

Delivery is at-least-once with a stable ``webhook-id``: an attempt is claimed in a short
transaction (row lock, state check, a lease in ``next_attempt_at``), the HTTP request runs outside
any transaction, and its outcome is recorded in a second short transaction. A task redelivered
by the broker (late acks), a duplicate from the sweeper, or a worker that died mid-request all
end in at most one more attempt, never in two concurrent ones.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed
from simple_history.utils import bulk_create_with_history

from core.actors import system_actor
from core.audit import save_audited
from core.errors import DomainError
from core.models import Organization
from core.queueing import enqueue
from webhooks import registry, signing, ssrf
from webhooks.exception_kinds import WEBHOOK_DELIVERY_FAILED
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.transport import deadline_transport

logger = logging.getLogger(__name__)
DELIVERY_JOB = "webhooks.deliver"  # the system actor of deliveries

# The Standard Webhooks retry schedule: the delay before attempt n (1-based) is SCHEDULE[n-1].
SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(0),
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
    dt.timedelta(hours=20),
    dt.timedelta(hours=24),
)
MAX_ATTEMPTS = len(SCHEDULE)
# Each network operation (connect, each read or write) times out after TIMEOUT_SECONDS, and the
# whole attempt (connect, send, headers, excerpt) ends by ATTEMPT_DEADLINE_SECONDS, whatever the
# receiver does (webhooks.transport).
TIMEOUT_SECONDS = 10.0
ATTEMPT_DEADLINE_SECONDS = 15.0
# A claimed attempt holds the row this long (four times the attempt deadline, for the DNS check
# and the two short transactions around it); a worker that died mid-request leaves it to the
# sweeper afterwards, and a late outcome after someone else claimed the row is ignored.
LEASE = dt.timedelta(seconds=60)
MAX_RETRY_AFTER = dt.timedelta(hours=24)
# Retries due within this many seconds are also queued with a countdown (fast path).
FAST_RETRY_MAX_SECONDS = 30
SECRET_OVERLAP = dt.timedelta(hours=24)
EXCERPT_CHARS = 1000
EXCERPT_BYTES = 4 * EXCERPT_CHARS  # read at most this much of an answer

EVENT_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
EVENT_PATTERN_RE = re.compile(r"^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*))$")
# Thin payloads: ids, statuses, amounts. These keys would carry personal or medical data.
FORBIDDEN_DATA_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "address",
        "birth_date",
        "date_of_birth",
        "pan",
        "masked_pan",
        "card_number",
        "diagnosis",
        "treatment",
        "medical_notes",
        "patient_name",
    }
)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else timezone.now()


# --- endpoints --------------------------------------------------------------------------------


def _invalid_event_type(message: str) -> DomainError:
    return DomainError(
        "invalid_event_type",
        message,
        status_code=400,
        fields={"event_types": [message]},
    )


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    """Exact registered types, ``<resource>.*`` for a resource with registered types, or ``*``."""
    cleaned: list[str] = []
    for value in event_types:
        if not isinstance(value, str) or not EVENT_PATTERN_RE.match(value):
            raise _invalid_event_type(
                f"{value!r} is not an event type: use <resource>.<status>, <resource>.* or *."
            )
        if not registry.pattern_is_known(value):
            raise _invalid_event_type(
                f"{value!r} is not an event type payops sends. Known: "
                f"{', '.join(registry.known_event_types())}; or <resource>.* "
                f"({', '.join(registry.known_resources())}), or *."
            )
        if value not in cleaned:
            cleaned.append(value)
    if not cleaned:
        raise _invalid_event_type("List at least one event type.")
    return cleaned


@transaction.atomic
def endpoint_create(
    *,
    organization: Organization,
    url: str,
    event_types: Iterable[str],
    actor,
    description: str = "",
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    """A new receiver with a fresh ``whsec_`` secret (read it from the returned row, once)."""
    ssrf.check_url(url)
    endpoint = WebhookEndpoint(
        organization=organization,
        url=url,
        description=description,
        event_types=_clean_event_types(event_types),
        secret=signing.new_secret(),
        created_at=_now(now),
    )
    return save_audited(endpoint, actor=actor, reason="endpoint created")


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if url is not None and url != endpoint.url:
        ssrf.check_url(url)
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = _clean_event_types(event_types)
    if description is not None:
        endpoint.description = description
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        if enabled:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
        else:
            endpoint.disabled_reason = f"disabled by {actor}"
            endpoint.disabled_at = _now(now)
    return save_audited(endpoint, actor=actor, reason="endpoint updated")


@transaction.atomic
def endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str, actor, now: dt.datetime | None = None
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.enabled:
        return endpoint
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = _now(now)
    return save_audited(endpoint, actor=actor, reason=f"disabled: {reason}")


@transaction.atomic
def endpoint_rotate_secret(
    *,
    endpoint: WebhookEndpoint,
    actor,
    overlap: dt.timedelta = SECRET_OVERLAP,
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    """New secret now; the old one keeps signing (a second v1 signature) until the overlap ends."""
    now = _now(now)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + overlap
    endpoint.secret = signing.new_secret()
    endpoint.secret_rotated_at = now
    return save_audited(endpoint, actor=actor, reason="secret rotated")


# --- the outbox -------------------------------------------------------------------------------


def event_id_for(
    *, organization: Organization, event_type: str, subject: str, subject_id: str, dedup: str
) -> str:
    """``msg_`` + 32 hex digits of SHA-256 over the transition: the same transition, the same id."""
    raw = "\x1f".join([str(organization.pk), event_type, subject, str(subject_id), str(dedup)])
    return "msg_" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _subject_label(subject: Any) -> str:
    if isinstance(subject, models.Model):
        return subject._meta.label_lower
    if isinstance(subject, type) and issubclass(subject, models.Model):
        return subject._meta.label_lower
    return str(subject)


def _check_thin(data: Any, path: str = "data") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in FORBIDDEN_DATA_KEYS:
                raise ValueError(
                    f"Webhook payloads are thin (ids, statuses, amounts): {path}.{key} "
                    "looks like personal or medical data."
                )
            _check_thin(value, f"{path}.{key}")
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            _check_thin(value, f"{path}[{i}]")
    elif isinstance(data, float):
        raise TypeError(f"{path}: amounts are Decimal (sent as strings), never float.")


def _utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _event_row(
    *,
    organization: Organization,
    event_type: str,
    subject: Any,
    subject_id: Any,
    data: dict[str, Any],
    dedup: Any,
    now: dt.datetime,
) -> WebhookEvent:
    """The (unsaved) outbox row of one transition, with the exact body that will be signed."""
    if not EVENT_TYPE_RE.match(event_type or ""):
        raise ValueError(f"{event_type!r} is not an event type of the form <resource>.<status>.")
    if not registry.is_known(event_type):
        # Still written (the change must not fail over a webhook), but no endpoint can ask for
        # it: the emitting app should call webhooks.registry.register_event_types.
        logger.warning("webhook event type %s is not registered", event_type)
    _check_thin(data)
    subject_label = _subject_label(subject)
    clean = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    body = json.dumps(
        {"type": event_type, "timestamp": _utc_iso(now), "data": clean},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return WebhookEvent(
        id=event_id_for(
            organization=organization,
            event_type=event_type,
            subject=subject_label,
            subject_id=str(subject_id),
            dedup=str(dedup),
        ),
        organization=organization,
        event_type=event_type,
        subject_type=subject_label,
        subject_id=str(subject_id),
        dedup=str(dedup)[:255],
        data=clean,
        body=body,
        created_at=now,
    )


def _queue_deliveries(
    organization: Organization, events: list[WebhookEvent], now: dt.datetime
) -> None:
    """One delivery per (event, enabled endpoint listening to its type), queued after commit."""
    endpoints = list(WebhookEndpoint.objects.filter(organization=organization, enabled=True))
    deliveries = [
        WebhookDelivery(
            event=event,
            endpoint=endpoint,
            organization=organization,
            next_attempt_at=now,
            created_at=now,
        )
        for event in events
        for endpoint in endpoints
        if endpoint.accepts(event.event_type)
    ]
    if not deliveries:
        return
    deliveries = bulk_create_with_history(
        deliveries,
        WebhookDelivery,
        default_user=system_actor(DELIVERY_JOB),
        default_change_reason="queued",
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(functools.partial(enqueue_deliveries, ids), robust=True)


@transaction.atomic
def event_emit(
    *,
    organization: Organization,
    event_type: str,
    subject: Any,
    subject_id: Any,
    data: dict[str, Any],
    dedup: Any,
    now: dt.datetime | None = None,
) -> WebhookEvent:
    """Write one outbox row for a state transition, inside the caller's transaction.

    The row's id is derived from (organization, event_type, subject, subject_id, dedup): calling
    this twice for one transition returns the first row and writes nothing. One delivery is
    written per enabled endpoint listening to ``event_type``; they are queued after commit, and
    the beat sweeper sends any whose fast path was lost (broker down, worker crash).
    """
    now = _now(now)
    event = _event_row(
        organization=organization,
        event_type=event_type,
        subject=subject,
        subject_id=subject_id,
        data=data,
        dedup=dedup,
        now=now,
    )
    existing = WebhookEvent.objects.filter(pk=event.pk).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:  # a concurrent emit of the same transition won
        return WebhookEvent.objects.get(pk=event.pk)
    _queue_deliveries(organization, [event], now)
    return event


@transaction.atomic
def event_emit_many(
    *, organization: Organization, events: list[dict[str, Any]], now: dt.datetime | None = None
) -> list[WebhookEvent]:
    """``event_emit`` for many transitions of one organisation at once (a period build): a few
    statements in all instead of a few per event. Each item of ``events`` holds the keyword
    arguments of ``event_emit`` (event_type, subject, subject_id, data, dedup). Returns the
    rows in order; transitions already emitted are returned as they were, not written again."""
    now = _now(now)
    rows = [_event_row(organization=organization, now=now, **item) for item in events]
    existing = WebhookEvent.objects.in_bulk([row.pk for row in rows])
    fresh = list({row.pk: row for row in rows if row.pk not in existing}.values())
    try:
        with transaction.atomic():
            WebhookEvent.objects.bulk_create(fresh)
    except IntegrityError:  # a concurrent emit won for some: fall back to one at a time
        return [event_emit(organization=organization, now=now, **item) for item in events]
    _queue_deliveries(organization, fresh, now)
    written = {row.pk: row for row in fresh}
    return [existing.get(row.pk) or written[row.pk] for row in rows]


def enqueue_deliveries(delivery_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Hand deliveries to Celery. Never raises: with the broker down the rows stay due in the
    database and the sweeper queues them once it is back. Returns how many were queued."""
    from webhooks.tasks import deliver

    return enqueue(deliver, ([delivery_id] for delivery_id in delivery_ids), countdown=countdown)


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""
    retry_after: dt.timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, *, now: dt.datetime) -> dt.timedelta | None:
    """``Retry-After`` as delay seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(dt.timedelta(seconds=int(value)), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max(when - now, dt.timedelta(0)), MAX_RETRY_AFTER)


def _transport(deadline: float) -> httpx.BaseTransport:
    """The HTTP transport of one attempt (tests swap it for an ``httpx.MockTransport``)."""
    return deadline_transport(deadline)


def _read_excerpt(response: httpx.Response) -> str:
    """At most ``EXCERPT_BYTES`` of the answer (never the whole body into memory), as text."""
    buffer = bytearray()
    for chunk in response.iter_raw():
        buffer += chunk
        if len(buffer) >= EXCERPT_BYTES:
            break
    return bytes(buffer[:EXCERPT_BYTES]).decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _send(endpoint: WebhookEndpoint, event: WebhookEvent, *, now: dt.datetime) -> Outcome:
    """One signed POST of exactly the stored body bytes, to the address that passed the guard.

    Never raises: whatever goes wrong (a refused or unusable URL, a network error, the deadline,
    a bug) is the attempt's outcome, so the attempt is always recorded and retried or failed.
    The whole exchange ends within ``ATTEMPT_DEADLINE_SECONDS`` (at most a quarter of ``LEASE``).
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    # Never more than a quarter of the lease, whatever the two settings say.
    limit = min(ATTEMPT_DEADLINE_SECONDS, LEASE.total_seconds() / 4)
    try:
        return _post(endpoint, event, now=now, deadline=started + limit)
    except ssrf.UnsafeUrl as exc:
        return Outcome(None, elapsed(), error=f"refused: {exc.message}"[:2000])
    except httpx.TimeoutException as exc:
        error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() - started >= limit:
            error = f"no complete answer within {limit:g} s ({error})"
        return Outcome(None, elapsed(), error=error[:2000])
    except Exception as exc:  # anything else is a failed attempt too, never a lost one
        if not isinstance(exc, httpx.HTTPError):
            logger.exception("webhook attempt to endpoint %s raised", endpoint.pk)
        return Outcome(None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:2000])


def _post(
    endpoint: WebhookEndpoint, event: WebhookEvent, *, now: dt.datetime, deadline: float
) -> Outcome:
    started = time.monotonic()
    addresses = ssrf.check_url(endpoint.url)
    addresses = sorted(addresses, key=lambda address: ":" in address)  # IPv4 first
    url = httpx.URL(endpoint.url)
    headers = signing.headers(
        secrets_=endpoint.signing_secrets(now), msg_id=event.id, timestamp=now, body=event.body
    )
    # Connect to the checked address (no second DNS lookup that could rebind), keeping the
    # original Host header and TLS server name.
    headers["host"] = url.netloc.decode("ascii")
    headers["accept-encoding"] = "identity"  # the excerpt is read raw, never decompressed
    # The ASCII (IDNA) host name: url.host would decode punycode and may raise for odd labels.
    sni = url.raw_host.decode("ascii")
    extensions = {"sni_hostname": sni} if url.scheme == "https" else {}
    target = url.copy_with(host=addresses[0])
    with httpx.Client(
        transport=_transport(deadline),
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
    ) as client:
        request = client.build_request(
            "POST",
            target,
            content=event.body.encode("utf-8"),
            headers=headers,
            extensions=extensions,
        )
        response = client.send(request, stream=True)
        try:
            excerpt = _read_excerpt(response)
        finally:
            response.close()
    return Outcome(
        response.status_code,
        int((time.monotonic() - started) * 1000),
        error="" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}",
        excerpt=excerpt,
        retry_after=parse_retry_after(response.headers.get("retry-after"), now=timezone.now()),
    )


LOST_ATTEMPT_ERROR = "no outcome recorded: the worker stopped, or answered after its lease expired"


@transaction.atomic
def _claim(delivery_id: int, *, now: dt.datetime) -> WebhookDelivery | None:
    """Take the next attempt of a due delivery: row lock, state and due-time check, a lease.

    If the previous attempt was claimed but never recorded (its worker died, or its outcome came
    after the lease expired), it is logged as lost first; if it was the last one the schedule
    allows, the delivery fails here (with its exception case) instead of being retried for ever.
    """
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event", "organization")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:  # gone, or another worker holds it right now
        return None
    if delivery.status != WebhookDelivery.Status.PENDING or delivery.next_attempt_at > now:
        return None  # done already, or not due (a duplicate task, or a live lease)
    actor = system_actor(DELIVERY_JOB)
    if (
        delivery.round_attempts > 0
        and not WebhookAttempt.objects.filter(delivery=delivery, attempt=delivery.attempts).exists()
    ):
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempt=delivery.attempts,
            started_at=delivery.next_attempt_at - LEASE,
            error=LOST_ATTEMPT_ERROR,
        )
        if delivery.round_attempts >= MAX_ATTEMPTS:
            delivery.fail()
            delivery.failed_at = now
            delivery.next_attempt_at = None
            delivery.last_status_code = None
            delivery.last_error = LOST_ATTEMPT_ERROR
            save_audited(
                delivery,
                actor=actor,
                reason=f"attempt {delivery.attempts}: lost, no attempt left",
            )
            _raise_failure_case(delivery, actor=actor)
            return None
    delivery.attempts += 1
    delivery.round_attempts += 1
    delivery.next_attempt_at = now + LEASE
    save_audited(
        delivery,
        actor=actor,
        reason=f"attempt {delivery.attempts} started (lease {LEASE.total_seconds():g} s)",
        update_fields=["attempts", "round_attempts", "next_attempt_at"],
    )
    return delivery


def delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> WebhookDelivery | None:
    """Make the next attempt of a due delivery (claim, POST, record). None if nothing was due."""
    now = _now(now)
    delivery = _claim(delivery_id, now=now)
    if delivery is None:
        return None
    if not delivery.endpoint.enabled:
        outcome = Outcome(None, 0, error=f"endpoint disabled: {delivery.endpoint.disabled_reason}")
    else:
        outcome = _send(delivery.endpoint, delivery.event, now=now)
    return _record(delivery_id=delivery.pk, attempt=delivery.attempts, outcome=outcome, now=now)


def _failure_case_key(endpoint: WebhookEndpoint) -> str:
    return f"webhook_delivery_failed:endpoint:{endpoint.pk}"


def _raise_failure_case(delivery: WebhookDelivery, *, actor) -> None:
    """One open ``webhook_delivery_failed`` case per endpoint, refreshed by every failure."""
    from exceptionqueue.services import exception_raise

    endpoint = delivery.endpoint
    failed = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=WebhookDelivery.Status.FAILED
    ).count()
    exception_raise(
        organization=delivery.organization,
        kind=WEBHOOK_DELIVERY_FAILED,
        dedup_key=_failure_case_key(endpoint),
        message=f"Webhook deliveries to {endpoint.url} failed after retries "
        f"({failed} undelivered; last: {delivery.event.event_type} {delivery.event_id}, "
        f"{delivery.last_error or delivery.last_status_code}).",
        actor=actor,
        subject=endpoint,
        details={
            "endpoint_id": endpoint.pk,
            "failed_deliveries": failed,
            "last_event_id": delivery.event_id,
            "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error,
        },
    )


@transaction.atomic
def _record(
    *, delivery_id: int, attempt: int, outcome: Outcome, now: dt.datetime
) -> WebhookDelivery:
    from exceptionqueue.services import exception_clear

    actor = system_actor(DELIVERY_JOB)
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .select_related("endpoint", "event", "organization")
        .get(pk=delivery_id)
    )
    if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts != attempt:
        # A stale outcome: the lease expired and the row moved on (another attempt was claimed,
        # or this one was logged as lost). Recording it would overwrite a newer state.
        logger.warning(
            "webhook delivery %s: outcome of attempt %s ignored (now attempt %s, %s)",
            delivery.pk,
            attempt,
            delivery.attempts,
            delivery.status,
        )
        return delivery
    endpoint = delivery.endpoint
    next_at = None
    if outcome.ok:
        delivery.succeed()
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
        reason = f"attempt {attempt}: delivered ({outcome.status_code})"
    elif outcome.status_code == 410:
        delivery.fail()
        delivery.failed_at = now
        delivery.next_attempt_at = None
        endpoint_disable(
            endpoint=endpoint,
            reason=f"The receiver answered 410 Gone to {delivery.event_id}.",
            actor=actor,
            now=now,
        )
        reason = f"attempt {attempt}: 410 Gone, endpoint disabled"
    elif delivery.round_attempts >= MAX_ATTEMPTS or not endpoint.enabled:
        delivery.fail()
        delivery.failed_at = now
        delivery.next_attempt_at = None
        reason = f"attempt {attempt}: failed, no attempt left"
    else:
        delay = SCHEDULE[delivery.round_attempts]
        if outcome.retry_after is not None and outcome.retry_after > delay:
            delay = outcome.retry_after
        next_at = now + delay
        delivery.next_attempt_at = next_at
        reason = f"attempt {attempt}: failed, next at {next_at.isoformat()}"
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    save_audited(delivery, actor=actor, reason=reason)
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempt=attempt,
        started_at=now,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
        response_excerpt=outcome.excerpt,
        retry_after_seconds=int(outcome.retry_after.total_seconds())
        if outcome.retry_after is not None
        else None,
        next_attempt_at=next_at,
    )
    if delivery.status == WebhookDelivery.Status.FAILED:
        _raise_failure_case(delivery, actor=actor)
    elif delivery.status == WebhookDelivery.Status.SUCCEEDED:
        still_failed = WebhookDelivery.objects.filter(
            endpoint=endpoint, status=WebhookDelivery.Status.FAILED
        ).exists()
        if not still_failed:
            exception_clear(
                organization=delivery.organization,
                dedup_key=_failure_case_key(endpoint),
                actor=actor,
                note="Every failed delivery of this endpoint was delivered since.",
            )
    return delivery


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    now = _now(now)
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Queue every due delivery not queued since it became due (missed fast path, retries).

    Returns how many were queued. A delivery queued twice is harmless: the claim lets one in.
    """
    now = _now(now)
    due = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(
            models.Q(queued_at__isnull=True)
            | models.Q(queued_at__lt=models.F("next_attempt_at"))
            | models.Q(queued_at__lt=now - LEASE)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(due)
    if not ids:
        return 0
    queued = enqueue_deliveries(ids)
    if queued:
        WebhookDelivery.objects.filter(pk__in=ids[:queued]).update(queued_at=now)
    return queued


# --- replay -----------------------------------------------------------------------------------


def _replay(delivery: WebhookDelivery, *, actor, now: dt.datetime) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status == WebhookDelivery.Status.PENDING:
        return delivery  # already on its way
    try:
        delivery.replay()
    except TransitionNotAllowed:  # pragma: no cover (sources cover every other state)
        raise DomainError("transition_not_allowed", "This delivery cannot be replayed.") from None
    delivery.round_attempts = 0
    delivery.replays += 1
    delivery.next_attempt_at = now
    delivery.succeeded_at = None
    delivery.failed_at = None
    save_audited(delivery, actor=actor, reason="replayed")
    return delivery


def _enqueue_after_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(functools.partial(enqueue_deliveries, ids), robust=True)


@transaction.atomic
def event_replay(
    *,
    event: WebhookEvent,
    actor,
    endpoint: WebhookEndpoint | None = None,
    now: dt.datetime | None = None,
) -> list[WebhookDelivery]:
    """Send one event again (same ``webhook-id``, same body) to its endpoints, or one endpoint.

    An enabled endpoint that now listens to the event but had no delivery gets one.
    """
    now = _now(now)
    endpoints = WebhookEndpoint.objects.filter(organization=event.organization, enabled=True)
    if endpoint is not None:
        if endpoint.organization_id != event.organization_id:
            raise DomainError("not_found", "No such endpoint.", status_code=404)
        if not endpoint.enabled:
            raise DomainError(
                "endpoint_disabled", "Enable the endpoint before replaying to it.", status_code=409
            )
        endpoints = endpoints.filter(pk=endpoint.pk)
    replayed = []
    for target in endpoints:
        delivery = WebhookDelivery.objects.filter(event=event, endpoint=target).first()
        if delivery is None:
            if not target.accepts(event.event_type):
                continue
            delivery = WebhookDelivery(
                event=event,
                endpoint=target,
                organization=event.organization,
                next_attempt_at=now,
                created_at=now,
            )
            save_audited(delivery, actor=actor, reason="replayed to a new endpoint")
        else:
            delivery = _replay(delivery, actor=actor, now=now)
        replayed.append(delivery)
    _enqueue_after_commit([d.pk for d in replayed])
    return replayed


@transaction.atomic
def deliveries_replay_failed(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    actor,
    endpoint: WebhookEndpoint | None = None,
    now: dt.datetime | None = None,
) -> list[WebhookDelivery]:
    """Replay every failed delivery whose event happened in [start, end) (to enabled endpoints)."""
    now = _now(now)
    if end <= start:
        raise DomainError("invalid_range", "The range ends before it starts.", status_code=400)
    failed = WebhookDelivery.objects.filter(
        organization=organization,
        status=WebhookDelivery.Status.FAILED,
        event__created_at__gte=start,
        event__created_at__lt=end,
        endpoint__enabled=True,
    ).order_by("event__created_at", "pk")
    if endpoint is not None:
        failed = failed.filter(endpoint=endpoint)
    replayed = [_replay(d, actor=actor, now=now) for d in failed]
    _enqueue_after_commit([d.pk for d in replayed])
    return replayed
