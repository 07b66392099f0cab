"""Adapters by provider name, imported lazily, and built from an organisation's account.

Every adapter is built the same way: ``Adapter(config=<dict>, http=<httpx.Client | None>)``. The
config comes from ``ProviderAccount``: ``base_url``, ``merchant_id`` (also as ``client_id``,
``account``, ``issuer_id``), ``username``, ``password``, ``secret_key`` and everything in
``ProviderAccount.config`` (which wins) but a key naming a host (``config_host_keys``). The
sandbox needs no account: its config comes from ``payments.sandbox.adapter_config()``.
"""

from __future__ import annotations

import importlib
import logging
import re
from typing import Any

from payments.providers.base import ProviderAdapter

ADAPTERS: dict[str, str] = {
    "arca": "payments.providers.bpc:BpcAdapter",
    "sandbox": "payments.providers.bpc:SandboxAdapter",
    "ameria": "payments.providers.ameria:AmeriaAdapter",
    "idram": "payments.providers.idram:IdramAdapter",
    "telcell": "payments.providers.telcell:TelcellAdapter",
}


logger = logging.getLogger("payops.payments")

# A config key that could name where an adapter connects or sends data (``base_url``,
# ``payment_url``, ``callback_url``, a host, an endpoint...), or a value that is a URL. Such keys
# are refused in ``ProviderAccount.config`` and never used from it: the only gateway URL an
# adapter uses is the checked ``base_url`` column (issue 9 #2).
_HOST_KEY = re.compile(r"url|uri|host|endpoint|domain|server|address", re.IGNORECASE)


def config_host_keys(config: dict | None) -> list[str]:
    """The keys of ``config`` that name a place to connect to (refused, never used)."""
    return sorted(
        str(key)
        for key, value in (config or {}).items()
        if _HOST_KEY.search(str(key)) or (isinstance(value, str) and "://" in value)
    )


class UnknownProvider(LookupError):
    pass


def adapter_class(provider: str) -> type:
    try:
        dotted = ADAPTERS[provider]
    except KeyError:
        raise UnknownProvider(f"No adapter for provider {provider!r}.") from None
    module_name, _, class_name = dotted.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def account_config(account) -> dict[str, Any]:
    """The adapter config of ``account``: its columns, then ``config`` (which wins), except host
    keys in ``config`` (``config_host_keys``), which are dropped and logged: a row stored around
    the checks cannot point the adapter at another host."""
    merchant_id = account.merchant_id or ""
    config: dict[str, Any] = {
        "base_url": account.base_url or "",
        "merchant_id": merchant_id,
        "client_id": merchant_id,
        "account": merchant_id,
        "issuer_id": merchant_id,
        "username": account.username or "",
        "password": account.password or "",
        "secret_key": account.secret_key or "",
    }
    refused = config_host_keys(account.config)
    if refused:
        logger.error(
            "%s account %s: config keys %s name a host and are ignored (use base_url)",
            account.provider,
            account.pk,
            ", ".join(refused),
        )
    config.update(
        {
            k: v
            for k, v in (account.config or {}).items()
            if v not in (None, "") and k not in refused
        }
    )
    return config


def adapter_for_account(account, *, http=None) -> ProviderAdapter:
    """The adapter of ``account`` (a ``ProviderAccount``, saved or not)."""
    if account.provider == "sandbox":
        return sandbox_adapter(http=http)
    cls = adapter_class(account.provider)
    config = account_config(account)
    if account.provider == "arca":
        config["callback_url"] = callback_url("arca")
    return cls(config=config, http=http)


def sandbox_adapter(*, http=None) -> ProviderAdapter:
    from payments import sandbox

    cls = adapter_class("sandbox")
    return cls(config=sandbox.adapter_config(), http=http or sandbox.gateway_client())


def callback_url(provider: str) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.PAYOPS_BASE_URL.rstrip("/") + reverse(
        "payments:callback", kwargs={"provider": provider}
    )
