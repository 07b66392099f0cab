"""Writes for provider payments. Every change runs here, under a row lock, with audit rows."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from core.audit import save_audited
from core.errors import DomainError
from core.money import CURRENCIES, round_money
from payments import hooks
from payments.janitor import BACKOFF_SECONDS, EXPIRY_GRACE, UNKNOWN_GIVE_UP, backoff_delay
from payments.models import Payment, PaymentEvent, Refund
from payments.providers.base import OrderRequest, ProviderError, ProviderState, StatusResult

logger = logging.getLogger("payops.payments")


def _check_branch(organization, branch) -> None:
    if branch.organization_id != organization.pk:
        raise DomainError(
            "branch_not_found", "The branch does not belong to this organisation.", status_code=404
        )


@transaction.atomic
def payment_create(
    *,
    organization,
    branch,
    provider: str,
    purpose: str,
    amount: Decimal,
    currency: str,
    actor,
    description: str = "",
    window_seconds: int | None = None,
) -> Payment:
    """A pending payment with our order number; the order is registered at the gateway later."""
    _check_branch(organization, branch)
    if provider not in Payment.Provider.values:
        raise DomainError("unknown_provider", f"Unknown provider {provider!r}.", status_code=400)
    if purpose not in Payment.Purpose.values:
        raise DomainError("unknown_purpose", f"Unknown purpose {purpose!r}.", status_code=400)
    if currency not in CURRENCIES:
        raise DomainError(
            "unsupported_currency", f"Unsupported currency {currency!r}.", status_code=400
        )
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    amount = round_money(amount, currency)
    if amount <= 0:
        raise DomainError("invalid_amount", "The amount must be positive.", status_code=400)
    if window_seconds is None:
        from payments.selectors import provider_account_get

        account = provider_account_get(organization=organization, provider=provider)
        window_seconds = account.payment_window_seconds if account else 1200
        window_seconds = max(window_seconds, gateway_validity_seconds(provider, account))
    now = timezone.now()
    payment = Payment(
        organization=organization,
        branch=branch,
        provider=provider,
        purpose=purpose,
        amount=amount,
        currency=currency,
        description=description[:255],
        expires_at=now + timedelta(seconds=window_seconds),
        next_check_at=now + timedelta(seconds=BACKOFF_SECONDS[0]),
    )
    if provider == Payment.Provider.AMERIA:
        _save_with_numeric_order_number(payment, actor=actor)
    else:
        save_audited(payment, actor=actor, reason="payment created")
    PaymentEvent.objects.create(
        organization=organization,
        payment=payment,
        kind=PaymentEvent.Kind.CREATED,
        to_status=payment.status,
        amount=amount,
        currency=currency,
        actor=actor,
    )
    return payment


def gateway_validity_seconds(provider: str, account) -> int:
    """How long the gateway itself lets the customer pay, where that is longer than our window.

    Without a status lookup payops cannot tell a paid order from an unpaid one, so such a
    payment must not expire before the gateway stops taking the money. Telcell invoices are
    payable for ``valid_days`` whole days (at least 1, the adapter's default): a Telcell payment
    stays pending that long. Idram asks first (the pre-check, refused once the payment is no
    longer pending), so our window holds there.
    """
    if provider == Payment.Provider.TELCELL:
        config = (account.config if account is not None else None) or {}
        try:
            days = max(int(config.get("valid_days") or 1), 1)
        except (TypeError, ValueError):
            days = 1
        return days * 86400
    return 0


def _save_with_numeric_order_number(payment: Payment, *, actor) -> None:
    """Ameria's OrderID is an integer (<= 2147483647): the trailing digits of our number."""
    for _ in range(5):
        payment.order_number = f"AM{secrets.randbelow(2_147_483_647 - 10**8) + 10**8}"
        try:
            with transaction.atomic():
                save_audited(payment, actor=actor, reason="payment created")
            return
        except IntegrityError:
            payment.pk = None
            payment._state.adding = True
    raise DomainError("order_number_exhausted", "Could not draw a free order number.")


# -- helpers -------------------------------------------------------------------------------------


class AmountMismatch(DomainError):
    """The gateway's lookup disagrees with the payment or the callback: an operator must look."""

    def __init__(self, message: str, *, payment: Payment, details: dict) -> None:
        super().__init__("amount_mismatch", message, status_code=409)
        self.payment = payment
        self.details = details


def _locked(payment: Payment | int) -> Payment:
    pk = payment.pk if isinstance(payment, Payment) else payment
    # of=("self",): lock the payment row only, not its organisation and branch (that would
    # serialise every payment change of an organisation, and deadlock with domain locks).
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("organization", "branch")
        .get(pk=pk)
    )


def _move(instance, method: str, *, what: str) -> None:
    source = instance.status
    try:
        getattr(instance, method)()
    except TransitionNotAllowed:
        raise DomainError(
            "transition_not_allowed",
            f"A {source} {what} cannot move this way ({method}).",
            status_code=409,
        ) from None


def _event(payment: Payment, *, kind: str, actor, from_status: str = "", **fields) -> PaymentEvent:
    return PaymentEvent.objects.create(
        organization_id=payment.organization_id,
        payment=payment,
        kind=kind,
        from_status=from_status,
        to_status=payment.status,
        actor=actor,
        **fields,
    )


def _webhook_data(payment: Payment, refund: Refund | None = None) -> dict:
    data = {
        "id": payment.pk,
        "status": payment.status,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference or "",
        "order_number": payment.order_number,
        "purpose": payment.purpose,
        "branch": payment.branch.code,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "refunded_amount": str(payment.refunded_amount),
        "verified_at": payment.verified_at.isoformat() if payment.verified_at else None,
    }
    if refund is not None:
        data["refund"] = {
            "id": refund.pk,
            "amount": str(refund.amount),
            "currency": refund.currency,
            "status": refund.status,
        }
    return data


