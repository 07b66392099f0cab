"""Writes for provider payments. Every change runs here, under a row lock, with audit rows."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
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
            return payment_expire(payment=payment, actor=actor, reason="window passed, no lookup")
        _schedule_next_check(payment, now=now)
        return payment
    except ProviderError as exc:
        if exc.code == "unknown_order" and overdue:
            return payment_expire(payment=payment, actor=actor, reason="never registered")
        if payment.expires_at is not None and now >= payment.expires_at + UNKNOWN_GIVE_UP:
            return payment_expire(
                payment=payment, actor=actor, reason=f"gateway unreachable: {exc}"
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
            return payment_expire(payment=payment, actor=actor, reason="window passed, unpaid")
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


@transaction.atomic
def _refund_reserve(*, payment: Payment, amount: Decimal, reason: str, actor) -> Refund:
    payment = _locked(payment)
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
    if adapter_caps is not None and not adapter_caps.partial_refunds and amount != payment.amount:
        raise DomainError(
            "partial_refund_not_supported",
            "This gateway refunds whole payments only.",
            status_code=422,
        )
    reserved = Refund.objects.filter(
        payment=payment, status__in=[Refund.Status.PENDING, Refund.Status.SUCCEEDED]
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    if amount + reserved > payment.amount:
        raise DomainError(
            "refund_exceeds_payment",
            f"Refunds would total {amount + reserved} {payment.currency}, more than the "
            f"payment's {payment.amount} (already refunded or pending: {reserved}).",
            status_code=422,
            fields={"amount": [f"At most {payment.amount - reserved} can still be refunded."]},
        )
    refund = Refund(
        payment=payment,
        organization_id=payment.organization_id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        actor=actor,
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
    return refund


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
) -> Refund:
    """Record the gateway's answer to a refund; a success moves the payment forward."""
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    payment = _locked(refund.payment_id)
    if refund.status != Refund.Status.PENDING:
        return refund
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
            reference=refund.provider_reference,
            data={"code": code, "message": message[:500]},
        )
        return refund
    _move(refund, "mark_succeeded", what="refund")
    save_audited(refund, actor=actor, reason="refund succeeded")
    source = payment.status
    payment.refunded_amount = payment.refunded_amount + refund.amount
    if payment.refunded_amount >= payment.amount:
        _move(payment, "mark_refunded", what="payment")
    else:
        _move(payment, "mark_partially_refunded", what="payment")
    save_audited(payment, actor=actor, reason=f"refund {refund.pk} succeeded")
    _event(
        payment,
        kind=PaymentEvent.Kind.REFUND_SUCCEEDED,
        actor=actor,
        from_status=source,
        refund=refund,
        amount=refund.amount,
        currency=refund.currency,
        reference=refund.provider_reference,
        comment=refund.reason,
    )
    _announce(payment, "refunded", actor=actor, refund=refund)
    return refund


def payment_refund(
    *, payment: Payment, amount: Decimal, reason: str, actor, adapter=None
) -> Refund:
    """Refund part or all of a payment; the refunds never add up to more than the payment.

    1. Under the payment's row lock the amount is reserved: a pending refund row is written only
       if pending + succeeded refunds + this one stay within the payment (concurrent requests
       queue on the lock, so two can never both pass).
    2. The gateway is asked (outside the lock when the caller has no transaction open).
    3. Its answer is recorded: succeeded -> the payment becomes partially refunded or refunded;
       failed -> the reservation is released. If the gateway cannot be reached the refund stays
       pending (reserved) for an operator, because the money may have moved.
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
    refund = _refund_reserve(payment=payment, amount=amount, reason=reason.strip(), actor=actor)
    payment = refund.payment
    try:
        adapter = adapter or adapter_for_payment(payment)
        result = adapter.refund(
            provider_reference=payment.provider_reference or "",
            amount=amount,
            currency=currency,
            refund_id=f"{payment.order_number}-R{refund.pk}",
        )
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
    return refund_complete(
        refund=refund,
        succeeded=result.succeeded,
        actor=actor,
        provider_reference=result.provider_reference,
        code=result.code,
        message=result.message,
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
