"""Payment requests: a deposit, prepayment or full payment asked for an appointment.

- ``payment_request_create``: the request and its provider payment commit together (one active
  request of a kind per appointment, by a conditional unique constraint); then the order is
  registered at the gateway outside any transaction, which gives the payment link.
- ``payment_requests_expire_due``: the due-work runner (``appointments.expire``) that expires
  unpaid requests at their time, by the organisation's clock (the sandbox test clock included).
- ``on_payment_change``: the payments hook. A payment verified for a pending request pays it; one
  arriving for an expired request moves it to ``manual_review`` and lists
  ``late_appointment_payment``, never to paid. A refund moves it to (partially) refunded.
- ``payment_request_forfeit`` / ``payment_request_accept``: the operator's decisions.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from appointments import events
from appointments.errors import AppointmentError
from appointments.exception_kinds import (
    CANCELLED_PAID_UNDECIDED,
    LATE_APPOINTMENT_PAYMENT,
    NO_SHOW_PAID_UNDECIDED,
)
from appointments.locks import appointment_lock, request_lock
from appointments.models import Appointment, AppointmentEvent, PaymentRequest
from appointments.services.policies import policy_in_force
from core.audit import save_audited
from core.clock import clock_now
from core.errors import CoreError
from core.fsm import transition_apply
from core.money import check_amount_bound, round_money

logger = logging.getLogger("payops.appointments")


def _provider(organization, provider: str | None) -> str:
    """``provider`` if the organisation has it active; else its only active gateway; else the
    sandbox where it is on."""
    from payments.models import Payment, ProviderAccount

    sandbox = Payment.Provider.SANDBOX
    accounts = ProviderAccount.objects.filter(organization=organization, is_active=True)
    if provider == sandbox or (provider is None and settings.PAYOPS_SANDBOX):
        active = sorted(set(accounts.exclude(provider=sandbox).values_list("provider", flat=True)))
        if provider is None and len(active) == 1:
            return active[0]
        if not settings.PAYOPS_SANDBOX:
            raise CoreError.NOT_FOUND.error("The sandbox gateway is off.")
        return sandbox
    if provider:
        if not accounts.filter(provider=provider).exists():
            raise AppointmentError.GATEWAY_NOT_CONFIGURED.error(
                f"The organisation has no active {provider} account."
            )
        return provider
    active = sorted(set(accounts.exclude(provider=sandbox).values_list("provider", flat=True)))
    if len(active) != 1:
        raise AppointmentError.GATEWAY_NOT_CONFIGURED.error(
            "Name the gateway (provider)." if active else None,
            fields={"provider": [f"One of {', '.join(active)}."]} if active else None,
        )
    return active[0]


def _expiry(organization, *, expires_in_minutes: int | None, expires_at: dt.datetime | None):
    now = clock_now(organization)
    field = "expires_at" if expires_at is not None else "expires_in_minutes"
    if expires_at is None:
        expires_at = now + dt.timedelta(minutes=expires_in_minutes or 0)
    if expires_at <= now:
        raise AppointmentError.EXPIRY_IN_PAST.error(
            f"The request would expire at {expires_at.isoformat()}, not after now "
            f"({now.isoformat()}, the organisation's clock).",
            fields={field: ["Must be in the future."]},
        )
    return now, expires_at


@transaction.atomic
def _request_write(
    *,
    appointment: Appointment,
    kind: str,
    amount: Decimal,
    currency: str,
    expires_at: dt.datetime | None,
    expires_in_minutes: int | None,
    provider: str | None,
    actor,
    idempotency_key: str | None,
) -> PaymentRequest:
    from payments.models import Payment
    from payments.selectors import provider_account_get
    from payments.services import gateway_validity_seconds, payment_create

    appointment = appointment_lock(appointment)
    if idempotency_key:
        earlier = PaymentRequest.objects.filter(
            organization_id=appointment.organization_id, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return earlier
    if not appointment.is_open:
        raise AppointmentError.APPOINTMENT_CLOSED.error(
            f"A {appointment.status} appointment takes no new payment request."
        )
    if kind not in PaymentRequest.Kind.values:
        raise ValueError(f"Unknown payment request kind {kind!r}.")  # the API validates it
    amount = check_amount_bound(round_money(amount, currency), currency)
    now, expires_at = _expiry(
        appointment.organization, expires_in_minutes=expires_in_minutes, expires_at=expires_at
    )
    active = PaymentRequest.objects.filter(
        appointment=appointment, kind=kind, status__in=PaymentRequest.ACTIVE_STATUSES
    ).first()
    if active is not None:
        raise AppointmentError.ACTIVE_REQUEST_EXISTS.error(
            f"Request #{active.pk} ({active.kind}, {active.status}) is still active."
        )
    provider = _provider(appointment.organization, provider)
    account = provider_account_get(organization=appointment.organization, provider=provider)
    window = max(
        int((expires_at - now).total_seconds()), gateway_validity_seconds(provider, account), 60
    )
    payment = payment_create(
        organization=appointment.organization,
        branch=appointment.branch,
        provider=provider,
        purpose=Payment.Purpose.APPOINTMENT,
        amount=amount,
        currency=currency,
        actor=actor,
        # Ids only: a payment description travels to the gateway and its reports.
        description=f"Appointment {appointment.pk} ({kind})",
        window_seconds=window,
    )
    request = PaymentRequest(
        organization_id=appointment.organization_id,
        appointment=appointment,
        kind=kind,
        amount=amount,
        currency=currency,
        expires_at=expires_at,
        policy=policy_in_force(appointment.policy),
        payment=payment,
        idempotency_key=idempotency_key or None,
    )
    try:
        with transaction.atomic():
            save_audited(request, actor=actor, reason=f"{kind} requested")
    except IntegrityError:
        raise AppointmentError.ACTIVE_REQUEST_EXISTS.error() from None
    events.request_transitioned(
        request, kind=AppointmentEvent.Kind.REQUEST_CREATED, from_status="", actor=actor
    )
    return request


def payment_request_create(
    *,
    appointment: Appointment,
    kind: str,
    amount: Decimal,
    currency: str,
    actor,
    expires_in_minutes: int | None = None,
    expires_at: dt.datetime | None = None,
    provider: str | None = None,
    idempotency_key: str | None = None,
    return_url: str = "",
    adapter=None,
) -> PaymentRequest:
    """Ask for a payment: the request (pending) with its provider payment, then the gateway
    order, whose ``payment_url`` the customer pays at. Must not run inside a transaction: the
    gateway call happens after the request committed. A retry with the same ``idempotency_key``
    finds the first request and only registers its order if that was lost."""
    from payments.services import payment_register_order

    request = _request_write(
        appointment=appointment,
        kind=kind,
        amount=amount,
        currency=currency,
        expires_at=expires_at,
        expires_in_minutes=expires_in_minutes,
        provider=provider,
        actor=actor,
        idempotency_key=idempotency_key,
    )
    if request.payment.status == request.payment.Status.PENDING:
        payment_register_order(
            payment=request.payment, actor=actor, adapter=adapter, return_url=return_url
        )
    return PaymentRequest.objects.select_related("payment", "policy", "appointment").get(
        pk=request.pk
    )


def request_expire_locked(request: PaymentRequest, *, actor, reason: str) -> PaymentRequest:
    """Expire a pending request the caller holds locked (appointment first)."""
    source = request.status
    transition_apply(request, "expire", what="payment request")
    save_audited(request, actor=actor, reason=reason)
    events.request_transitioned(
        request,
        kind=AppointmentEvent.Kind.REQUEST_EXPIRED,
        from_status=source,
        actor=actor,
        reason=reason,
    )
    return request


def payment_requests_expire_due(*, organization, now: dt.datetime, actor) -> dict[str, int]:
    """Due work ``appointments.expire``: expire the organisation's unpaid requests whose time
    has come by ``now`` (its clock). Idempotent: each is re-checked under its locks."""
    due = list(
        PaymentRequest.objects.filter(
            organization=organization,
            status=PaymentRequest.Status.PENDING,
            expires_at__lte=now,
        )
        .order_by("expires_at", "pk")
        .values_list("pk", "appointment_id")
    )
    expired = 0
    for request_id, appointment_id in due:
        with transaction.atomic():
            appointment_lock(appointment_id)
            request = request_lock(request_id)
            if request.status != PaymentRequest.Status.PENDING or request.expires_at > now:
                continue
            request_expire_locked(request, actor=actor, reason="not paid in time")
            expired += 1
    return {"appointment_requests_expired": expired}


# -- the payments hook ----------------------------------------------------------------------------


def on_payment_change(change) -> None:
    """``payments.hooks`` listener: runs inside the transaction that changed the payment (which
    the payments core holds locked), so the request follows the payment atomically."""
    payment = change.payment
    if payment.purpose != payment.Purpose.APPOINTMENT:
        return
    found = PaymentRequest.objects.filter(payment_id=payment.pk).values_list("pk", "appointment_id")
    for request_id, appointment_id in found:
        appointment_lock(appointment_id)
        request = request_lock(request_id)
        request.payment = payment
        if change.kind == "verified":
            _on_verified(request, actor=change.actor)
        elif change.kind in ("declined", "expired"):
            if request.status == PaymentRequest.Status.PENDING:
                request_expire_locked(request, actor=change.actor, reason=f"payment {change.kind}")
        elif change.kind == "refunded":
            _on_refunded(request, refund=change.refund, actor=change.actor)


def _on_verified(request: PaymentRequest, *, actor) -> None:
    now = clock_now(request.organization)
    if request.status == PaymentRequest.Status.PENDING and request.expires_at <= now:
        # Paid after its time, before the expiry runner came by: expired all the same.
        request_expire_locked(request, actor=actor, reason="not paid in time")
    if request.status == PaymentRequest.Status.PENDING:
        transition_apply(request, "mark_paid", what="payment request")
        request.paid_at = request.payment.verified_at or now
        save_audited(request, actor=actor, reason="paid")
        events.request_transitioned(
            request,
            kind=AppointmentEvent.Kind.REQUEST_PAID,
            from_status=PaymentRequest.Status.PENDING,
            actor=actor,
            data={"payment_status": request.payment.status},
        )
    elif request.status == PaymentRequest.Status.EXPIRED:
        _hold_for_review(request, actor=actor)


def _hold_for_review(request: PaymentRequest, *, actor) -> None:
    from exceptionqueue.services import exception_raise

    transition_apply(request, "hold_for_review", what="payment request")
    save_audited(request, actor=actor, reason="payment arrived after the request expired")
    events.request_transitioned(
        request,
        kind=AppointmentEvent.Kind.REQUEST_MANUAL_REVIEW,
        from_status=PaymentRequest.Status.EXPIRED,
        actor=actor,
        reason="payment arrived after the request expired",
        data={"payment": request.payment_id},
    )
    logger.warning(
        "appointment payment request %s: payment %s arrived after expiry, held for review",
        request.pk,
        request.payment.order_number,
    )
    exception_raise(
        organization=request.organization,
        kind=LATE_APPOINTMENT_PAYMENT,
        dedup_key=f"{LATE_APPOINTMENT_PAYMENT}:request:{request.pk}",
        message=(
            f"Payment {request.payment.order_number} ({request.amount} {request.currency}) "
            f"arrived after appointment request #{request.pk} expired: accept it or refund it."
        ),
        actor=actor,
        subject=request,
        branch=request.appointment.branch,
        amount=request.amount,
        currency=request.currency,
        details={
            "payment_request": request.pk,
            "appointment": request.appointment_id,
            "payment": request.payment_id,
        },
    )


def _on_refunded(request: PaymentRequest, *, refund, actor) -> None:
    from payments.models import Payment

    if request.status not in PaymentRequest.HOLDING_STATUSES:
        return  # a forfeited or expired request: the daily reconciliation lists the mismatch
    source = request.status
    full = request.payment.status == Payment.Status.REFUNDED
    transition_apply(
        request, "mark_refunded" if full else "mark_partially_refunded", what="payment request"
    )
    save_audited(request, actor=actor, reason=f"refund {refund.pk if refund else ''}".strip())
    events.request_transitioned(
        request,
        kind=(
            AppointmentEvent.Kind.REQUEST_REFUNDED
            if full
            else AppointmentEvent.Kind.REQUEST_PARTIALLY_REFUNDED
        ),
        from_status=source,
        actor=actor,
        amount=refund.amount if refund is not None else None,
        data={
            "refund": refund.pk if refund is not None else None,
            "refunded_amount": str(request.payment.refunded_amount),
        },
    )
    _clear_undecided(request, actor=actor, note="refunded")


def _clear_undecided(request: PaymentRequest, *, actor, note: str) -> None:
    from exceptionqueue.services import exception_clear

    for kind in (CANCELLED_PAID_UNDECIDED, NO_SHOW_PAID_UNDECIDED, LATE_APPOINTMENT_PAYMENT):
        exception_clear(
            organization=request.organization,
            dedup_key=f"{kind}:request:{request.pk}",
            actor=actor,
            note=note,
        )


def undecided_case_close_guard(case) -> None:
    """A late payment held for review (``late_appointment_payment``) and the money of a cancelled
    or no-show appointment (``cancelled_paid_undecided``, ``no_show_paid_undecided``) are decided
    on the payment request: accept, forfeit or refund, each of which clears the case. A bare
    resolve or dismiss while the request still waits for that decision is refused: it left the
    money undecided and the accounting period closable. Registered in ``AppointmentsConfig``."""
    request = (
        PaymentRequest.objects.filter(
            organization_id=case.organization_id,
            pk=(case.details or {}).get("payment_request"),
        )
        .select_related("appointment")
        .first()
    )
    if request is None:
        return
    if case.kind == LATE_APPOINTMENT_PAYMENT:
        undecided = request.status == PaymentRequest.Status.MANUAL_REVIEW
        decide = "accept it or refund it"
    else:
        undecided = request.status == PaymentRequest.Status.PAID and request.appointment.status in (
            Appointment.Status.CANCELLED,
            Appointment.Status.NO_SHOW,
        )
        decide = "forfeit it (keep the payment) or refund it"
    if undecided:
        raise AppointmentError.DECIDED_BY_PAYMENT_DECISION.error(
            f"Payment request #{request.pk} still waits for its decision: {decide} on the "
            f"request's page in the admin, or with POST appointments/{request.appointment_id}/"
            "refunds/; the decision resolves this case."
        )


# -- operator decisions ---------------------------------------------------------------------------


@transaction.atomic
def payment_request_forfeit(*, request: PaymentRequest, reason: str, actor) -> PaymentRequest:
    """The clinic keeps what is paid (a cancelled or no-show appointment): a decision with a
    reason, never automatic."""
    reason = (reason or "").strip()
    if not reason:
        raise CoreError.REASON_REQUIRED.error(fields={"reason": ["This field is required."]})
    appointment = appointment_lock(request.appointment_id)
    request = request_lock(request)
    if appointment.status not in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW):
        raise CoreError.TRANSITION_NOT_ALLOWED.error(
            f"Only a cancelled or no-show appointment's payment is forfeited "
            f"(this one is {appointment.status})."
        )
    source = request.status
    transition_apply(request, "forfeit", what="payment request")
    save_audited(request, actor=actor, reason=f"forfeited: {reason}")
    events.request_transitioned(
        request,
        kind=AppointmentEvent.Kind.REQUEST_FORFEITED,
        from_status=source,
        actor=actor,
        reason=reason,
        amount=request.payment.amount - request.payment.refunded_amount,
    )
    _clear_undecided(request, actor=actor, note="forfeited")
    return request


@transaction.atomic
def payment_request_accept(*, request: PaymentRequest, reason: str, actor) -> PaymentRequest:
    """Accept a late payment held for review: the request becomes paid (with a reason)."""
    from exceptionqueue.services import exception_clear

    reason = (reason or "").strip()
    if not reason:
        raise CoreError.REASON_REQUIRED.error(fields={"reason": ["This field is required."]})
    appointment_lock(request.appointment_id)
    request = request_lock(request)
    transition_apply(request, "accept", what="payment request")
    request.paid_at = request.payment.verified_at or clock_now(request.organization)
    save_audited(request, actor=actor, reason=f"late payment accepted: {reason}")
    events.request_transitioned(
        request,
        kind=AppointmentEvent.Kind.REQUEST_ACCEPTED,
        from_status=PaymentRequest.Status.MANUAL_REVIEW,
        actor=actor,
        reason=reason,
    )
    exception_clear(
        organization=request.organization,
        dedup_key=f"{LATE_APPOINTMENT_PAYMENT}:request:{request.pk}",
        actor=actor,
        note="late payment accepted",
    )
    return request
