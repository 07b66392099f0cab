"""Actors: who did it. Humans, API clients (through their service user) and named system jobs.

Every service that changes state takes ``actor``: a ``User``. System jobs act as inactive users
named ``system.<job>``, so history rows and audit events name them like anyone else.

A process remembers each system user it read or created outside a transaction (that row is
committed; one read or created inside a transaction may yet be rolled back, and is not
remembered), so a provider callback does not read it again (BENCHMARKS.md (5)), per database
name. Saving or deleting any user, ``migrate`` and ``flush`` forget them all
(``forget_system_actors``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save

SYSTEM_PREFIX = "system."

_remembered: dict[tuple[str, str], AbstractBaseUser] = {}


def forget_system_actors(**kwargs) -> None:
    """Forget every remembered system user of this process (a user saved or deleted; tests)."""
    _remembered.clear()


post_save.connect(forget_system_actors, sender=settings.AUTH_USER_MODEL, dispatch_uid="actors")
post_delete.connect(forget_system_actors, sender=settings.AUTH_USER_MODEL, dispatch_uid="actors_d")
# ``migrate`` and ``flush`` (which empties every table without a delete signal) end with it.
post_migrate.connect(forget_system_actors, dispatch_uid="actors_m")


def system_actor(job: str) -> AbstractBaseUser:
    username = f"{SYSTEM_PREFIX}{job}"
    connection = transaction.get_connection()
    key = (connection.settings_dict["NAME"], username)  # a process may switch databases
    user = _remembered.get(key)
    if user is not None:
        return user
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_active": False}
    )
    if not connection.in_atomic_block:  # committed: safe to remember
        _remembered[key] = user
    return user


def actor_label(actor: AbstractBaseUser | None) -> str:
    if actor is None:
        return "anonymous"
    client = getattr(actor, "api_client", None)  # reverse one-to-one; None for humans
    if client is not None:
        return f"api:{client.organization.slug}/{client.name}"
    return actor.get_username()
