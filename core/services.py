"""Writes of the kernel: organisations, branches, API clients, staff logins, heartbeats."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import roles
from core.actors import SYSTEM_PREFIX
from core.audit import save_audited
from core.errors import CoreError
from core.models import ApiClient, Branch, Heartbeat, Membership, Organization


@transaction.atomic
def organization_ensure(*, slug: str, name: str, actor, timezone_name: str = "Asia/Yerevan"):
    """Create the organisation if it is missing. Returns ``(organization, created)``."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is not None:
        return organization, False
    organization = Organization(slug=slug, name=name, timezone=timezone_name)
    organization.full_clean()
    save_audited(organization, actor=actor, reason="organisation created")
    return organization, True


@transaction.atomic
def branch_create(*, organization: Organization, code: str, name: str, actor) -> Branch:
    if Branch.objects.filter(organization=organization, code=code).exists():
        raise CoreError.DUPLICATE_BRANCH.error(
            f"A branch with code {code!r} already exists.",
            fields={"code": [CoreError.DUPLICATE_BRANCH.sentence]},
        )
    branch = Branch(organization=organization, code=code, name=name)
    try:
        with transaction.atomic():
            save_audited(branch, actor=actor, reason="branch created")
    except IntegrityError:  # a concurrent request created the same code
        raise CoreError.DUPLICATE_BRANCH.error(
            f"A branch with code {code!r} already exists."
        ) from None
    return branch


@transaction.atomic
def api_client_create(*, organization: Organization, name: str, actor) -> tuple[ApiClient, str]:
    """Create an integrator client; returns it and its token, which is never stored in clear."""
    key = ApiClient.new_key()
    user_model = get_user_model()
    client = ApiClient(
        organization=organization,
        name=name,
        key_prefix=key[:10],
        key_hash=ApiClient.hash_key(key),
    )
    service_user = user_model(username=f"api.{organization.slug}.{ApiClient.hash_key(key)[:12]}")
    service_user.set_unusable_password()
    service_user.save()
    client.user = service_user
    save_audited(client, actor=actor, reason="API client created")
    return client, key


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor, reason: str) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = timezone.now()
        save_audited(client, actor=actor, reason=f"revoked: {reason}")
    return client


def heartbeat_record(*, name: str) -> Heartbeat:
    beat, _ = Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return beat


STAFF_ROLES = {
    "operator": roles.OPERATOR,
    "accountant": roles.ACCOUNTANT,
    "clinic_staff": roles.CLINIC_STAFF,
}
RESERVED_USERNAME_PREFIXES = (SYSTEM_PREFIX, "api.")  # system jobs, API clients' service users


@transaction.atomic
def staff_user_ensure(
    *, username: str, organization: Organization, role: str, password: str | None, actor
) -> tuple[AbstractBaseUser, bool, str | None]:
    """Create or update the staff login ``username``: active staff, exactly the role group
    ``role`` (a ``STAFF_ROLES`` key) among the roles, a membership of ``organization``.

    ``password`` replaces the password when given; without it a new login gets a generated
    one, returned once (an existing login keeps its own). Returns ``(user, created, generated
    password or None)``. Audited on the membership's history (actor, role, what changed).
    """
    if username.startswith(RESERVED_USERNAME_PREFIXES):
        raise CoreError.RESERVED_USERNAME.error(
            f"{username!r} is reserved: usernames starting with "
            f"{' or '.join(RESERVED_USERNAME_PREFIXES)} name system jobs and API clients."
        )
    if role not in STAFF_ROLES:
        raise CoreError.INVALID_USER.error(
            f"Unknown role {role!r}; one of {', '.join(STAFF_ROLES)}."
        )
    user_model = get_user_model()
    user = user_model.objects.select_for_update().filter(username=username).first()
    created = user is None
    generated = None
    if created:
        user = user_model(username=username)
        if password is None:
            password = generated = secrets.token_urlsafe(18)
    user.is_staff = user.is_active = True
    try:
        user.full_clean(exclude=["password", "last_login"])
        if password is not None:
            password_validation.validate_password(password, user)
            user.set_password(password)
    except ValidationError as exc:
        raise CoreError.INVALID_USER.error(" ".join(exc.messages)) from None
    user.save()
    if not Group.objects.filter(name=STAFF_ROLES[role]).exists():  # migrate creates them
        roles.roles_sync()
    user.groups.remove(*Group.objects.filter(name__in=roles.ROLES).exclude(name=STAFF_ROLES[role]))
    user.groups.add(Group.objects.get(name=STAFF_ROLES[role]))
    membership = Membership.objects.filter(user=user, organization=organization).first()
    what = "login created" if created else "login updated"
    what += ", password set" if password is not None else ""
    save_audited(
        membership or Membership(user=user, organization=organization),
        actor=actor,
        reason=f"{what}: role {role} in {organization.slug}",
    )
    return user, created, generated
