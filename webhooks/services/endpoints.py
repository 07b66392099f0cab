"""Endpoints: an integrator's receivers, their event types and their signing secrets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from core.audit import save_audited
from core.models import Organization
from webhooks import registry, signing, ssrf
from webhooks.errors import WebhookError
from webhooks.locks import endpoint_lock
from webhooks.models import WebhookEndpoint
from webhooks.services.common import now_or_current

SECRET_OVERLAP = dt.timedelta(hours=24)


def _invalid_event_type(message: str):
    return WebhookError.INVALID_EVENT_TYPE.error(message, fields={"event_types": [message]})


def event_types_clean(event_types: Iterable[str]) -> list[str]:
    """Exact registered types, ``<resource>.*`` for a resource with registered types, or ``*``."""
    cleaned: list[str] = []
    for value in event_types:
        if not isinstance(value, str) or not registry.EVENT_PATTERN_RE.match(value):
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
        event_types=event_types_clean(event_types),
        secret=signing.new_secret(),
        created_at=now_or_current(now),
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
    endpoint = endpoint_lock(endpoint)
    if url is not None and url != endpoint.url:
        ssrf.check_url(url)
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = event_types_clean(event_types)
    if description is not None:
        endpoint.description = description
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        if enabled:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
        else:
            endpoint.disabled_reason = f"disabled by {actor}"
            endpoint.disabled_at = now_or_current(now)
    return save_audited(endpoint, actor=actor, reason="endpoint updated")


@transaction.atomic
def endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str, actor, now: dt.datetime | None = None
) -> WebhookEndpoint:
    endpoint = endpoint_lock(endpoint)
    if not endpoint.enabled:
        return endpoint
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = now_or_current(now)
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
    now = now_or_current(now)
    endpoint = endpoint_lock(endpoint)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + overlap
    endpoint.secret = signing.new_secret()
    endpoint.secret_rotated_at = now
    return save_audited(endpoint, actor=actor, reason="secret rotated")
