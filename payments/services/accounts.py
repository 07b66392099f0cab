"""Provider accounts: the gateway URL payops may send an account's credentials to."""

from __future__ import annotations

import logging

from django.conf import settings

from payments.errors import PaymentError

logger = logging.getLogger("payops.payments")


# Gateways whose API host is known: an account's base_url must name one of these hosts
# (extend with settings.PAYOPS_GATEWAY_HOSTS = {"arca": [...], ...}, e.g. a bank's own BPC host).
GATEWAY_HOSTS: dict[str, tuple[str, ...]] = {
    "arca": ("ipay.arca.am", "ipaytest.arca.am"),
    "ameria": ("services.ameriabank.am", "servicestest.ameriabank.am"),
}


def provider_account_check_base_url(*, provider: str, url: str) -> None:
    """Refuse a gateway base URL payops must not send credentials to.

    https only (http is allowed with DEBUG, for a local sandbox); for ArCa and Ameria the host
    must be a known gateway host (``GATEWAY_HOSTS`` plus ``settings.PAYOPS_GATEWAY_HOSTS``);
    for the others it must resolve to public addresses only (``webhooks.ssrf``; private ones
    allowed with DEBUG).
    """
    from urllib.parse import urlsplit

    from webhooks import ssrf

    parts = urlsplit(url)
    if parts.scheme != "https" and not (settings.DEBUG and parts.scheme == "http"):
        raise PaymentError.BASE_URL_REFUSED.error("The gateway URL must use https.")
    if not parts.hostname or parts.username or parts.password:
        raise PaymentError.BASE_URL_REFUSED.error(
            "The gateway URL needs a host and no credentials."
        )
    extra = settings.PAYOPS_GATEWAY_HOSTS
    known = (*GATEWAY_HOSTS.get(provider, ()), *extra.get(provider, ()))
    if provider in GATEWAY_HOSTS or provider in extra:
        if parts.hostname.lower() not in {host.lower() for host in known}:
            raise PaymentError.BASE_URL_REFUSED.error(
                f"{parts.hostname} is not a known {provider} gateway host "
                f"({', '.join(known)}; more with the PAYOPS_GATEWAY_HOSTS variable)."
            )
        return
    try:
        ssrf.check_url(url, allow_private=settings.DEBUG)
    except ssrf.UnsafeUrl as exc:
        raise PaymentError.BASE_URL_REFUSED.error(exc.message) from None


def provider_account_check_config(*, config: dict | None) -> None:
    """Refuse a ``config`` holding a key that names a host (``base_url``, ``payment_url``,
    ``callback_url``, ...) or a URL value: the gateway URL is the checked ``base_url`` column
    only, so ``config`` cannot point the account's credentials at another host."""
    from payments.providers.registry import config_host_keys

    if config is not None and not isinstance(config, dict):
        raise PaymentError.CONFIG_REFUSED.error(
            "config must be a JSON object.", fields={"config": ["Must be a JSON object."]}
        )
    refused = config_host_keys(config)
    if refused:
        message = (
            f"config may not name a host ({', '.join(refused)}): set the gateway URL in "
            "base_url, where it is checked."
        )
        raise PaymentError.CONFIG_REFUSED.error(message, fields={"config": [message]})


def provider_account_check(*, provider: str, base_url: str, config: dict | None) -> None:
    """Every rule about where an account's credentials may go: the ``base_url`` column
    (``provider_account_check_base_url``) and no host in ``config``."""
    provider_account_check_config(config=config)
    if base_url:
        provider_account_check_base_url(provider=provider, url=base_url)