def _announce(payment: Payment, kind: str, *, actor, refund: Refund | None = None) -> None:
    """Tell the domains (synchronously, same transaction) and write the webhook outbox row."""
    from webhooks.services import event_emit

    hooks.notify(hooks.PaymentChange(payment=payment, kind=kind, refund=refund, actor=actor))
    event_emit(
        organization=payment.organization,
        event_type=f"payment.{kind}",
        subject="payment",
        subject_id=payment.pk,
        data=_webhook_data(payment, refund),
        dedup=f"refund:{refund.pk}" if refund is not None else kind,
    )


def _schedule_next_check(payment: Payment, *, now, error: str = "") -> None:
    Payment.objects.filter(pk=payment.pk).update(
        check_attempts=payment.check_attempts + 1,
        last_checked_at=now,
        next_check_at=now + backoff_delay(payment.check_attempts + 1),
        last_check_error=error[:255],
    )
    payment.check_attempts += 1
    payment.last_checked_at = now
    payment.next_check_at = now + backoff_delay(payment.check_attempts)
    payment.last_check_error = error[:255]


def _parse_paid_at(value: str):
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        return None
    return parsed


def _copy_card_details(payment: Payment, status: StatusResult) -> list[str]:
    from payments.providers.bpc import mask_pan

    changed = []
    values = {
        "masked_pan": mask_pan(status.masked_pan),
        "approval_code": status.approval_code[:16],
        "rrn": status.rrn[:32],
        "action_code": status.action_code[:32],
        "action_description": status.action_description[:255],
        "binding_id": status.binding_id[:128],
    }
    for field, value in values.items():
        if value and getattr(payment, field) != value:
            setattr(payment, field, value)
            changed.append(field)
    if status.provider_reference and not payment.provider_reference:
        payment.provider_reference = status.provider_reference[:128]
        changed.append("provider_reference")
    return changed


def adapter_for_payment(payment: Payment, *, http=None):
    from payments.providers import registry
    from payments.selectors import provider_account_get

    if payment.provider == Payment.Provider.SANDBOX:
        return registry.sandbox_adapter(http=http)
    account = provider_account_get(organization=payment.organization, provider=payment.provider)
    if account is None:
        raise DomainError(
            "provider_not_configured",
            f"The organisation has no active {payment.provider} account.",
            status_code=422,
        )
    return registry.adapter_for_account(account, http=http)


# -- accounts -------------------------------------------------------------------------------------

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
        raise DomainError("base_url_refused", "The gateway URL must use https.", status_code=400)
    if not parts.hostname or parts.username or parts.password:
        raise DomainError(
            "base_url_refused", "The gateway URL needs a host and no credentials.", status_code=400
        )
    extra = settings.PAYOPS_GATEWAY_HOSTS
    known = (*GATEWAY_HOSTS.get(provider, ()), *extra.get(provider, ()))
    if provider in GATEWAY_HOSTS or provider in extra:
        if parts.hostname.lower() not in {host.lower() for host in known}:
            raise DomainError(
                "base_url_refused",
                f"{parts.hostname} is not a known {provider} gateway host "
                f"({', '.join(known)}; more with the PAYOPS_GATEWAY_HOSTS variable).",
                status_code=400,
            )
        return
    try:
        ssrf.check_url(url, allow_private=settings.DEBUG)
    except ssrf.UnsafeUrl as exc:
        raise DomainError("base_url_refused", exc.message, status_code=400) from None


# -- orders ---------------------------------------------------------------------------------------


def payment_register_order(
    *,
    payment: Payment,
    actor,
    adapter=None,
    return_url: str = "",
    fail_url: str = "",
    language: str = "hy",
    client_id: str = "",
) -> Payment:
    """Register the order at the gateway (once) and keep its reference and payment URL.

    No lock is held during the gateway call: registration is keyed on our order number, so a
    concurrent or retried call gets the same gateway order back (BPC errorCode 1 -> lookup).
    """
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    if payment.provider_reference:
        return payment
    if payment.status != Payment.Status.PENDING:
        raise DomainError(
            "payment_not_pending", "Only a pending payment can be registered.", status_code=409
        )
    adapter = adapter or adapter_for_payment(payment)
    base = settings.PAYOPS_BASE_URL.rstrip("/")
    window = max(int((payment.expires_at - timezone.now()).total_seconds()), 60)
    request = OrderRequest(
        order_number=payment.order_number,
        amount=payment.amount,
        currency=payment.currency,
        description=payment.description or f"payops {payment.order_number}",
        return_url=return_url or f"{base}/payments/return/{payment.order_number}/",
        fail_url=fail_url,
        language=language,
        timeout_seconds=min(window, 1200),
        client_id=client_id,
    )
    try:
        created = adapter.create_order(request)
    except ProviderError as exc:
        raise DomainError(
            "provider_error", f"The gateway refused or failed the order: {exc}", status_code=502
        ) from exc
    return _record_order(payment=payment, created=created, actor=actor)


@transaction.atomic
def _record_order(*, payment: Payment, created, actor) -> Payment:
    payment = _locked(payment)
    if payment.provider_reference:
        return payment
    # Idram and Telcell give no reference before their callback: keep NULL (unique allows many).
    payment.provider_reference = created.provider_reference[:128] or None
    payment.payment_url = created.payment_url[:500]
    save_audited(
        payment,
        actor=actor,
        reason="order registered",
        update_fields=["provider_reference", "payment_url", "updated_at"],
    )
    _event(
        payment,
        kind=PaymentEvent.Kind.ORDER_REGISTERED,
        actor=actor,
        from_status=payment.status,
        reference=payment.provider_reference or "",
    )
    return payment


# -- the state machine ---------------------------------------------------------------------------


PAID_STATES = {ProviderState.PAID, ProviderState.PARTIALLY_REFUNDED, ProviderState.REFUNDED}


