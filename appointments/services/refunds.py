"""Refunds of appointment payments: the policy's path, and the refund the operator decides.

Rules, not decisions: ``refund_path`` says what the cancellation policy allows (the share, the
refundable amount, inside or outside the window, the policy version); nothing is refunded until
someone asks (``appointment_refund``). Refunds go through the payments core
(``payments.services.payment_refund``) with reason and actor; the request follows through the
payments hook.

The share a request's policy version allows:
- a request under manual review (paid after it expired): 100 %;
- cancelled by the clinic: 100 %; by the customer: ``refund_percent_before`` when cancelled at
  least ``window_hours`` before the slot, ``refund_percent_after`` inside the window;
- no-show: ``no_show_refund_percent``; completed: 0 %;
- still booked or rescheduled: what a customer cancelling now would get.
Above that share a refund needs ``override_reason`` and the actor's
``appointments.override_refund_policy`` permission (422 ``refund_outside_policy`` otherwise);
above what is paid and not yet refunded it is 422 ``refund_exceeds_payment``.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from appointments import events
from appointments.errors import AppointmentError
from appointments.locks import appointment_lock, requests_lock
from appointments.models import Appointment, CancellationPolicy, PaymentRequest
from core.clock import clock_now
from core.errors import CoreError
from core.money import round_money
from payments.errors import PaymentError

HUNDRED = Decimal("100")
REFUNDABLE = (
    PaymentRequest.Status.PAID,
    PaymentRequest.Status.PARTIALLY_REFUNDED,
    PaymentRequest.Status.MANUAL_REVIEW,
)
OVERRIDE_PERMISSION = "appointments.override_refund_policy"
ADVISORY_NAMESPACE = 0x4150  # "AP": appointment refunds, in the high half of the lock key


def governing_policy(appointment: Appointment) -> CancellationPolicy:
    """The policy version the money follows: the newest request's, else the booking's."""
    latest = (
        PaymentRequest.objects.filter(appointment=appointment)
        .select_related("policy")
        .order_by("-pk")
        .first()
    )
    return latest.policy if latest is not None else appointment.policy


def _within_window(appointment: Appointment, policy: CancellationPolicy, at: dt.datetime) -> bool:
    return (appointment.starts_at - at) < dt.timedelta(hours=policy.window_hours)


def policy_share(
    appointment: Appointment, request: PaymentRequest, *, now: dt.datetime
) -> tuple[Decimal, bool | None]:
    """(percent the request's policy version allows, inside the window or None)."""
    policy = request.policy
    status = appointment.status
    if request.status == PaymentRequest.Status.MANUAL_REVIEW:
        return HUNDRED, None
    if status == Appointment.Status.CANCELLED:
        within = _within_window(appointment, policy, appointment.cancelled_at or now)
        if appointment.cancelled_by == Appointment.CancelledBy.CLINIC:
            return HUNDRED, within
        return (policy.refund_percent_after if within else policy.refund_percent_before), within
    if status == Appointment.Status.NO_SHOW:
        return policy.no_show_refund_percent, None
    if status == Appointment.Status.COMPLETED:
        return Decimal("0"), None
    within = _within_window(appointment, policy, now)
    return (policy.refund_percent_after if within else policy.refund_percent_before), within


def request_refund_path(
    appointment: Appointment, request: PaymentRequest, *, now: dt.datetime
) -> dict[str, Any]:
    """The policy's path for one request. ``refunded_amount`` counts pending refunds too (they
    are reserved at the payments core), so a second refund never gets the same share again."""
    from payments.selectors import payment_pending_refund_amount

    payment = request.payment
    paid = payment.amount if request.status in REFUNDABLE else Decimal("0")
    refunded = payment.refunded_amount + payment_pending_refund_amount(payment=payment)
    share, within = policy_share(appointment, request, now=now)
    allowed = round_money(paid * share / HUNDRED, request.currency) if paid else Decimal("0")
    return {
        "payment_request": request.pk,
        "kind": request.kind,
        "status": request.status,
        "currency": request.currency,
        "paid_amount": str(paid),
        "refunded_amount": str(refunded),
        "share_percent": str(share),
        "refundable_amount": str(max(allowed - refunded, Decimal("0")) if paid else "0.00"),
        "within_window": within,
        "policy_version": request.policy.version,
    }


def refund_path(appointment: Appointment, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the policy allows to refund now, over the appointment's requests holding money."""
    now = now or clock_now(appointment.organization)
    policy = governing_policy(appointment)
    requests = [
        request_refund_path(appointment, request, now=now)
        for request in appointment.payment_requests.select_related("payment", "policy").order_by(
            "pk"
        )
        if request.status in REFUNDABLE
    ]
    at = appointment.cancelled_at or now
    by_currency: dict[str, Decimal] = {}
    for item in requests:
        currency = item["currency"]
        by_currency[currency] = by_currency.get(currency, Decimal("0")) + Decimal(
            item["refundable_amount"]
        )
    # The flat figure is one currency's: the requests' only one; with several, the
    # organisation's default currency if it is among them, else the first by code (before, the
    # amounts of different currencies were added up). ``refundable_by_currency`` has them all.
    default = appointment.organization.default_currency
    currency = default if default in by_currency or not by_currency else sorted(by_currency)[0]
    return {
        "refundable_amount": str(round_money(by_currency.get(currency, Decimal("0")), currency)),
        "currency": currency if by_currency else None,
        "refundable_by_currency": [
            {"currency": code, "refundable_amount": str(round_money(amount, code))}
            for code, amount in sorted(by_currency.items())
        ],
        "within_window": _within_window(appointment, policy, at),
        "policy": policy.code,
        "policy_version": policy.version,
        "window_hours": policy.window_hours,
        "requests": requests,
    }


@transaction.atomic
def _refund_check(
    *,
    appointment: Appointment,
    amount: Decimal,
    override_reason: str,
    payment_request_id: int | None,
    actor,
) -> tuple[PaymentRequest, dict[str, Any]]:
    from payments.selectors import payment_refundable_amount

    appointment = appointment_lock(appointment)
    requests = [r for r in requests_lock(appointment) if r.status in REFUNDABLE]
    if payment_request_id is not None:
        requests = [r for r in requests if r.pk == payment_request_id]
        if not requests:
            raise AppointmentError.NOTHING_PAID.error(
                "This payment request holds no money to refund."
            )
    if not requests:
        raise AppointmentError.NOTHING_PAID.error()
    if len(requests) > 1:
        raise AppointmentError.PAYMENT_REQUEST_REQUIRED.error(
            fields={"payment_request": [f"One of {', '.join(str(r.pk) for r in requests)}."]}
        )
    request = requests[0]
    left = payment_refundable_amount(payment=request.payment)
    if amount > left:
        raise PaymentError.REFUND_EXCEEDS_PAYMENT.error(
            f"{amount} {request.currency} is more than the {left} {request.currency} paid and "
            "not yet refunded.",
            fields={"amount": [f"At most {left}."]},
        )
    path = request_refund_path(appointment, request, now=clock_now(appointment.organization))
    allowed = Decimal(path["refundable_amount"])
    path["outside_policy"] = amount > allowed
    if amount > allowed:
        if not override_reason:
            raise AppointmentError.REFUND_OUTSIDE_POLICY.error(
                f"The policy ({request.policy.code} v{request.policy.version}, "
                f"{path['share_percent']} %) allows {allowed} {request.currency}; a larger refund "
                "needs override_reason.",
                fields={"override_reason": ["Required above the policy's share."]},
            )
        if not actor.has_perm(OVERRIDE_PERMISSION):
            raise AppointmentError.REFUND_OUTSIDE_POLICY.error(
                f"The policy allows {allowed} {request.currency}; your role may not override it."
            )
    return request, path


@contextmanager
def _refunds_serialized(appointment: Appointment):
    """One refund of an appointment at a time, from the policy check until the payments core
    has reserved the amount: otherwise two refunds could each pass the policy's share before
    either is reserved. A PostgreSQL session advisory lock (it spans the check's transaction and
    ``payment_refund``'s own ones, which must not run inside ours); elsewhere (SQLite, tests)
    writes are serialised by the database anyway."""
    if connection.vendor != "postgresql":
        yield
        return
    key = ADVISORY_NAMESPACE * 2**32 + appointment.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def appointment_refund(
    *,
    appointment: Appointment,
    amount: Decimal,
    reason: str,
    actor,
    override_reason: str = "",
    payment_request_id: int | None = None,
    idempotency_key: str | None = None,
    adapter=None,
):
    """Refund (part of) what an appointment's request holds, through the payments core.

    The amount is checked against what is paid and the policy's share under the appointment's
    lock; the gateway is then called outside any transaction (``payment_refund`` reserves the
    amount under the payment's lock, so two refunds never exceed the payment). The request
    becomes partially refunded or refunded through the payments hook; a ``refund`` event keeps
    reason, override reason, the policy path, actor and request id. Returns the ``Refund``.
    """
    from payments.services import payment_refund

    reason = (reason or "").strip()
    if not reason:
        raise CoreError.REASON_REQUIRED.error(fields={"reason": ["This field is required."]})
    override_reason = (override_reason or "").strip()
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    with _refunds_serialized(appointment):
        request, path = _refund_check(
            appointment=appointment,
            amount=amount,
            override_reason=override_reason,
            payment_request_id=payment_request_id,
            actor=actor,
        )
        refund = payment_refund(
            payment=request.payment,
            amount=amount,
            reason=f"{reason} (override: {override_reason})" if path["outside_policy"] else reason,
            actor=actor,
            adapter=adapter,
            idempotency_key=idempotency_key,
        )
    with transaction.atomic():
        if not request.events.filter(kind="refund", data__refund=refund.pk).exists():
            events.refund_recorded(
                request,
                refund=refund,
                actor=actor,
                reason=reason,
                data={
                    "override_reason": override_reason if path["outside_policy"] else "",
                    "outside_policy": path["outside_policy"],
                    "policy_version": path["policy_version"],
                    "share_percent": path["share_percent"],
                    "policy_refundable_amount": path["refundable_amount"],
                },
            )
    return refund
