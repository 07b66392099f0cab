"""Payments through a Smart QR: the pending payment linked to the QR's recipient, the checkout at
the organisation's gateway, and the sandbox round trip."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from core.errors import RequestError
from core.models import Organization
from payments import services as payment_services
from payments.errors import PaymentError
from payments.models import Payment, ProviderAccount
from payouts.errors import PayoutError
from payouts.models import QrCode, QrPayment


@transaction.atomic
def qr_payment_create(
    *,
    qr_code: QrCode,
    amount: Decimal,
    currency: str,
    actor,
    provider: str | None = None,
    idempotency_key: str | None = None,
):
    """A pending provider payment made through ``qr_code``: it belongs to the QR's recipient.

    ``provider`` defaults to the built-in sandbox (demo and tests); production payments name the
    organisation's gateway, usually through ``qr_checkout_start``, which also registers the order.
    With ``idempotency_key``, a second call with the same key and the same parameters returns the
    first payment; with other parameters it is refused (422 ``idempotency_key_reused``).
    """
    provider = provider or Payment.Provider.SANDBOX
    fingerprint = request_fingerprint(
        qr_code_id=qr_code.pk, amount=amount, currency=currency, provider=provider
    )
    if idempotency_key:
        earlier = _keyed_payment(qr_code.organization_id, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    if not qr_code.is_active or not qr_code.recipient.is_active:
        raise PayoutError.QR_CODE_INACTIVE.error("This QR code is not active.")
    payment = payment_services.payment_create(
        organization=qr_code.recipient.organization,
        branch=qr_code.recipient.branch,
        provider=provider,
        purpose=Payment.Purpose.QR,
        amount=amount,
        currency=currency,
        actor=actor,
        description=f"Smart QR {qr_code.code}",
    )
    QrPayment.objects.create(
        payment=payment,
        organization_id=qr_code.organization_id,
        qr_code=qr_code,
        recipient_id=qr_code.recipient_id,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else "",
    )
    return payment


def request_fingerprint(*, qr_code_id: int, amount, currency: str, provider: str) -> str:
    """The hash of what a QR payment request asked for (amounts compared by value)."""
    value = format(Decimal(amount).normalize(), "f")
    canonical = f"{qr_code_id}|{value}|{currency}|{provider}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def _keyed_payment(organization_id: int, idempotency_key: str, fingerprint: str):
    """The payment an earlier request with this key started, if it asked for the same thing;
    422 ``idempotency_key_reused`` if it asked for another (QR code, amount, currency or
    provider): a key never answers with a payment the request did not describe."""
    earlier = (
        QrPayment.objects.filter(organization_id=organization_id, idempotency_key=idempotency_key)
        .select_related("payment")
        .first()
    )
    if earlier is None:
        return None
    payment = earlier.payment
    stored = earlier.request_fingerprint or request_fingerprint(
        qr_code_id=earlier.qr_code_id,
        amount=payment.amount,
        currency=payment.currency,
        provider=payment.provider,
    )
    if stored != fingerprint:
        raise RequestError.IDEMPOTENCY_KEY_REUSED.error(
            "This Idempotency-Key was used for a different payment (another QR code, amount, "
            "currency or provider): use a new key for a new payment."
        )
    return payment


def sandbox_check() -> None:
    """404 ``sandbox_disabled`` when the built-in sandbox gateway is off."""
    if not settings.PAYOPS_SANDBOX:
        raise PaymentError.SANDBOX_DISABLED.error("The sandbox gateway is off.")


def qr_checkout_provider(*, organization: Organization, provider: str | None = None) -> str:
    """The gateway a QR payment of ``organization`` goes through: ``provider`` when it has an
    active account for it, else its only active non-sandbox account (400 ``provider_required``
    when it has several, 409 ``provider_not_configured`` when it has none)."""
    accounts = ProviderAccount.objects.filter(organization=organization, is_active=True)
    if provider == Payment.Provider.SANDBOX:
        sandbox_check()
        return provider
    if provider:
        if not accounts.filter(provider=provider).exists():
            raise PaymentError.PROVIDER_NOT_CONFIGURED.error(
                f"The organisation has no active {provider} account."
            )
        return provider
    configured = sorted(
        set(accounts.exclude(provider=Payment.Provider.SANDBOX).values_list("provider", flat=True))
    )
    if not configured:
        raise PaymentError.PROVIDER_NOT_CONFIGURED.error("The organisation has no active gateway.")
    if len(configured) > 1:
        raise PayoutError.PROVIDER_REQUIRED.error(
            f"Name the gateway: one of {', '.join(configured)}.",
            fields={"provider": [f"One of {', '.join(configured)}."]},
        )
    return configured[0]


def qr_checkout_start(
    *,
    qr_code: QrCode,
    amount: Decimal,
    currency: str,
    actor,
    provider: str | None = None,
    return_url: str = "",
    fail_url: str = "",
    adapter=None,
    idempotency_key: str | None = None,
):
    """Start a real QR payment: a pending payment at the organisation's gateway, linked to the QR
    (``QrPayment``) in one committed transaction, then the order registered at the gateway
    (``payments.services.payment_register_order``, outside any transaction) so the payment comes
    back with its ``payment_url``, where the customer pays. The gateway's callback and status
    lookup verify it as any other payment; the QR link makes it the recipient's."""
    provider = qr_checkout_provider(organization=qr_code.organization, provider=provider)
    payment = qr_payment_create(
        qr_code=qr_code,
        amount=amount,
        currency=currency,
        actor=actor,
        provider=provider,
        idempotency_key=idempotency_key,
    )
    # A retry finds its order: registration is keyed on our order number and returns early
    # once the gateway's reference is stored.
    return payment_services.payment_register_order(
        payment=payment, actor=actor, adapter=adapter, return_url=return_url, fail_url=fail_url
    )


def sandbox_qr_payment(*, outcome: str, actor, **request):
    """Pay a QR code through the built-in sandbox gateway, the whole round trip. ``request``:
    ``qr_payment_create``'s ``qr_code``, ``amount``, ``currency`` and ``idempotency_key``.

    The pending payment and its QR link commit first, so the gateway's callback finds them.
    """
    sandbox_check()
    payment = qr_payment_create(actor=actor, **request)
    if payment.status != payment.Status.PENDING:  # a retry of a round trip that finished
        return payment
    return payment_services.sandbox_pay(payment=payment, outcome=outcome, actor=actor)