@transaction.atomic
def payment_apply_status(
    *,
    payment: Payment,
    status: StatusResult,
    method: str,
    actor,
    claimed_amount: Decimal | None = None,
    comment: str = "",
) -> Payment:
    """Apply what the gateway proved about the order. States only move forward.

    Paid -> verified (after checking amount and currency against the payment, and against what
    the callback claimed); declined/reversed -> declined; expired -> expired; anything else
    leaves the payment pending. A repeat of a step already taken changes nothing.
    """
    payment = _locked(payment)
    if status.order_number and status.order_number != payment.order_number:
        raise DomainError(
            "order_mismatch", "The gateway's answer is about another order.", status_code=409
        )
    if (
        status.provider_reference
        and payment.provider_reference
        and status.provider_reference != payment.provider_reference
    ):
        raise DomainError(
            "reference_mismatch", "The gateway's answer is about another order.", status_code=409
        )
    if status.state in PAID_STATES:
        if (
            status.amount != payment.amount
            or status.currency != payment.currency
            or (claimed_amount is not None and claimed_amount != status.amount)
        ):
            raise AmountMismatch(
                f"Payment {payment.order_number}: the gateway reports {status.amount} "
                f"{status.currency}, the payment is {payment.amount} {payment.currency}"
                + (f", the callback claimed {claimed_amount}" if claimed_amount is not None else "")
                + ".",
                payment=payment,
                details={
                    "order_number": payment.order_number,
                    "payment_amount": str(payment.amount),
                    "payment_currency": payment.currency,
                    "lookup_amount": str(status.amount),
                    "lookup_currency": status.currency,
                    "callback_amount": None if claimed_amount is None else str(claimed_amount),
                },
            )
        if payment.status in Payment.FINAL_UNPAID_STATUSES:
            _late_payment(payment, status=status, method=method, actor=actor)
            return payment
        if payment.status != Payment.Status.PENDING:
            return payment  # already verified (or refunded): nothing to do
        return _verify(payment, status=status, method=method, actor=actor, comment=comment)
    if payment.status != Payment.Status.PENDING:
        return payment
    if status.state in (ProviderState.DECLINED, ProviderState.REVERSED):
        return _finish_unpaid(payment, "mark_declined", status=status, actor=actor, method=method)
    if status.state is ProviderState.EXPIRED:
        return _finish_unpaid(payment, "mark_expired", status=status, actor=actor, method=method)
    return payment


def _late_payment(payment: Payment, *, status: StatusResult, method: str, actor) -> None:
    """The gateway says paid, but the payment already expired or was declined.

    States never move back, so the payment stays as it is; the gateway holds the customer's
    money, so an operator must decide (refund at the gateway, or verify by hand after a
    reinstatement). Recorded once as a ``late_payment`` event and listed as a ``late_payment``
    exception case; the caller answers the gateway as accepted so it stops retrying.
    """
    from exceptionqueue.services import exception_raise

    if not payment.events.filter(kind=PaymentEvent.Kind.LATE_PAYMENT).exists():
        _event(
            payment,
            kind=PaymentEvent.Kind.LATE_PAYMENT,
            actor=actor,
            from_status=payment.status,
            amount=status.amount,
            currency=status.currency,
            method=method,
            reference=status.provider_reference or payment.provider_reference or "",
            data={"gateway_state": str(status.state), "paid_at": status.paid_at},
        )
    logger.error(
        "payment %s is %s but the gateway says paid (%s)",
        payment.order_number,
        payment.status,
        method,
    )
    exception_raise(
        organization=payment.organization,
        kind="late_payment",
        dedup_key=f"late_payment:payment:{payment.pk}",
        message=(
            f"Payment {payment.order_number} is {payment.status} in payops, but the gateway "
            f"reports it paid ({_money(status.amount, status.currency)} {status.currency}): "
            "refund it at the gateway or verify it by hand."
        ),
        actor=actor,
        subject=payment,
        branch=payment.branch,
        amount=payment.amount,
        currency=payment.currency,
        details={
            "order_number": payment.order_number,
            "status": payment.status,
            "gateway_state": str(status.state),
            "provider_reference": status.provider_reference or payment.provider_reference or "",
            "method": method,
        },
    )


def _verify(
    payment: Payment,
    *,
    status: StatusResult | None,
    method: str,
    actor,
    comment="",
    reference: str = "",
) -> Payment:
    source = payment.status
    _move(payment, "mark_verified", what="payment")
    now = timezone.now()
    payment.verified_at = (_parse_paid_at(status.paid_at) if status else None) or now
    payment.verification_method = method
    payment.next_check_at = None
    changed = _copy_card_details(payment, status) if status else []
    save_audited(payment, actor=actor, reason=f"verified ({method})")
    _event(
        payment,
        kind=PaymentEvent.Kind.VERIFIED,
        actor=actor,
        from_status=source,
        amount=payment.amount,
        currency=payment.currency,
        method=method,
        reference=reference or payment.provider_reference or "",
        comment=comment,
        data={"approval_code": payment.approval_code, "rrn": payment.rrn, "changed": changed},
    )
    _announce(payment, "verified", actor=actor)
    return payment


def _finish_unpaid(
    payment: Payment, method_name: str, *, status, actor, method: str, comment: str = ""
) -> Payment:
    source = payment.status
    _move(payment, method_name, what="payment")
    payment.next_check_at = None
    if status is not None:
        _copy_card_details(payment, status)
    kind = payment.status  # "declined" or "expired"
    save_audited(payment, actor=actor, reason=f"{kind} ({method})")
    _event(
        payment,
        kind=kind,
        actor=actor,
        from_status=source,
        amount=payment.amount,
        currency=payment.currency,
        method=method,
        reference=payment.provider_reference or "",
        comment=comment,
        data={"action_code": payment.action_code} if payment.action_code else {},
    )
    _announce(payment, kind, actor=actor)
    return payment


@transaction.atomic
def payment_decline(*, payment: Payment, actor, reason: str) -> Payment:
    payment = _locked(payment)
    return _finish_unpaid(
        payment, "mark_declined", status=None, actor=actor, method="manual", comment=reason
    )


@transaction.atomic
def payment_expire(*, payment: Payment, actor, reason: str = "payment window passed") -> Payment:
    payment = _locked(payment)
    return _finish_unpaid(
        payment, "mark_expired", status=None, actor=actor, method="janitor", comment=reason
    )


