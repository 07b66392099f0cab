"""Read the environment in one place, strictly.

Every reader raises ``ImproperlyConfigured`` with one sentence naming the variable, so a wrong value
stops start-up instead of being silently replaced by a default.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def load_dotenv_file(path: Path) -> None:
    """Fill unset variables from a ``.env`` file (written by ``make run``); real variables win."""
    if path.is_file():
        for name, value in dotenv_values(path).items():
            if value is not None:
                os.environ.setdefault(name, value)


def raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}."
    )


def string(name: str, default: str | None = None) -> str | None:
    value = raw(name)
    return value or default


def csv_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def integer(name: str, default: int) -> int:
    value = raw(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def database(name: str, default_sqlite: Path) -> dict:
    import dj_database_url

    value = raw(name)
    if not value:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(default_sqlite),
            # WAL lets the web process read while the worker writes; IMMEDIATE takes the write
            # lock at BEGIN so concurrent writers wait (timeout) instead of failing mid-transaction.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for a bad URL
        raise ImproperlyConfigured(
            f"{name} is not a database URL payops understands ({exc}); "
            "use postgres://user@host:5432/name."
        ) from None
    if config.get("ENGINE") not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        raise ImproperlyConfigured(f"{name} must point at PostgreSQL (postgres://…) or SQLite.")
    return config


def provider_hosts(name: str) -> dict[str, list[str]]:
    """``arca:ipay.mybank.am,ameria:vpos.example.am`` -> {"arca": [...], "ameria": [...]}."""
    value = raw(name)
    hosts: dict[str, list[str]] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        provider, _, host = item.partition(":")
        if not provider.strip() or not host.strip() or "/" in host:
            raise ImproperlyConfigured(
                f"{name} lists provider:host pairs separated by commas "
                f"(e.g. arca:ipay.mybank.am), not {item!r}."
            )
        hosts.setdefault(provider.strip().lower(), []).append(host.strip().lower())
    return hosts


def redis_url(name: str) -> str | None:
    value = raw(name)
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name} must be a redis:// or rediss:// URL, not {value!r}.")
    return value
