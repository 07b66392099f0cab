"""Actors: who did it. Humans, API clients (through their service user) and named system jobs.

Every service that changes state takes ``actor``: a ``User``. System jobs act as inactive users
named ``system.<job>``, so history rows and audit events name them like anyone else.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

SYSTEM_PREFIX = "system."


def system_actor(job: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=f"{SYSTEM_PREFIX}{job}", defaults={"is_active": False}
    )
    return user


def actor_label(actor: AbstractBaseUser | None) -> str:
    if actor is None:
        return "anonymous"
    client = getattr(actor, "api_client", None)  # reverse one-to-one; None for humans
    if client is not None:
        return f"api:{client.organization.slug}/{client.name}"
    return actor.get_username()