@transaction.atomic
def _expire_if_still_pending(
    *, payment: Payment, actor, reason: str, final_check: bool = False
) -> Payment:
    """The janitor's expiry: decided on an unlocked read, so re-checked under the lock (a
    callback may have verified the payment meanwhile; then nothing happens).

    ``final_check`` (the gateway has a lookup): one more lookup is scheduled
    ``FINAL_CHECK_AFTER`` later (``payment_final_check``) to find a late payment."""
    from payments.janitor import FINAL_CHECK_AFTER

    payment = _locked(payment)
    if payment.status != Payment.Status.PENDING:
        return payment
    payment = _finish_unpaid(
        payment, "mark_expired", status=None, actor=actor, method="janitor", comment=reason
    )
    if final_check:
        payment.next_check_at = timezone.now() + FINAL_CHECK_AFTER
        # Janitor bookkeeping: kept out of the history on purpose.
        Payment.objects.filter(pk=payment.pk).update(next_check_at=payment.next_check_at)
    return payment


def payment_final_check(*, payment: Payment, actor, adapter=None) -> Payment:
    """The last lookup of a payment the janitor expired (see ``FINAL_CHECK_AFTER``).

    Done once (``next_check_at`` is cleared first, whatever the answer): a "paid" (or refunded)
    answer is a late payment (``late_payment`` event and exception case, via
    ``payment_apply_status``); anything else, or a failed lookup, changes nothing.
    """
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    if payment.status != Payment.Status.EXPIRED or payment.next_check_at is None:
        return payment
    Payment.objects.filter(pk=payment.pk).update(next_check_at=None, last_checked_at=timezone.now())
    payment.next_check_at = None
    try:
        adapter = adapter or adapter_for_payment(payment)
        if not adapter.capabilities.status_lookup:
            return payment
        status = adapter.status(
            provider_reference=payment.provider_reference or "",
            order_number=payment.order_number,
        )
    except (ProviderError, DomainError) as exc:
        logger.warning("final lookup of expired payment %s failed: %s", payment.pk, exc)
        Payment.objects.filter(pk=payment.pk).update(last_check_error=str(exc)[:255])
        return payment
    try:
        return payment_apply_status(
            payment=payment, status=status, method=Payment.VerificationMethod.LOOKUP, actor=actor
        )
    except AmountMismatch as exc:
        raise_amount_mismatch(exc, actor=actor)
        return payment


@transaction.atomic
def payment_verify_manually(*, payment: Payment, actor, comment: str, reference: str) -> Payment:
    """An operator verifies a payment the gateway cannot confirm (e.g. seen in the bank)."""
    if not comment.strip() or not reference.strip():
        raise DomainError(
            "comment_required",
            "Manual verification needs a comment and the evidence's reference.",
            status_code=400,
        )
    payment = _locked(payment)
    return _verify(
        payment,
        status=None,
        method=Payment.VerificationMethod.MANUAL,
        actor=actor,
        comment=comment.strip(),
        reference=reference.strip()[:128],
    )


def payment_reinstate(*, payment: Payment, actor, comment: str, adapter=None) -> Payment:
    """An operator accepts a late payment (paid at the gateway after expiry or decline).

    Only a payment with a ``late_payment`` event (the gateway's word that it was paid) can be
    reinstated, and only while the gateway still holds the whole amount: where the gateway has
    a status lookup it is asked again now and must say paid with nothing refunded; without a
    lookup the late answer itself must have been "paid". A late payment the gateway reports
    (partly) refunded is refused (``payment_refunded_at_gateway``): reinstated as verified with
    ``refunded_amount`` 0 it would be paid out although the customer has the money back. The
    payment becomes verified (method ``manual``, with the comment), the domains are told as for
    any verification, and the ``late_payment`` exception case is resolved.
    """
    if not comment.strip():
        raise DomainError(
            "comment_required", "Reinstating a payment needs a comment.", status_code=400
        )
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    late = payment.events.filter(kind=PaymentEvent.Kind.LATE_PAYMENT).order_by("id").last()
    if late is None or payment.status not in Payment.FINAL_UNPAID_STATUSES:
        raise DomainError(
            "payment_not_late",
            "Only an expired or declined payment the gateway reported paid can be reinstated.",
            status_code=409,
        )
    adapter = adapter or adapter_for_payment(payment)
    if adapter.capabilities.status_lookup:
        try:
            status = adapter.status(
                provider_reference=payment.provider_reference or "",
                order_number=payment.order_number,
            )
        except ProviderError as exc:
            raise DomainError(
                "provider_error", f"The gateway lookup failed: {exc}", status_code=503
            ) from exc
        state = status.state
        refunded = status.refunded_amount or Decimal("0")
        if state is ProviderState.PAID and (
            status.amount != payment.amount or status.currency != payment.currency
        ):
            raise DomainError(
                "amount_mismatch",
                f"The gateway reports {status.amount} {status.currency}, the payment is "
                f"{payment.amount} {payment.currency}.",
                status_code=409,
            )
    else:
        state = ProviderState(late.data.get("gateway_state") or ProviderState.PAID)
        refunded = Decimal("0")
    if state in (ProviderState.REFUNDED, ProviderState.PARTIALLY_REFUNDED) or refunded > 0:
        raise DomainError(
            "payment_refunded_at_gateway",
            f"The gateway reports this payment {state} ({_money(refunded, payment.currency)} "
            "refunded): it cannot be reinstated.",
            status_code=409,
        )
    if state is not ProviderState.PAID:
        raise DomainError(
            "payment_not_paid_at_gateway",
            f"The gateway now reports this payment {state}: it cannot be reinstated.",
            status_code=409,
        )
    return _reinstate(payment=payment, actor=actor, comment=comment)


@transaction.atomic
def _reinstate(*, payment: Payment, actor, comment: str) -> Payment:
    from exceptionqueue.services import exception_clear

    payment = _locked(payment)
    late = payment.events.filter(kind=PaymentEvent.Kind.LATE_PAYMENT).order_by("id").last()
    if late is None or payment.status not in Payment.FINAL_UNPAID_STATUSES:
        raise DomainError(
            "payment_not_late",
            "Only an expired or declined payment the gateway reported paid can be reinstated.",
            status_code=409,
        )
    source = payment.status
    _move(payment, "mark_reinstated", what="payment")
    payment.verified_at = timezone.now()
    payment.verification_method = Payment.VerificationMethod.MANUAL
    payment.next_check_at = None
    save_audited(payment, actor=actor, reason="reinstated after a late payment")
    _event(
        payment,
        kind=PaymentEvent.Kind.VERIFIED,
        actor=actor,
        from_status=source,
        amount=payment.amount,
        currency=payment.currency,
        method=Payment.VerificationMethod.MANUAL,
        reference=late.reference,
        comment=comment.strip(),
        data={"reinstated": True, "late_payment_event": late.pk},
    )
    _announce(payment, "verified", actor=actor)
    exception_clear(
        organization=payment.organization,
        dedup_key=f"late_payment:payment:{payment.pk}",
        actor=actor,
        note="payment reinstated",
    )
    return payment


