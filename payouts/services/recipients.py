"""Recipients (whom a Smart QR pays) and their QR codes."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.audit import save_audited
from core.errors import RequestError
from core.models import Branch, Organization
from payouts import locks
from payouts.errors import PayoutError
from payouts.models import QrCode, Recipient


def _duplicate(external_ref: str):
    return PayoutError.DUPLICATE_RECIPIENT.error(
        f"A recipient with external_ref {external_ref!r} already exists.",
        fields={"external_ref": ["Already used by another recipient."]},
    )


def _external_ref_taken(organization_id: int, external_ref: str, *, exclude=None) -> bool:
    taken = Recipient.objects.filter(organization_id=organization_id, external_ref=external_ref)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    return bool(external_ref) and taken.exists()


@transaction.atomic
def recipient_create(
    *,
    organization: Organization,
    scope: str,
    name: str,
    branch: Branch,
    external_ref: str = "",
    actor,
) -> Recipient:
    if branch.organization_id != organization.pk:
        raise PayoutError.UNKNOWN_BRANCH.error(
            "No such branch.", fields={"branch": ["No branch with this code."]}
        )
    if scope not in Recipient.Scope.values:
        raise PayoutError.INVALID_SCOPE.error(
            f"Unknown scope {scope!r}.",
            fields={"scope": [f"One of {', '.join(Recipient.Scope.values)}."]},
        )
    external_ref = (external_ref or "").strip()
    if _external_ref_taken(organization.pk, external_ref):
        raise _duplicate(external_ref)
    recipient = Recipient(
        organization=organization,
        branch=branch,
        scope=scope,
        name=name.strip(),
        external_ref=external_ref,
    )
    try:
        with transaction.atomic():
            save_audited(recipient, actor=actor, reason="recipient created")
    except IntegrityError:
        raise _duplicate(external_ref) from None
    return recipient


@transaction.atomic
def recipient_update(
    *, recipient: Recipient, actor, name=None, external_ref=None, is_active=None, reason=""
) -> Recipient:
    """Rename, re-reference or (de)activate a recipient (its scope and branch are fixed)."""
    recipient = locks.recipient_lock(recipient)
    if name is not None:
        if not name.strip():
            raise RequestError.INVALID.error("A name is required.", fields={"name": ["Required."]})
        recipient.name = name.strip()
    if external_ref is not None:
        external_ref = external_ref.strip()
        if _external_ref_taken(recipient.organization_id, external_ref, exclude=recipient.pk):
            raise _duplicate(external_ref)
        recipient.external_ref = external_ref
    if is_active is not None:
        recipient.is_active = bool(is_active)
    save_audited(recipient, actor=actor, reason=reason or "recipient updated")
    return recipient


@transaction.atomic
def qr_code_create(*, recipient: Recipient, actor) -> QrCode:
    if not recipient.is_active:
        raise PayoutError.RECIPIENT_INACTIVE.error("The recipient is inactive.")
    qr = QrCode(organization_id=recipient.organization_id, recipient=recipient)
    save_audited(qr, actor=actor, reason="Smart QR created")
    return qr
