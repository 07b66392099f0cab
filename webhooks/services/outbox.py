"""The outbox: one ``WebhookEvent`` row per state transition, written in the caller's transaction,
with one ``WebhookDelivery`` per enabled endpoint listening to its type."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from simple_history.utils import bulk_create_with_history

from core.actors import system_actor
from core.models import Organization
from webhooks import registry, selectors
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services.common import DELIVERY_JOB, now_or_current
from webhooks.services.dispatch import enqueue_deliveries_on_commit

logger = logging.getLogger("webhooks.services")

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


class Transition(NamedTuple):
    """What identifies and describes one state transition in the outbox."""

    event_type: str
    subject: Any  # a model, a model class, or a label
    subject_id: Any
    data: dict[str, Any]
    dedup: Any  # what makes this transition unique


def _event_values(
    organization: Organization, transition: Transition, *, now: dt.datetime
) -> tuple[str, str, str, str, str, dict, str]:
    """The outbox row of one transition: id, event type, subject type, subject id, dedup, data
    and the exact body that will be signed."""
    event_type, subject, subject_id, data, dedup = transition
    if not registry.EVENT_TYPE_RE.match(event_type or ""):
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
    event_id = event_id_for(
        organization=organization,
        event_type=event_type,
        subject=subject_label,
        subject_id=str(subject_id),
        dedup=str(dedup),
    )
    return event_id, event_type, subject_label, str(subject_id), str(dedup)[:255], clean, body


def _event_row(
    organization: Organization, transition: Transition, *, now: dt.datetime
) -> WebhookEvent:
    """The (unsaved) outbox row of one transition, with the exact body that will be signed."""
    event_id, event_type, subject_type, subject_id, dedup, data, body = _event_values(
        organization, transition, now=now
    )
    return WebhookEvent(
        id=event_id,
        organization=organization,
        event_type=event_type,
        subject_type=subject_type,
        subject_id=subject_id,
        dedup=dedup,
        data=data,
        body=body,
        created_at=now,
    )


def _deliveries_write(
    organization: Organization, events: list[WebhookEvent], now: dt.datetime, *, endpoints=None
) -> None:
    """One delivery per (event, enabled endpoint listening to its type), queued after commit."""
    if endpoints is None:
        endpoints = list(selectors.endpoints_enabled(organization=organization))
    deliveries = [
        WebhookDelivery.first_of(event, endpoint, now=now)
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
    enqueue_deliveries_on_commit([delivery.pk for delivery in deliveries])


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

    On PostgreSQL the row is written by one ``INSERT … ON CONFLICT (id) DO NOTHING RETURNING``
    that also tells whether the organisation has an enabled endpoint: one statement for an
    organisation without endpoints (it was seven: a read of the id, the insert in a savepoint,
    the endpoints' read, and this function's own savepoint). No savepoint is needed around the
    statements: nothing in here is caught and continued, so a database error fails the
    caller's transaction as it should (a refused payload is refused before any statement).
    """
    now = now_or_current(now)
    transition = Transition(event_type, subject, subject_id, data, dedup)
    event = _event_row(organization, transition, now=now)  # refuses a bad payload first
    if connection.vendor != "postgresql":
        return _event_emit_portable(organization, event, now)
    with transaction.atomic(savepoint=False):
        inserted = _insert_returning(organization, event)
        if inserted is None:  # emitted before (or by a concurrent emit that committed first)
            return WebhookEvent.objects.get(pk=event.pk)
        if inserted:
            _deliveries_write(organization, [event], now)
    return event


def _insert_returning(organization: Organization, event: WebhookEvent) -> bool | None:
    """INSERT the row unless its id exists. None: it existed; else whether the organisation
    has an enabled endpoint (read in the same statement)."""
    fields = WebhookEvent._meta.concrete_fields
    quote = connection.ops.quote_name
    endpoints = WebhookEndpoint._meta
    sql = (
        f"INSERT INTO {quote(WebhookEvent._meta.db_table)} "  # noqa: S608 - names from _meta
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(WebhookEvent._meta.pk.column)}) DO NOTHING "
        f"RETURNING EXISTS (SELECT 1 FROM {quote(endpoints.db_table)} "
        f"WHERE {quote(endpoints.get_field('organization').column)} = %s "
        f"AND {quote(endpoints.get_field('enabled').column)})"
    )
    params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, organization.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    event._state.adding = False
    event._state.db = connection.alias
    return bool(row[0])