def payment_check_status(*, payment: Payment, actor, adapter=None, method: str = "") -> Payment:
    """Look the payment up at the gateway now and apply the answer (janitor and operators).

    Without a lookup, or while the gateway cannot answer, the next check is scheduled on the
    backoff; a payment past its window (plus grace) that is not paid is expired. A payment the
    gateway cannot confirm is never expired while the gateway is unreachable, until
    ``UNKNOWN_GIVE_UP`` after its window.
    """
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING:
        return payment
    method = method or Payment.VerificationMethod.LOOKUP
    now = timezone.now()
    overdue = payment.expires_at is not None and now >= payment.expires_at + EXPIRY_GRACE
    try:
        adapter = adapter or adapter_for_payment(payment)
        if not adapter.capabilities.status_lookup:
            raise NotImplementedError
        status = adapter.status(
            provider_reference=payment.provider_reference or "",
            order_number=payment.order_number,
        )
    except NotImplementedError:
        if overdue:
            return _expire_if_still_pending(
                payment=payment, actor=actor, reason="window passed, no lookup"
            )
        _schedule_next_check(payment, now=now)
        return payment
    except ProviderError as exc:
        if exc.code == "unknown_order" and overdue:
            return _expire_if_still_pending(payment=payment, actor=actor, reason="never registered")
        if payment.expires_at is not None and now >= payment.expires_at + UNKNOWN_GIVE_UP:
            return _expire_if_still_pending(
                payment=payment,
                actor=actor,
                reason=f"gateway unreachable: {exc}",
                final_check=True,
            )
        _schedule_next_check(payment, now=now, error=str(exc))
        return payment
    except DomainError as exc:  # no account configured
        _schedule_next_check(payment, now=now, error=exc.message)
        return payment
    try:
        payment = payment_apply_status(payment=payment, status=status, method=method, actor=actor)
    except AmountMismatch as exc:
        raise_amount_mismatch(exc, actor=actor)
        _schedule_next_check(payment, now=now, error=exc.message)
        return payment
    if payment.status == Payment.Status.PENDING:
        if overdue and status.state is not ProviderState.AUTHORIZED:
            return _expire_if_still_pending(
                payment=payment, actor=actor, reason="window passed, unpaid", final_check=True
            )
        _schedule_next_check(payment, now=now)
    return payment


def raise_amount_mismatch(exc: AmountMismatch, *, actor) -> None:
    """List the mismatch for operators, in its own transaction (it must outlive a refusal)."""
    from exceptionqueue.services import exception_raise

    payment = exc.payment
    logger.error("amount mismatch: %s", exc.message)
    exception_raise(
        organization=payment.organization,
        kind="amount_mismatch",
        dedup_key=f"amount_mismatch:payment:{payment.pk}",
        message=exc.message,
        actor=actor,
        subject=payment,
        branch=payment.branch,
        amount=payment.amount,
        currency=payment.currency,
        details=exc.details,
    )


# -- refunds ------------------------------------------------------------------------------------


def _in_outer_transaction() -> bool:
    """True when the caller holds a transaction open (test-case wrappers do not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _money(amount: Decimal, currency: str) -> str:
    """Amounts in messages: always with the currency's decimals ("200.00", on every database)."""
    return str(round_money(Decimal(amount), currency))


