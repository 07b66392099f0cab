"""Writes of the kernel: organisations, branches, API clients, heartbeats."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import save_audited
from core.errors import CoreError
from core.models import ApiClient, Branch, Heartbeat, Organization


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