@transaction.atomic
def _event_emit_portable(
    organization: Organization, event: WebhookEvent, now: dt.datetime
) -> WebhookEvent:
    """``event_emit`` where ``INSERT … RETURNING`` with a subquery is not at hand (SQLite)."""
    existing = selectors.event_find(event_id=event.pk)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:  # a concurrent emit of the same transition won
        return WebhookEvent.objects.get(pk=event.pk)
    _deliveries_write(organization, [event], now)
    return event


@transaction.atomic
def event_emit_many(
    *, organization: Organization, events: list[dict[str, Any]], now: dt.datetime | None = None
) -> list[WebhookEvent]:
    """``event_emit`` for many transitions of one organisation at once (a period build): a few
    statements in all instead of a few per event. Each item of ``events`` holds the keyword
    arguments of ``event_emit`` (event_type, subject, subject_id, data, dedup). Returns the
    rows in order; transitions already emitted are returned as they were, not written again."""
    now = now_or_current(now)
    rows = [_event_row(organization, Transition(**item), now=now) for item in events]
    existing = WebhookEvent.objects.in_bulk([row.pk for row in rows])
    fresh = list({row.pk: row for row in rows if row.pk not in existing}.values())
    try:
        with transaction.atomic():
            WebhookEvent.objects.bulk_create(fresh)
    except IntegrityError:  # a concurrent emit won for some: fall back to one at a time
        return [event_emit(organization=organization, now=now, **item) for item in events]
    _deliveries_write(organization, fresh, now)
    written = {row.pk: row for row in fresh}
    return [existing.get(row.pk) or written[row.pk] for row in rows]


# The temporary table ``event_emit_bulk`` loads by COPY.
EMIT_TABLE = "webhooks_emit_batch"


@transaction.atomic
def event_emit_bulk(
    *, organization: Organization, events: list[dict[str, Any]], now: dt.datetime | None = None
) -> list[str]:
    """``event_emit_many`` without a model object per event, for the set-based writers (a domain's
    due attempts and sweep): the same rows (id, exact body, thin data, deliveries per enabled
    endpoint) loaded by COPY into a temporary table and written by one ``INSERT … SELECT … ON
    CONFLICT DO NOTHING`` in the caller's transaction; a transition already emitted (before,
    or by a concurrent run) is not written again. Returns the event ids in order. PostgreSQL
    only."""
    from django.db import connection

    from core.bulk import qn, temp_table_copy

    now = now_or_current(now)
    ids, fresh = [], {}
    for item in events:
        values = _event_values(organization, Transition(**item), now=now)
        ids.append(values[0])
        fresh.setdefault(values[0], values)
    if not fresh:
        return ids
    temp_table_copy(
        EMIT_TABLE,
        [
            ("id", "text"),
            ("event_type", "text"),
            ("subject_type", "text"),
            ("subject_id", "text"),
            ("dedup", "text"),
            ("data", "jsonb"),
            ("body", "text"),
        ],
        (
            (event_id, event_type, subject_type, subject_id, dedup, json.dumps(data), body)
            for event_id, event_type, subject_type, subject_id, dedup, data, body in fresh.values()
        ),
        analyze=False,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(WebhookEvent._meta.db_table)} (id, organization_id, event_type,"  # noqa: S608
            " subject_type, subject_id, dedup, data, body, created_at)"
            " SELECT id, %s, event_type, subject_type, subject_id, dedup, data, body, %s"
            f" FROM {qn(EMIT_TABLE)} ON CONFLICT (id) DO NOTHING RETURNING id",
            [organization.pk, now],
        )
        written = {pk for (pk,) in cursor.fetchall()}
    endpoints = list(selectors.endpoints_enabled(organization=organization))
    if endpoints and written:
        rows = [
            WebhookEvent(
                id=values[0],
                organization=organization,
                event_type=values[1],
                subject_type=values[2],
                subject_id=values[3],
                dedup=values[4],
                data=values[5],
                body=values[6],
                created_at=now,
            )
            for pk, values in fresh.items()
            if pk in written
        ]
        _deliveries_write(organization, rows, now, endpoints=endpoints)
    return ids