def _refund_reserve(
    *, payment: Payment, amount: Decimal, reason: str, actor, idempotency_key: str | None = None
) -> tuple[Refund, bool]:
    """Reserve the amount under the payment's row lock: (refund, created).

    Runs in its own committed transaction (``durable``): the pending row must survive whatever
    happens after the gateway call. With an ``idempotency_key`` already used on this payment
    the existing refund is returned (``created`` False) and nothing else is done.
    """
    with transaction.atomic(durable=True):
        payment = _locked(payment)
        if idempotency_key:
            existing = Refund.objects.filter(
                payment=payment, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                if existing.amount != amount:
                    raise DomainError(
                        "idempotency_key_reused",
                        "This idempotency key was used for another refund of this payment.",
                        status_code=422,
                    )
                return existing, False
        if payment.status not in (Payment.Status.VERIFIED, Payment.Status.PARTIALLY_REFUNDED):
            raise DomainError(
                "payment_not_refundable",
                f"A {payment.status} payment cannot be refunded.",
                status_code=409,
            )
        adapter_caps = adapter_class_capabilities(payment.provider)
        if adapter_caps is not None and not adapter_caps.refunds:
            raise DomainError(
                "payment_not_refundable",
                f"{payment.get_provider_display()} has no refund API; refund outside payops.",
                status_code=409,
            )
        if (
            adapter_caps is not None
            and not adapter_caps.partial_refunds
            and amount != payment.amount
        ):
            raise DomainError(
                "partial_refund_not_supported",
                "This gateway refunds whole payments only.",
                status_code=422,
            )
        from payments.selectors import payment_refundable_amount

        reserved = payment.amount - payment_refundable_amount(payment=payment)
        currency = payment.currency
        if amount + reserved > payment.amount:
            raise DomainError(
                "refund_exceeds_payment",
                f"Refunds would total {_money(amount + reserved, currency)} {currency}, more "
                f"than the payment's {_money(payment.amount, currency)} (already refunded or "
                f"pending: {_money(reserved, currency)}).",
                status_code=422,
                fields={
                    "amount": [
                        f"At most {_money(payment.amount - reserved, currency)} can still be "
                        "refunded."
                    ]
                },
            )
        refund = Refund(
            payment=payment,
            organization_id=payment.organization_id,
            amount=amount,
            currency=payment.currency,
            reason=reason,
            actor=actor,
            idempotency_key=idempotency_key or None,
        )
        save_audited(refund, actor=actor, reason="refund requested")
        _event(
            payment,
            kind=PaymentEvent.Kind.REFUND_REQUESTED,
            actor=actor,
            from_status=payment.status,
            refund=refund,
            amount=amount,
            currency=payment.currency,
            comment=reason,
        )
        return refund, True


def adapter_class_capabilities(provider: str):
    from payments.providers import registry

    try:
        return registry.adapter_class(provider).capabilities
    except (registry.UnknownProvider, ImportError, AttributeError):
        return None


@transaction.atomic
def refund_complete(
    *,
    refund: Refund,
    succeeded: bool,
    actor,
    provider_reference: str = "",
    code: str = "",
    message: str = "",
    method: str = "",
) -> Refund:
    """Record the gateway's answer to a refund; a success moves the payment forward."""
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    payment = _locked(refund.payment_id)
    if refund.status != Refund.Status.PENDING:
        if refund.status == Refund.Status.FAILED and succeeded:
            return _refund_correct_to_succeeded(
                refund=refund,
                payment=payment,
                actor=actor,
                provider_reference=provider_reference,
                method=method,
            )
        if refund.status == Refund.Status.SUCCEEDED and not succeeded:
            _refund_conflict(
                refund=refund,
                actor=actor,
                reason=(
                    f"the gateway reported a failure ({code or 'no code'}: {message[:200]}) "
                    "for a refund recorded succeeded"
                ),
            )
        return refund  # the same answer again: nothing to do
    refund.provider_reference = provider_reference[:128]
    refund.completed_at = timezone.now()
    if not succeeded:
        _move(refund, "mark_failed", what="refund")
        refund.failure_code = code[:64]
        refund.failure_message = message[:500]
        save_audited(refund, actor=actor, reason="refund failed")
        _event(
            payment,
            kind=PaymentEvent.Kind.REFUND_FAILED,
            actor=actor,
            from_status=payment.status,
            refund=refund,
            amount=refund.amount,
            currency=refund.currency,
            method=method,
            reference=refund.provider_reference,
            data={"code": code, "message": message[:500]},
        )
        return refund
    _move(refund, "mark_succeeded", what="refund")
    save_audited(refund, actor=actor, reason="refund succeeded")
    _apply_refund_success(
        payment=payment,
        refund=refund,
        actor=actor,
        kind=PaymentEvent.Kind.REFUND_SUCCEEDED,
        method=method,
    )
    return refund


def _apply_refund_success(
    *, payment: Payment, refund: Refund, actor, kind: str, method: str, data=None
) -> None:
    source = payment.status
    payment.refunded_amount = payment.refunded_amount + refund.amount
    if payment.refunded_amount >= payment.amount:
        _move(payment, "mark_refunded", what="payment")
    else:
        _move(payment, "mark_partially_refunded", what="payment")
    save_audited(payment, actor=actor, reason=f"refund {refund.pk} succeeded")
    _event(
        payment,
        kind=kind,
        actor=actor,
        from_status=source,
        refund=refund,
        amount=refund.amount,
        currency=refund.currency,
        method=method,
        reference=refund.provider_reference,
        comment=refund.reason,
        data=data or {},
    )
    _announce(payment, "refunded", actor=actor, refund=refund)


def _refund_correct_to_succeeded(
    *, refund: Refund, payment: Payment, actor, provider_reference: str, method: str
) -> Refund:
    """The gateway reports a success for a refund payops recorded failed (a lookup settled it
    while the call was still in flight, or the gateway answered late): the money left, so the
    refund moves failed -> succeeded through the audited ``correct_to_succeeded`` transition
    (a ``refund_corrected`` event) and the payment counts it, hooks and webhook as for any
    refund. When the payment can no longer take it (its room was refunded again meanwhile)
    nothing is changed and a ``refund_stuck`` case is listed: an operator must decide."""
    from payments.selectors import payment_refundable_amount

    room = payment_refundable_amount(payment=payment)  # pending refunds keep their reservation
    if payment.status not in (Payment.Status.VERIFIED, Payment.Status.PARTIALLY_REFUNDED) or (
        refund.amount > room
    ):
        _refund_conflict(
            refund=refund,
            actor=actor,
            reason=(
                "the gateway reported a success for a refund recorded failed, and the payment "
                f"can no longer take it ({_money(room, refund.currency)} left): the customer "
                "may have been refunded twice"
            ),
        )
        return refund
    failure = {"failure_code": refund.failure_code, "failure_message": refund.failure_message}
    _move(refund, "correct_to_succeeded", what="refund")
    if provider_reference:
        refund.provider_reference = provider_reference[:128]
    refund.completed_at = timezone.now()
    refund.failure_code = ""
    refund.failure_message = ""
    save_audited(refund, actor=actor, reason="refund corrected: the gateway reports it succeeded")
    logger.error(
        "refund %s was recorded failed but the gateway reports it succeeded: corrected",
        refund.pk,
    )
    _apply_refund_success(
        payment=payment,
        refund=refund,
        actor=actor,
        kind=PaymentEvent.Kind.REFUND_CORRECTED,
        method=method,
        data={"corrected_from": Refund.Status.FAILED, **failure},
    )
    return refund


def _refund_conflict(*, refund: Refund, actor, reason: str) -> None:
    """A gateway answer contradicts a settled refund and cannot be applied: log and list it."""
    from exceptionqueue.services import exception_raise

    payment = refund.payment
    logger.error("refund %s (%s): %s", refund.pk, refund.status, reason)
    exception_raise(
        organization=payment.organization,
        kind="refund_stuck",
        dedup_key=f"refund_conflict:refund:{refund.pk}",
        message=(
            f"Refund {refund.pk} of {_money(refund.amount, refund.currency)} {refund.currency} "
            f"on payment {payment.order_number} is {refund.status} in payops: {reason}."
        ),
        actor=actor,
        subject=refund,
        branch=payment.branch,
        amount=refund.amount,
        currency=refund.currency,
        details={"refund": refund.pk, "order_number": payment.order_number, "reason": reason},
    )


def refund_gateway_id(refund: Refund) -> str:
    """Our reference of a refund, handed to the gateway wherever its protocol takes one."""
    return f"{refund.payment.order_number}-R{refund.pk}"


def payment_refund(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    actor,
    adapter=None,
    idempotency_key: str | None = None,
) -> Refund:
    """Refund part or all of a payment; the refunds never add up to more than the payment.

    1. Under the payment's row lock, in a transaction of its own that commits at once, the
       amount is reserved: a pending refund row is written only if pending + succeeded refunds
       + this one stay within the payment (concurrent requests queue on the lock, so two can
       never both pass). With an ``idempotency_key`` already used for this payment, that
       refund is returned and the gateway is not called again.
    2. The gateway is asked, outside any transaction and lock. Calling this service inside an
       open transaction is refused (``refund_in_transaction``): a rollback would lose the
       pending row while the gateway kept the money moved.
    3. Its answer is recorded in a second transaction: succeeded -> the payment becomes
       partially refunded or refunded; failed -> the reservation is released. If the outcome is
       unknown (gateway unreachable mid-call, or a crash while recording) the refund stays
       pending (reserved): ``refund_resolve`` (the janitor, or an operator) looks it up later.
    """
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    if not reason or not reason.strip():
        raise DomainError(
            "reason_required",
            "A refund needs a reason.",
            status_code=400,
            fields={"reason": ["This field is required."]},
        )
    currency = payment.currency
    if amount <= 0 or amount != round_money(amount, currency):
        raise DomainError(
            "invalid_amount",
            "The refund amount must be positive, in the currency's units.",
            status_code=400,
            fields={"amount": ["Must be a positive amount."]},
        )
    if _in_outer_transaction():
        raise DomainError(
            "refund_in_transaction",
            "payment_refund calls the gateway and must not run inside a transaction.",
            status_code=500,
        )
    refund, created = _refund_reserve(
        payment=payment,
        amount=amount,
        reason=reason.strip(),
        actor=actor,
        idempotency_key=idempotency_key,
    )
    if not created:
        return refund
    payment = refund.payment
    ended = True
    try:
        try:
            adapter = adapter or adapter_for_payment(payment)
            result = adapter.refund(
                provider_reference=payment.provider_reference or "",
                amount=amount,
                currency=currency,
                refund_id=refund_gateway_id(refund),
            )
        except ProviderError as exc:
            # A timeout after sending: the gateway may still be working on it, so the refund
            # counts as in flight until REFUND_STUCK_AFTER (see refund_in_flight).
            ended = exc.code != "transport_indeterminate"
            raise
        finally:
            if ended:
                # The gateway answered: from now on a lookup may settle the refund.
                refund.call_ended_at = timezone.now()
                Refund.objects.filter(pk=refund.pk).update(call_ended_at=refund.call_ended_at)
    except ProviderError as exc:
        if exc.code == "transport_indeterminate":
            logger.error("refund %s outcome unknown: %s", refund.pk, exc)
            Refund.objects.filter(pk=refund.pk).update(failure_message=str(exc)[:500])
            refund.refresh_from_db()
            return refund
        return refund_complete(
            refund=refund, succeeded=False, actor=actor, code=exc.code, message=str(exc)
        )
    except DomainError as exc:
        return refund_complete(
            refund=refund, succeeded=False, actor=actor, code=exc.code, message=exc.message
        )
    try:
        return refund_complete(
            refund=refund,
            succeeded=result.succeeded,
            actor=actor,
            provider_reference=result.provider_reference,
            code=result.code,
            message=result.message,
        )
    except Exception:
        # The gateway answered but recording failed: the refund stays pending (reserved) and
        # keeps the gateway's answer for refund_resolve and the operator.
        logger.exception("refund %s: recording the gateway's answer failed", refund.pk)
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            provider_reference=result.provider_reference[:128],
            failure_message=(
                f"Recording failed after the gateway answered "
                f"{'success' if result.succeeded else 'failure'} ({result.code})."
            )[:500],
        )
        raise


