"""SSRF guard: webhook URLs must resolve to public addresses only.

Refused: loopback, private (RFC 1918, ULA), link-local (incl. 169.254.169.254 metadata), shared,
reserved, multicast and unspecified addresses, unless ``settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE``.
IPv6 addresses that embed an IPv4 address a relay would forward to (IPv4-mapped ``::ffff:0:0/96``,
6to4 ``2002::/16``) are judged by that IPv4 address; Teredo (``2001::/32``) and NAT64
(``64:ff9b::/96``, inside the reserved ``::/8``) are refused outright.
The URL must also be one the HTTP client accepts (``httpx.URL``: an IDN host that IDNA refuses,
e.g. ``http://☃.net/``, is refused here rather than failing every delivery).
The check runs when an endpoint is saved and again before every delivery (DNS may change);
the delivery then connects to the very address that was checked (no second lookup to rebind).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from core.errors import DomainError
from webhooks.errors import WebhookError

ALLOWED_SCHEMES = ("http", "https")


class UnsafeUrl(DomainError):
    """A refused webhook URL: a ``WebhookError.URL_*`` code, 400, the reason on ``url``."""

    def __init__(self, message: str, code: WebhookError = WebhookError.URL_REFUSED) -> None:
        super().__init__(code.code, message, status_code=code.status, fields={"url": [message]})


TEREDO = ipaddress.IPv6Network("2001::/32")


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in TEREDO:
            return False  # a tunnel to an obfuscated IPv4 client: never a webhook receiver
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address.sixtofour is not None:  # 2002:AABB:CCDD::/48 relays to AA.BB.CC.DD
            address = address.sixtofour
        # NAT64 (64:ff9b::/96) lies in ::/8, reserved: refused whatever it embeds.
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(
            f"The host {host!r} does not resolve ({exc}).", WebhookError.URL_UNRESOLVABLE
        ) from None
    seen: list[str] = []
    for info in infos:
        address = info[4][0].split("%", 1)[0]  # drop an IPv6 zone
        if address not in seen:
            seen.append(address)
    return seen


def check_url(url: str, *, allow_private: bool | None = None) -> list[str]:
    """Return the addresses ``url`` resolves to, or raise ``UnsafeUrl``.

    Every address must be public: one private answer among public ones is refused too.
    """
    if allow_private is None:
        allow_private = settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE
    try:
        parsed = httpx.URL(url)  # what the delivery will use: it must accept the URL too
    except (httpx.InvalidURL, ValueError) as exc:  # idna errors are UnicodeError (ValueError)
        raise UnsafeUrl(
            f"The webhook URL is not valid ({exc}).", WebhookError.URL_INVALID
        ) from None
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl("Webhook URLs use http or https.", WebhookError.URL_INVALID)
    if not parts.hostname:
        raise UnsafeUrl("The webhook URL has no host.", WebhookError.URL_INVALID)
    if parts.username or parts.password:
        raise UnsafeUrl("Webhook URLs may not carry credentials.", WebhookError.URL_INVALID)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("The webhook URL has an invalid port.", WebhookError.URL_INVALID) from None
    # The IDNA (punycode) form the HTTP client sends: ASCII, resolvable, as in the Host header.
    addresses = resolve(parsed.raw_host.decode("ascii"), port)
    if not addresses:
        raise UnsafeUrl(
            f"The host {parts.hostname!r} does not resolve.", WebhookError.URL_UNRESOLVABLE
        )
    if not allow_private:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address)):
                raise UnsafeUrl(
                    f"The webhook URL resolves to {address}, a loopback, private, link-local or "
                    "reserved address; such targets are refused."
                )
    return addresses
