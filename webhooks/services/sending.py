"""Sending: one signed POST of an event's stored body, bounded in time and in what it reads.

The outcome of every attempt is an ``Outcome``, never an exception, so each attempt is recorded.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from dataclasses import dataclass

import httpx
from django.utils import timezone

from webhooks import signing, ssrf
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.transport import deadline_transport

logger = logging.getLogger("webhooks.services")

# Each network operation (connect, each read or write) times out after TIMEOUT_SECONDS, and the
# whole attempt (connect, send, headers, excerpt) ends by ATTEMPT_DEADLINE_SECONDS, whatever the
# receiver does (webhooks.transport), and never later than a quarter of the delivery's lease.
TIMEOUT_SECONDS = 10.0
ATTEMPT_DEADLINE_SECONDS = 15.0
MAX_RETRY_AFTER = dt.timedelta(hours=24)
EXCERPT_CHARS = 1000
EXCERPT_BYTES = 4 * EXCERPT_CHARS  # read at most this much of an answer


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


def event_send(
    endpoint: WebhookEndpoint, event: WebhookEvent, *, now: dt.datetime, lease: dt.timedelta
) -> Outcome:
    """One signed POST of exactly the stored body bytes, to the address that passed the guard.

    Never raises: whatever goes wrong (a refused or unusable URL, a network error, the deadline,
    a bug) is the attempt's outcome, so the attempt is always recorded and retried or failed.
    The whole exchange ends within ``ATTEMPT_DEADLINE_SECONDS``, at most a quarter of ``lease``.
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    # Never more than a quarter of the lease, whatever the two settings say.
    limit = min(ATTEMPT_DEADLINE_SECONDS, lease.total_seconds() / 4)
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


def _request_parts(
    endpoint: WebhookEndpoint, event: WebhookEvent, *, now: dt.datetime
) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """Where to connect (the checked address), the signed headers and the TLS extensions."""
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
    return url.copy_with(host=addresses[0]), headers, extensions


def _post(
    endpoint: WebhookEndpoint, event: WebhookEvent, *, now: dt.datetime, deadline: float
) -> Outcome:
    started = time.monotonic()
    target, headers, extensions = _request_parts(endpoint, event, now=now)
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