class RefundUnresolved(DomainError):
    """The gateway's answer does not settle a pending refund: an operator must decide."""


def refund_in_flight(refund: Refund, *, now=None) -> bool:
    """True while the refund's gateway call may still be running: no lookup may settle it yet.

    ``payment_refund`` stamps ``call_ended_at`` when the gateway answered (a result or an error,
    not a timeout after sending); a refund without it younger than ``REFUND_STUCK_AFTER`` is in
    flight (older: the gateway had its time, or the worker died mid-call)."""
    from payments.janitor import REFUND_STUCK_AFTER

    now = now or timezone.now()
    return refund.call_ended_at is None and refund.created_at > now - REFUND_STUCK_AFTER


def _pending_refunds(payment_id: int) -> dict[int, Decimal]:
    return dict(
        Refund.objects.filter(payment_id=payment_id, status=Refund.Status.PENDING).values_list(
            "pk", "amount"
        )
    )


def refund_resolve(*, refund: Refund, actor, adapter=None) -> Refund:
    """Settle a pending refund whose outcome is unknown by looking the order up at the gateway.

    Only a refund whose gateway call has ended (``call_ended_at``) or that is older than
    ``REFUND_STUCK_AFTER`` is looked up (``refund_in_flight``): while the call runs the lookup
    does not show it yet, and it is returned pending unchanged.

    Before the lookup, under the payment's lock, payops' succeeded total and the set of pending
    refunds are read (the snapshot). The gateway reports the order's total refunded amount
    (BPC ``paymentAmountInfo.refundedAmount``); beyond the snapshot's succeeded total
    (``delta``):

    - ``delta == 0``: no money moved for any pending refund: this one failed;
    - ``delta`` equals the sum of the snapshot's pending refunds: they all went through: this
      one succeeded (the others resolve the same way on their turn);
    - otherwise the answer is ambiguous (``RefundUnresolved``, 409): an operator decides.

    No lock is held during the lookup. The outcome is recorded under the locks after checking
    that nothing changed since the snapshot (a refund settled, requested or recorded
    meanwhile): if anything did, the answer is stale and the refund stays pending for the next
    run. A success reported later for a refund recorded failed is corrected by
    ``refund_complete``.
    """
    refund = Refund.objects.select_related("payment__organization", "payment__branch").get(
        pk=refund.pk
    )
    if refund.status != Refund.Status.PENDING:
        return refund
    if _in_outer_transaction():
        raise DomainError(
            "refund_in_transaction",
            "refund_resolve calls the gateway and must not run inside a transaction.",
            status_code=500,
        )
    if refund_in_flight(refund):
        logger.info("refund %s: gateway call still in flight, not resolved", refund.pk)
        return refund
    payment = refund.payment
    Refund.objects.filter(pk=refund.pk).update(last_checked_at=timezone.now())
    adapter = adapter or adapter_for_payment(payment)
    if not adapter.capabilities.status_lookup:
        raise RefundUnresolved(
            "refund_unresolvable",
            f"{payment.get_provider_display()} has no status lookup: resolve by hand.",
            status_code=409,
        )
    with transaction.atomic():
        snapshot_refunded = _locked(payment).refunded_amount
        snapshot_pending = _pending_refunds(payment.pk)
    try:
        status = adapter.status(
            provider_reference=payment.provider_reference or "",
            order_number=payment.order_number,
        )
    except ProviderError as exc:
        raise RefundUnresolved(
            "refund_lookup_failed", f"The gateway lookup failed: {exc}", status_code=503
        ) from exc
    if status.refunded_amount is None:
        raise RefundUnresolved(
            "refund_unresolvable",
            "The gateway's answer carries no refunded amount.",
            status_code=409,
        )
    pending = sum(snapshot_pending.values(), Decimal("0"))
    delta = status.refunded_amount - snapshot_refunded
    with transaction.atomic():
        # Lock order as in refund_complete: the refund, then the payment.
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        current = _locked(payment)
        if locked.status != Refund.Status.PENDING:
            return locked
        if (
            current.refunded_amount != snapshot_refunded
            or _pending_refunds(payment.pk) != snapshot_pending
        ):
            logger.info("refund %s: refunds changed during the lookup; next run", refund.pk)
            return locked
        if delta == 0:
            return refund_complete(
                refund=locked,
                succeeded=False,
                actor=actor,
                code="not_at_gateway",
                message="The gateway reports no refund beyond those already recorded.",
                method="lookup",
            )
        if delta == pending or (delta == refund.amount and pending == refund.amount):
            return refund_complete(
                refund=locked,
                succeeded=True,
                actor=actor,
                provider_reference=locked.provider_reference or status.provider_reference,
                method="lookup",
            )
    raise RefundUnresolved(
        "refund_outcome_ambiguous",
        f"The gateway reports {_money(status.refunded_amount, refund.currency)} refunded; "
        f"payops has {_money(snapshot_refunded, refund.currency)} succeeded and "
        f"{_money(pending, refund.currency)} pending: an operator must decide.",
        status_code=409,
    )


def refund_flag_stuck(*, refund: Refund, actor, reason: str):
    """List a refund whose outcome could not be settled for operators (one case per refund)."""
    from exceptionqueue.services import exception_raise

    payment = refund.payment
    return exception_raise(
        organization=payment.organization,
        kind="refund_stuck",
        dedup_key=f"refund_stuck:refund:{refund.pk}",
        message=(
            f"Refund {refund.pk} of {_money(refund.amount, refund.currency)} {refund.currency} "
            f"on payment {payment.order_number} is pending with an unknown outcome: {reason}"
        ),
        actor=actor,
        subject=refund,
        branch=payment.branch,
        amount=refund.amount,
        currency=refund.currency,
        details={"refund": refund.pk, "order_number": payment.order_number, "reason": reason},
    )


def refund_unflag(*, refund: Refund, actor) -> None:
    from exceptionqueue.services import exception_clear

    exception_clear(
        organization=refund.payment.organization,
        dedup_key=f"refund_stuck:refund:{refund.pk}",
        actor=actor,
        note=f"refund {refund.status} after a gateway lookup",
    )


# -- the sandbox round trip -----------------------------------------------------------------------


def sandbox_pay(*, payment: Payment, outcome: str, actor) -> Payment:
    """A whole payment through the built-in sandbox gateway, as a customer would make it.

    The order is registered with ``register.do``; the customer's decision is posted to the
    checkout page (``formUrl``); the sandbox sends its signed callback to
    ``/callbacks/sandbox/``, which looks the order up (``getOrderStatusExtended.do``) and
    verifies or declines the payment. Returns the payment as it then is.
    """
    from payments import sandbox
    from payments.providers import registry

    if not settings.PAYOPS_SANDBOX:
        raise DomainError("sandbox_disabled", "The sandbox gateway is off.", status_code=404)
    if outcome not in ("approved", "declined"):
        raise DomainError(
            "invalid_outcome",
            "outcome is approved or declined.",
            status_code=400,
            fields={"outcome": ["Must be approved or declined."]},
        )
    if payment.provider != Payment.Provider.SANDBOX:
        raise DomainError(
            "not_a_sandbox_payment",
            "Only sandbox payments go through the sandbox.",
            status_code=422,
        )
    with sandbox.gateway_client() as client:
        adapter = registry.sandbox_adapter(http=client)
        payment = payment_register_order(payment=payment, actor=actor, adapter=adapter)
        if not payment.payment_url:
            raise DomainError(
                "sandbox_failed", "The sandbox gave no checkout page.", status_code=502
            )
        try:
            response = client.post(
                payment.payment_url, data={"decision": outcome}, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise DomainError(
                "sandbox_failed", f"The sandbox checkout failed: {exc}", status_code=502
            ) from exc
        if response.status_code not in (302, 303):
            raise DomainError(
                "sandbox_failed",
                f"The sandbox checkout answered HTTP {response.status_code}.",
                status_code=502,
            )
        payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
        if payment.status == Payment.Status.PENDING:
            # The callback did not arrive or was refused: the lookup decides.
            payment = payment_check_status(
                payment=payment,
                actor=actor,
                adapter=adapter,
                method=Payment.VerificationMethod.LOOKUP,
            )
    return payment
