"""Writes of Smart QR payouts. Every function here is the only way its rows change.

Locking order (to stay free of deadlocks), everywhere: the accounting period row, then recipient
rows (by id, ``FOR NO KEY UPDATE``), then payment rows (by id), then pending adjustment rows; a
payout row is locked alone, and after it only the adjustments carried from it (cancel, reversal).
A refund (payments) locks its payment and then, through ``on_payment_change``, the payout that
holds it; nothing here locks a payment after a payout, or a period after a recipient.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Sum
from django.utils import timezone
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm
from simple_history.utils import bulk_create_with_history

from core.audit import save_audited
from core.errors import DomainError
from core.models import Branch, Organization
from core.money import CURRENCIES, round_money
from core.queueing import enqueue_on_commit
from payouts.exception_kinds import (
    COMPLETED_WITHOUT_REFERENCE,
    DUPLICATE_ACTIVE_PAYOUT,
    LATE_PAYMENT_IN_CLOSED_PERIOD,
    NO_VERIFIED_PAYMENTS,
    PERIOD_BUILD_FAILED,
    REFUND_DRIFT,
)
from payouts.fees import fee_compute
from payouts.models import (
    FeePolicy,
    Payout,
    PayoutAdjustment,
    PayoutAdjustmentVoid,
    PayoutEvent,
    PayoutLine,
    PayoutPeriod,
    PayoutReversal,
    QrCode,
    QrPayment,
    Recipient,
)

logger = logging.getLogger(__name__)

Status = Payout.Status
Line = PayoutLine.Kind
EventKind = PayoutEvent.Kind


TRANSITION_TARGETS = {
    Status.PROCESSING: "start_processing",
    Status.COMPLETED: "complete",
    Status.CANCELLED: "cancel",
}
DRIFT_DECISIONS = ("recalculate", "carry")


# --- helpers -----------------------------------------------------------------------------------


def _payment_model():
    from payments.models import Payment

    return Payment


def local_window(organization: Organization, start: dt.date, end: dt.date):
    """Inclusive local dates -> the half-open aware window [start 00:00, end+1 00:00)."""
    tz = organization.tz
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def eligible_payments(
    *, organization: Organization, start: dt.date, end: dt.date, recipient=None, currency=None
) -> QuerySet:
    """Verified QR payments in the local date range that no holding payout line holds yet,
    with something left after refunds (annotated ``available``)."""
    payment_model = _payment_model()
    window_start, window_end = local_window(organization, start, end)
    held = PayoutLine.objects.filter(payment=OuterRef("pk"), kind=Line.PAYMENT, active=True)
    qs = (
        payment_model.objects.filter(
            organization=organization,
            qr_payment__isnull=False,
            status__in=payment_model.SETTLED_STATUSES,
            verified_at__gte=window_start,
            verified_at__lt=window_end,
            amount__gt=F("refunded_amount"),
        )
        .annotate(available=F("amount") - F("refunded_amount"))
        .filter(~Exists(held))
    )
    if recipient is not None:
        qs = qs.filter(qr_payment__recipient=recipient)
    if currency is not None:
        qs = qs.filter(currency=currency)
    return qs


def fee_policy_terms(*, organization: Organization, currency: str) -> tuple[Decimal, Decimal]:
    policy = FeePolicy.objects.filter(organization=organization, currency=currency).first()
    if policy is None:
        return Decimal("0"), Decimal("0.00")
    return policy.percentage, policy.fixed


def _pending_adjustments(*, organization, recipient_ids=None, currency=None) -> QuerySet:
    """Adjustments not applied by a holding payout line and not voided."""
    applied = PayoutLine.objects.filter(
        adjustment=OuterRef("pk"), kind=Line.ADJUSTMENT, active=True
    )
    voided = PayoutAdjustmentVoid.objects.filter(adjustment=OuterRef("pk"))
    qs = PayoutAdjustment.objects.filter(organization=organization).filter(
        ~Exists(applied), ~Exists(voided)
    )
    if recipient_ids is not None:
        qs = qs.filter(recipient_id__in=recipient_ids)
    if currency is not None:
        qs = qs.filter(currency=currency)
    return qs.order_by("id")


def _lock_pending_adjustments(**kwargs) -> list:
    """Lock the pending adjustments (by id), then read them again: a concurrent void or apply
    that committed while we waited is seen by the second statement (READ COMMITTED)."""
    ids = list(
        _pending_adjustments(**kwargs).select_for_update(of=("self",)).values_list("pk", flat=True)
    )
    if not ids:
        return []
    return list(_pending_adjustments(**kwargs).filter(pk__in=ids))


def _fit_adjustments(base: Decimal, adjustments: Iterable) -> list:
    """Carried adjustments (oldest first) that fit: each applied whole while the payout keeps a
    positive gross; the others stay pending for a later payout."""
    total, chosen = base, []
    for adjustment in adjustments:
        if total + adjustment.amount > 0:
            chosen.append(adjustment)
            total += adjustment.amount
    return chosen


def _payout_data(payout: Payout) -> dict:
    """Thin webhook payload: ids, statuses, amounts as strings; never names."""
    return {
        "id": payout.pk,
        "status": payout.status,
        "recipient": payout.recipient_id,
        "branch": payout.branch.code,
        "currency": payout.currency,
        "period_start": payout.period_start.isoformat(),
        "period_end": payout.period_end.isoformat(),
        "gross": str(payout.gross),
        "fee": str(payout.fee),
        "net": str(payout.net),
        "payment_count": payout.payment_count,
        "method": payout.method,
        "reference": payout.reference,
    }


def _event(
    payout: Payout,
    *,
    kind: str,
    actor,
    from_status: str = "",
    comment: str = "",
    method: str = "",
    reference: str = "",
    details: dict | None = None,
) -> PayoutEvent:
    event = PayoutEvent(
        payout=payout,
        kind=kind,
        from_status=from_status,
        to_status=payout.status,
        method=method,
        reference=reference,
        gross=payout.gross,
        fee=payout.fee,
        net=payout.net,
        actor=actor,
        comment=comment,
        details=details or {},
    )
    event.save()
    if kind in PayoutEvent.TRANSITION_KINDS:
        _emit(payout, event)
    return event


def _emit_args(payout: Payout, event: PayoutEvent) -> dict:
    return {
        "event_type": f"payout.{event.kind}",
        "subject": "payout",
        "subject_id": payout.pk,
        "data": _payout_data(payout),
        "dedup": event.pk,
    }


def _emit(payout: Payout, event: PayoutEvent) -> None:
    """The transition's webhook, written to the outbox inside this transaction."""
    from webhooks.services import event_emit

    event_emit(organization=payout.organization, **_emit_args(payout, event))


def _raise_case(
    *,
    organization,
    kind,
    dedup_key,
    message,
    actor,
    subject=None,
    branch=None,
    amount=None,
    currency=None,
    period=None,
    details=None,
    blocking=None,
):
    """List an exception case; never lets the queue's failure break the caller."""
    from exceptionqueue.services import exception_raise

    kwargs = {}
    if period is not None:
        kwargs["period_start"], kwargs["period_end"] = period
    if blocking is not None:
        kwargs["blocking"] = blocking
    try:
        with transaction.atomic():
            return exception_raise(
                organization=organization,
                kind=kind,
                dedup_key=dedup_key,
                message=message,
                actor=actor,
                subject=subject,
                branch=branch,
                amount=amount,
                currency=currency,
                details=details or {},
                **kwargs,
            )
    except IntegrityError:  # pragma: no cover - the queue resolves its own races
        logger.exception("could not raise exception case %s", dedup_key)
        return None


def _clear_case(*, organization, dedup_key, actor, note):
    from exceptionqueue.services import exception_clear

    return exception_clear(organization=organization, dedup_key=dedup_key, actor=actor, note=note)


def drift_key(payout: Payout) -> str:
    return f"payouts:refund_drift:{payout.pk}"


def reference_key(payout: Payout) -> str:
    return f"payouts:completed_without_reference:{payout.pk}"


def _recompute(payout: Payout) -> list[int]:
    """Amounts from the active lines: refit carried adjustments, then the fee rule.

    Returns the ids of the carried adjustments that no longer fit (released back to pending for
    a later payout): callers record them in their event row."""
    lines = payout.lines.filter(active=True)
    base = lines.exclude(kind=Line.ADJUSTMENT).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    applied = list(
        PayoutAdjustment.objects.filter(
            lines__payout=payout, lines__active=True, lines__kind=Line.ADJUSTMENT
        ).order_by("id")
    )
    keep = {a.pk for a in _fit_adjustments(base, applied)}
    dropped = [a.pk for a in applied if a.pk not in keep]
    if dropped:  # back to pending, for a later payout
        lines.filter(kind=Line.ADJUSTMENT, adjustment_id__in=dropped).update(active=False)
    gross = round_money(
        base + sum((a.amount for a in applied if a.pk in keep), Decimal(0)), payout.currency
    )
    payout.gross = gross
    payout.fee, payout.net = fee_compute(
        gross=gross,
        currency=payout.currency,
        percentage=payout.fee_percentage,
        fixed=payout.fee_fixed,
    )
    payout.payment_count = lines.filter(kind=Line.PAYMENT).count()
    return dropped


# --- recipients, QR codes, QR payments -----------------------------------------------------------


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
        raise DomainError(
            "unknown_branch",
            "No such branch.",
            status_code=400,
            fields={"branch": ["No branch with this code."]},
        )
    if scope not in Recipient.Scope.values:
        raise DomainError(
            "invalid_scope",
            f"Unknown scope {scope!r}.",
            status_code=400,
            fields={"scope": [f"One of {', '.join(Recipient.Scope.values)}."]},
        )
    external_ref = (external_ref or "").strip()
    duplicate = DomainError(
        "duplicate_recipient",
        f"A recipient with external_ref {external_ref!r} already exists.",
        status_code=409,
        fields={"external_ref": ["Already used by another recipient."]},
    )
    if (
        external_ref
        and Recipient.objects.filter(organization=organization, external_ref=external_ref).exists()
    ):
        raise duplicate
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
        raise duplicate from None
    return recipient


@transaction.atomic
def recipient_update(
    *, recipient: Recipient, actor, name=None, external_ref=None, is_active=None, reason=""
) -> Recipient:
    """Rename, re-reference or (de)activate a recipient (its scope and branch are fixed)."""
    recipient = Recipient.objects.select_for_update(of=("self",), no_key=True).get(pk=recipient.pk)
    if name is not None:
        if not name.strip():
            raise DomainError(
                "invalid", "A name is required.", status_code=400, fields={"name": ["Required."]}
            )
        recipient.name = name.strip()
    if external_ref is not None:
        external_ref = external_ref.strip()
        if (
            external_ref
            and Recipient.objects.filter(
                organization_id=recipient.organization_id, external_ref=external_ref
            )
            .exclude(pk=recipient.pk)
            .exists()
        ):
            raise DomainError(
                "duplicate_recipient",
                f"A recipient with external_ref {external_ref!r} already exists.",
                status_code=409,
                fields={"external_ref": ["Already used by another recipient."]},
            )
        recipient.external_ref = external_ref
    if is_active is not None:
        recipient.is_active = bool(is_active)
    save_audited(recipient, actor=actor, reason=reason or "recipient updated")
    return recipient


@transaction.atomic
def qr_code_create(*, recipient: Recipient, actor) -> QrCode:
    if not recipient.is_active:
        raise DomainError("recipient_inactive", "The recipient is inactive.", status_code=409)
    qr = QrCode(organization_id=recipient.organization_id, recipient=recipient)
    save_audited(qr, actor=actor, reason="Smart QR created")
    return qr


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
    With ``idempotency_key``, a second call with the same key returns the first payment.
    """
    from payments.services import payment_create

    if idempotency_key:
        earlier = (
            QrPayment.objects.filter(
                organization_id=qr_code.organization_id, idempotency_key=idempotency_key
            )
            .select_related("payment")
            .first()
        )
        if earlier is not None:
            return earlier.payment
    if not qr_code.is_active or not qr_code.recipient.is_active:
        raise DomainError("qr_code_inactive", "This QR code is not active.", status_code=409)
    payment_model = _payment_model()
    payment = payment_create(
        organization=qr_code.recipient.organization,
        branch=qr_code.recipient.branch,
        provider=provider or payment_model.Provider.SANDBOX,
        purpose=payment_model.Purpose.QR,
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
    )
    return payment


def qr_checkout_provider(*, organization: Organization, provider: str | None = None) -> str:
    """The gateway a QR payment of ``organization`` goes through: ``provider`` when it has an
    active account for it, else its only active non-sandbox account (400 ``provider_required``
    when it has several, 409 ``provider_not_configured`` when it has none)."""
    from payments.models import ProviderAccount

    payment_model = _payment_model()
    accounts = ProviderAccount.objects.filter(organization=organization, is_active=True)
    if provider == payment_model.Provider.SANDBOX:
        if not settings.PAYOPS_SANDBOX:
            raise DomainError("sandbox_disabled", "The sandbox gateway is off.", status_code=404)
        return provider
    if provider:
        if not accounts.filter(provider=provider).exists():
            raise DomainError(
                "provider_not_configured",
                f"The organisation has no active {provider} account.",
                status_code=409,
            )
        return provider
    configured = sorted(
        set(
            accounts.exclude(provider=payment_model.Provider.SANDBOX).values_list(
                "provider", flat=True
            )
        )
    )
    if not configured:
        raise DomainError(
            "provider_not_configured", "The organisation has no active gateway.", status_code=409
        )
    if len(configured) > 1:
        raise DomainError(
            "provider_required",
            f"Name the gateway: one of {', '.join(configured)}.",
            status_code=400,
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
    from payments.services import payment_register_order

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
    return payment_register_order(
        payment=payment, actor=actor, adapter=adapter, return_url=return_url, fail_url=fail_url
    )


def sandbox_qr_payment(
    *,
    qr_code: QrCode,
    amount: Decimal,
    currency: str,
    outcome: str,
    actor,
    idempotency_key: str | None = None,
):
    """Pay ``qr_code`` through the built-in sandbox gateway, the whole round trip.

    The pending payment and its QR link commit first, so the gateway's callback finds them.
    """
    from payments.services import sandbox_pay

    if not settings.PAYOPS_SANDBOX:
        raise DomainError("sandbox_disabled", "The sandbox gateway is off.", status_code=404)
    payment = qr_payment_create(
        qr_code=qr_code,
        amount=amount,
        currency=currency,
        actor=actor,
        idempotency_key=idempotency_key,
    )
    if payment.status != payment.Status.PENDING:  # a retry of a round trip that finished
        return payment
    return sandbox_pay(payment=payment, outcome=outcome, actor=actor)


@transaction.atomic
def fee_policy_set(
    *, organization: Organization, currency: str, percentage: Decimal, fixed: Decimal, actor
) -> FeePolicy:
    if currency not in CURRENCIES:
        raise DomainError(
            "unsupported_currency",
            f"Unsupported currency {currency!r}.",
            status_code=400,
            fields={"currency": ["Unsupported currency."]},
        )
    if not Decimal(0) <= percentage <= Decimal(100) or fixed < 0:
        raise DomainError(
            "invalid_fee_policy",
            "Percentage is 0-100 and fixed is not negative.",
            status_code=400,
            fields={
                name: [message]
                for name, bad, message in (
                    ("percentage", not Decimal(0) <= percentage <= Decimal(100), "0 to 100."),
                    ("fixed", fixed < 0, "Not negative."),
                )
                if bad
            },
        )
    policy = (
        FeePolicy.objects.select_for_update()
        .filter(organization=organization, currency=currency)
        .first()
    ) or FeePolicy(organization=organization, currency=currency)
    policy.percentage = percentage
    policy.fixed = round_money(fixed, currency)
    save_audited(policy, actor=actor, reason="fee policy set")
    return policy


# --- accounting periods --------------------------------------------------------------------------


@transaction.atomic
def period_create(
    *,
    organization: Organization,
    kind: str,
    start_date: dt.date,
    end_date: dt.date,
    actor,
    name: str = "",
) -> PayoutPeriod:
    if end_date < start_date:
        raise DomainError(
            "invalid_period",
            "The period ends before it starts.",
            status_code=400,
            fields={"end_date": ["Must not be before start_date."]},
        )
    # Serialise period creation per organisation, then refuse overlaps.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if PayoutPeriod.objects.filter(
        organization=organization, start_date__lte=end_date, end_date__gte=start_date
    ).exists():
        raise DomainError(
            "period_overlap", "The period overlaps another accounting period.", status_code=409
        )
    period = PayoutPeriod(
        organization=organization, kind=kind, name=name, start_date=start_date, end_date=end_date
    )
    save_audited(period, actor=actor, reason="period created")
    return period


PERIOD_TARGETS = {
    PayoutPeriod.Status.CLOSING: "start_closing",
    PayoutPeriod.Status.OPEN: "reopen",
    PayoutPeriod.Status.CLOSED: "close",
}


@transaction.atomic
def period_transition(*, period: PayoutPeriod, to: str, actor, comment: str = "") -> PayoutPeriod:
    """open -> closing -> closed (closing -> open to reopen). Closing needs no blocking exception
    in the range; the close locks the organisation's recipients (so no payout request races it)
    and queues the set-based build of the period's payout requests."""
    from exceptionqueue.selectors import exception_blocking_exists
    from payouts import tasks

    if to not in PERIOD_TARGETS:
        raise DomainError("invalid_transition", f"Unknown target {to!r}.", status_code=400)
    # Lock order: the period, then the recipients (as the build). A second "Close" during a build
    # waits here for the build to commit, then finds the period closed: 409.
    period = PayoutPeriod.objects.select_for_update(of=("self",)).get(pk=period.pk)
    list(
        Recipient.objects.select_for_update(of=("self",), no_key=True)
        .filter(organization_id=period.organization_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    method = getattr(period, PERIOD_TARGETS[to])
    if not can_proceed(method):
        raise DomainError(
            "transition_not_allowed",
            f"A {period.status} period cannot become {to}.",
            status_code=409,
        )
    if to == PayoutPeriod.Status.CLOSED and exception_blocking_exists(
        organization=period.organization, start=period.start_date, end=period.end_date
    ):
        raise DomainError(
            "period_blocked",
            "Open blocking exceptions fall in this period; resolve them first.",
            status_code=409,
        )
    method()
    if to == PayoutPeriod.Status.CLOSED:
        period.closed_at = timezone.now()
        # The beat sweeper `build_closed_periods` builds it too if the broker is down now.
        enqueue_on_commit(tasks.payout_period_build_task, period.pk)
    save_audited(period, actor=actor, reason=comment or f"period {to}")
    return period


# --- payout requests -----------------------------------------------------------------------------


def payout_request(
    *,
    recipient: Recipient,
    currency: str,
    period_start: dt.date,
    period_end: dt.date,
    actor,
    comment: str = "",
) -> Payout:
    """Request the payout of ``recipient``'s verified QR payments in the inclusive local range.

    Refusals that are listed as exception cases (``no_verified_payments``,
    ``duplicate_active_payout``) are raised after the request's own transaction rolled back.
    """
    try:
        return _payout_request(
            recipient=recipient,
            currency=currency,
            period_start=period_start,
            period_end=period_end,
            actor=actor,
            comment=comment,
        )
    except DomainError as exc:
        if exc.code in (NO_VERIFIED_PAYMENTS, DUPLICATE_ACTIVE_PAYOUT):
            _raise_case(
                organization=recipient.organization,
                kind=exc.code,
                dedup_key=f"payouts:{exc.code}:{recipient.pk}:{currency}:{period_start}:{period_end}",
                message=exc.message,
                actor=actor,
                subject=recipient,
                branch=recipient.branch,
                currency=currency,
                period=(period_start, period_end),
                details={
                    "recipient": recipient.pk,
                    "currency": currency,
                    "period_start": period_start.isoformat(),
                    "period_end": period_end.isoformat(),
                },
                # A refused duplicate changed nothing: listed, but it does not block the close.
                blocking=False if exc.code == DUPLICATE_ACTIVE_PAYOUT else None,
            )
        raise


def _duplicate(recipient, currency) -> DomainError:
    return DomainError(
        DUPLICATE_ACTIVE_PAYOUT,
        f"An active payout of recipient {recipient.pk} in {currency} overlaps this range.",
        status_code=409,
    )


@transaction.atomic
def _payout_request(*, recipient, currency, period_start, period_end, actor, comment) -> Payout:
    if period_end < period_start:
        raise DomainError(
            "invalid_period",
            "period_end is before period_start.",
            status_code=400,
            fields={"period_end": ["Must not be before period_start."]},
        )
    if currency not in CURRENCIES:
        raise DomainError(
            "unsupported_currency",
            f"Unsupported currency {currency!r}.",
            status_code=400,
            fields={"currency": ["Unsupported currency."]},
        )
    organization = recipient.organization
    # The scope's lock: concurrent requests for this recipient queue here.
    recipient = (
        Recipient.objects.select_for_update(of=("self",), no_key=True)
        .select_related("branch")
        .get(pk=recipient.pk)
    )
    if not recipient.is_active:
        raise DomainError("recipient_inactive", "The recipient is inactive.", status_code=409)
    if PayoutPeriod.objects.filter(
        organization=organization,
        status=PayoutPeriod.Status.CLOSED,
        start_date__lte=period_end,
        end_date__gte=period_start,
    ).exists():
        raise DomainError(
            "period_closed", "The range falls in a closed accounting period.", status_code=409
        )
    if Payout.objects.filter(
        recipient=recipient,
        branch=recipient.branch,
        currency=currency,
        status__in=Payout.ACTIVE_STATUSES,
        period_start__lte=period_end,
        period_end__gte=period_start,
    ).exists():
        raise _duplicate(recipient, currency)
    payments = list(
        eligible_payments(
            organization=organization,
            start=period_start,
            end=period_end,
            recipient=recipient,
            currency=currency,
        )
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    if not payments:
        raise DomainError(
            NO_VERIFIED_PAYMENTS,
            f"No verified payments in {currency} for this recipient from {period_start} "
            f"to {period_end}.",
            status_code=422,
        )
    base = sum((p.available for p in payments), Decimal(0))
    adjustments = _fit_adjustments(
        base,
        _lock_pending_adjustments(
            organization=organization, recipient_ids=[recipient.pk], currency=currency
        ),
    )
    percentage, fixed = fee_policy_terms(organization=organization, currency=currency)
    payout = Payout(
        organization=organization,
        recipient=recipient,
        branch=recipient.branch,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        fee_percentage=percentage,
        fee_fixed=fixed,
        requested_by=actor,
        gross=Decimal(0),
        fee=Decimal(0),
        net=Decimal(0),
    )
    try:
        with transaction.atomic():
            save_audited(payout, actor=actor, reason="payout requested")
            PayoutLine.objects.bulk_create(
                [
                    PayoutLine(payout=payout, kind=Line.PAYMENT, payment=p, amount=p.available)
                    for p in payments
                ]
                + [
                    PayoutLine(payout=payout, kind=Line.ADJUSTMENT, adjustment=a, amount=a.amount)
                    for a in adjustments
                ]
            )
    except IntegrityError as exc:  # the exclusion constraint, or a payment already held
        logger.info("payout request refused by the database: %s", exc)
        raise _duplicate(recipient, currency) from None
    _recompute(payout)
    save_audited(payout, actor=actor, reason="payout amounts")
    _event(
        payout,
        kind=EventKind.REQUESTED,
        actor=actor,
        comment=comment,
        details={"payments": [p.pk for p in payments], "adjustments": [a.pk for a in adjustments]},
    )
    return payout


# --- transitions ---------------------------------------------------------------------------------


def payout_transition(
    *,
    payout: Payout,
    to: str,
    actor,
    method: str = "",
    reference: str = "",
    comment: str = "",
    check_permission: bool = False,
) -> Payout:
    """Move a payout: requested -> processing -> completed, requested|processing -> cancelled.

    ``check_permission`` (the admin) also requires the actor's permission for the transition.
    A completion without method and reference is refused (400 ``reference_required``) and listed
    as ``completed_without_reference``.
    """
    try:
        return _payout_transition(
            payout=payout,
            to=to,
            actor=actor,
            method=method,
            reference=reference,
            comment=comment,
            check_permission=check_permission,
        )
    except DomainError as exc:
        if exc.code == "reference_required":
            _raise_case(
                organization=payout.organization,
                kind=COMPLETED_WITHOUT_REFERENCE,
                dedup_key=reference_key(payout),
                message=exc.message,
                actor=actor,
                subject=payout,
                branch=payout.branch,
                amount=payout.net,
                currency=payout.currency,
                period=(payout.period_start, payout.period_end),
                details={"payout": payout.pk},
            )
        raise


@transaction.atomic
def _payout_transition(*, payout, to, actor, method, reference, comment, check_permission):
    if to not in TRANSITION_TARGETS:
        raise DomainError(
            "invalid_transition",
            f"Unknown target state {to!r}.",
            status_code=400,
            fields={"to": [f"One of {', '.join(TRANSITION_TARGETS)}."]},
        )
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("organization", "branch")
        .get(pk=payout.pk)
    )
    transition = getattr(payout, TRANSITION_TARGETS[to])
    not_allowed = DomainError(
        "transition_not_allowed", f"A {payout.status} payout cannot become {to}.", status_code=409
    )
    if to == Status.COMPLETED and payout.status == Status.PROCESSING and payout.drift_hold:
        raise DomainError(
            "refund_drift_unresolved",
            "A refund hit an included payment: decide the drift first.",
            status_code=409,
        )
    if not can_proceed(transition):
        raise not_allowed
    if check_permission and not has_transition_perm(transition, actor):
        raise DomainError("permission_denied", "You may not make this transition.", status_code=403)
    voided: list[PayoutAdjustmentVoid] = []
    if to == Status.CANCELLED:
        voided = _void_carried_adjustments(payout, actor=actor, comment=comment or "cancelled")
    method, reference = (method or "").strip(), (reference or "").strip()
    if to == Status.COMPLETED and (not method or not reference):
        raise DomainError(
            "reference_required",
            "Completing a payout needs the method and the reference.",
            status_code=400,
            fields={
                name: ["Required to complete."]
                for name, value in (("method", method), ("reference", reference))
                if not value
            },
        )
    from_status = payout.status
    try:
        transition()
    except TransitionNotAllowed:
        raise not_allowed from None
    if method:
        payout.method = method
    if reference:
        payout.reference = reference
    if to == Status.COMPLETED:
        payout.completed_at = timezone.now()
    if to == Status.CANCELLED:
        released = payout.lines.filter(active=True).update(active=False)
    save_audited(payout, actor=actor, reason=comment or f"payout {to}")
    details = {"released_lines": released} if to == Status.CANCELLED else {}
    _event(
        payout,
        kind=to,
        actor=actor,
        from_status=from_status,
        comment=comment,
        method=method,
        reference=reference,
        details=details,
    )
    if voided:
        _voided_event(payout, voided, actor=actor, comment=comment)
    if to in (Status.COMPLETED, Status.CANCELLED) and payout.accounting_period_id:
        # Payments of a closed period that waited for this payout (verified late), or that its
        # cancel released, become a follow-up payout of the period.
        from payouts import tasks

        enqueue_on_commit(tasks.payout_period_build_task, payout.accounting_period_id)
    if to in (Status.COMPLETED, Status.CANCELLED):
        _clear_case(
            organization=payout.organization,
            dedup_key=reference_key(payout),
            actor=actor,
            note=f"payout {to}",
        )
        _clear_case(
            organization=payout.organization,
            dedup_key=drift_key(payout),
            actor=actor,
            note=f"payout {to} after the refund was accounted for",
        )
    return payout


def payout_process(*, payout: Payout, actor, method="", reference="", comment="") -> Payout:
    return payout_transition(
        payout=payout,
        to=Status.PROCESSING,
        actor=actor,
        method=method,
        reference=reference,
        comment=comment,
    )


def payout_complete(*, payout: Payout, actor, method: str, reference: str, comment="") -> Payout:
    return payout_transition(
        payout=payout,
        to=Status.COMPLETED,
        actor=actor,
        method=method,
        reference=reference,
        comment=comment,
    )


def payout_cancel(*, payout: Payout, actor, comment="") -> Payout:
    return payout_transition(payout=payout, to=Status.CANCELLED, actor=actor, comment=comment)


@transaction.atomic
def payout_reverse(
    *, payout: Payout, actor, reference: str, comment: str, check_permission: bool = False
) -> Payout:
    """The correction of a completed payout: a ``PayoutReversal`` row; its payments and applied
    adjustments are released for a later payout. Refused once refunds were carried from it."""
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("organization", "branch")
        .get(pk=payout.pk)
    )
    if not can_proceed(payout.reverse):
        raise DomainError(
            "transition_not_allowed",
            f"A {payout.status} payout cannot be reversed.",
            status_code=409,
        )
    if check_permission and not has_transition_perm(payout.reverse, actor):
        raise DomainError("permission_denied", "You may not reverse payouts.", status_code=403)
    if not (reference or "").strip() or not (comment or "").strip():
        raise DomainError(
            "reference_required", "A reversal needs a reference and a comment.", status_code=400
        )
    voided = _void_carried_adjustments(payout, actor=actor, comment=comment)
    from_status = payout.status
    payout.reverse()
    released = payout.lines.filter(active=True).update(active=False)
    save_audited(payout, actor=actor, reason=comment)
    PayoutReversal.objects.create(
        payout=payout, amount=payout.net, reference=reference.strip(), actor=actor, comment=comment
    )
    _event(
        payout,
        kind=EventKind.REVERSED,
        actor=actor,
        from_status=from_status,
        comment=comment,
        reference=reference.strip(),
        details={"released_lines": released},
    )
    if voided:
        _voided_event(payout, voided, actor=actor, comment=comment)
    return payout


def _void_carried_adjustments(payout: Payout, *, actor, comment: str) -> list:
    """Before a cancel or a reversal releases ``payout``'s payments: void the refunds carried from
    it that no payout applied yet (one append-only ``PayoutAdjustmentVoid`` row each). The released
    payments come back with ``amount - refunded_amount``, already net of those refunds; deducting
    the adjustments as well would take each refund twice.

    Refused (409 ``carried_adjustment_applied``) when one of them is already deducted by a holding
    payout: cancel or reverse that payout first (its cancel puts the adjustment back to pending),
    so no refund is ever deducted twice and none is lost."""
    carried = list(
        PayoutAdjustment.objects.select_for_update(of=("self",))
        .filter(source_payout=payout)
        .order_by("pk")
    )
    if not carried:
        return []
    ids = [a.pk for a in carried]
    applied = sorted(
        set(
            PayoutLine.objects.filter(
                adjustment_id__in=ids, kind=Line.ADJUSTMENT, active=True
            ).values_list("payout_id", flat=True)
        )
    )
    if applied:
        listed = ", ".join(f"#{pk}" for pk in applied)
        raise DomainError(
            "carried_adjustment_applied",
            f"Refunds carried from payout #{payout.pk} are already deducted by payout {listed}: "
            "cancel or reverse that payout first.",
            status_code=409,
        )
    already = set(
        PayoutAdjustmentVoid.objects.filter(adjustment_id__in=ids).values_list(
            "adjustment_id", flat=True
        )
    )
    voids = [
        PayoutAdjustmentVoid(adjustment=a, payout=payout, actor=actor, comment=comment)
        for a in carried
        if a.pk not in already
    ]
    return PayoutAdjustmentVoid.objects.bulk_create(voids)


def _voided_event(payout: Payout, voids: list, *, actor, comment: str) -> None:
    _event(
        payout,
        kind=EventKind.ADJUSTMENTS_VOIDED,
        actor=actor,
        comment=comment,
        details={
            "adjustments": [v.adjustment_id for v in voids],
            "amounts": [str(v.adjustment.amount) for v in voids],
            "why": "the payout's payments were released net of these refunds",
        },
    )


# --- refund drift --------------------------------------------------------------------------------


def _drift_by_payment(payout: Payout) -> dict[int, tuple]:
    """payment id -> (payment, drift): what the payout includes for it beyond what is left after
    refunds, minus what was already carried to later payouts."""
    payment_model = _payment_model()
    lines = payout.lines.filter(active=True, kind__in=[Line.PAYMENT, Line.REFUND])
    included: dict[int, Decimal] = defaultdict(Decimal)
    for payment_id, amount in lines.values_list("payment_id", "amount"):
        included[payment_id] += amount
    carried: dict[int, Decimal] = defaultdict(Decimal)
    for payment_id, amount in payout.carried_adjustments.filter(void__isnull=True).values_list(
        "payment_id", "amount"
    ):
        carried[payment_id] += amount
    out = {}
    for payment in payment_model.objects.filter(pk__in=list(included)):
        drift = (
            included[payment.pk] + carried[payment.pk] - (payment.amount - payment.refunded_amount)
        )
        if drift > 0:
            out[payment.pk] = (payment, drift)
    return out


def on_payment_change(change) -> None:
    """payments.hooks listener, inside the transaction that changed the payment."""
    if change.kind == "verified":
        _late_verification(change)
        return
    if change.kind != "refunded":
        return
    line = (
        PayoutLine.objects.filter(payment=change.payment, kind=Line.PAYMENT, active=True)
        .only("payout_id")
        .first()
    )
    if line is None:
        return
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("organization", "branch")
        .get(pk=line.payout_id)
    )
    drift = _drift_by_payment(payout).get(change.payment.pk)
    if drift is None:
        return
    payment, amount = drift
    actor = change.actor
    refund_id = change.refund.pk if change.refund is not None else None
    if payout.status == Status.REQUESTED:
        PayoutLine.objects.create(payout=payout, kind=Line.REFUND, payment=payment, amount=-amount)
        released = _recompute(payout)
        save_audited(payout, actor=actor, reason="recalculated after a refund")
        _event(
            payout,
            kind=EventKind.RECALCULATED,
            actor=actor,
            details={
                "payment": payment.pk,
                "refund": refund_id,
                "deducted": str(amount),
                "adjustments_released": released,
            },
        )
        _raise_drift_case(payout, payment, amount, actor, "recalculated")
    elif payout.status == Status.PROCESSING:
        if not payout.drift_hold:
            payout.drift_hold = True
            save_audited(payout, actor=actor, reason="refund drift: completion held")
        _event(
            payout,
            kind=EventKind.DRIFT_HOLD,
            actor=actor,
            details={"payment": payment.pk, "refund": refund_id, "drift": str(amount)},
        )
        _raise_drift_case(payout, payment, amount, actor, "held")
    elif payout.status == Status.COMPLETED:
        _carry(
            payout, payment, amount, actor, refund_id=refund_id, comment="refund after completion"
        )


def _late_verification(change) -> None:
    """A QR payment verified into a closed period that was already built: list it at once and
    queue the period's follow-up build (the beat sweeper builds it too if the broker is down)."""
    from payouts import tasks

    payment = change.payment
    if payment.verified_at is None or not QrPayment.objects.filter(payment=payment).exists():
        return
    organization = payment.organization
    day = timezone.localtime(payment.verified_at, organization.tz).date()
    period = PayoutPeriod.objects.filter(
        organization=organization,
        status=PayoutPeriod.Status.CLOSED,
        built_at__isnull=False,
        start_date__lte=day,
        end_date__gte=day,
    ).first()
    if period is None:
        return
    _raise_case(
        organization=organization,
        kind=LATE_PAYMENT_IN_CLOSED_PERIOD,
        dedup_key=late_key(period),
        message=(
            f"Payment {payment.pk} ({payment.amount} {payment.currency}) was verified on {day}, "
            f"in the closed period {period}, after its payouts were built: a follow-up payout "
            "is built for it."
        ),
        actor=change.actor,
        subject=period,
        branch=payment.branch,
        amount=payment.amount,
        currency=payment.currency,
        period=(period.start_date, period.end_date),
        details={"accounting_period": period.pk, "payment": payment.pk},
        blocking=False,
    )
    enqueue_on_commit(tasks.payout_period_build_task, period.pk)


def _carry(payout, payment, amount, actor, *, refund_id=None, comment=""):
    adjustment = PayoutAdjustment.objects.create(
        organization_id=payout.organization_id,
        recipient_id=payout.recipient_id,
        currency=payout.currency,
        amount=-amount,
        source_payout=payout,
        payment=payment,
        refund_id=refund_id,
        actor=actor,
        comment=comment,
    )
    _event(
        payout,
        kind=EventKind.ADJUSTMENT_CARRIED,
        actor=actor,
        comment=comment,
        details={
            "payment": payment.pk,
            "refund": refund_id,
            "adjustment": adjustment.pk,
            "amount": str(adjustment.amount),
        },
    )
    return adjustment


def _raise_drift_case(payout, payment, amount, actor, what):
    if what == "recalculated":
        message = (
            f"Payout #{payout.pk} was recalculated: payment {payment.pk} was refunded "
            f"({amount} {payout.currency}) after the request."
        )
    else:
        message = (
            f"Payout #{payout.pk} is processing and payment {payment.pk} was refunded "
            f"({amount} {payout.currency}): completion is held until an operator decides."
        )
    _raise_case(
        organization=payout.organization,
        kind=REFUND_DRIFT,
        dedup_key=drift_key(payout),
        message=message,
        actor=actor,
        subject=payout,
        branch=payout.branch,
        amount=amount,
        currency=payout.currency,
        period=(payout.period_start, payout.period_end),
        details={"payout": payout.pk, "payment": payment.pk, "status": payout.status},
    )


@transaction.atomic
def payout_drift_decide(
    *, payout: Payout, decision: str, actor, comment: str = "", check_permission: bool = False
) -> Payout:
    """An operator's decision on a held processing payout: ``recalculate`` (deduct the refunds
    from this payout) or ``carry`` (pay as is; the refunds become adjustments on the next one)."""
    if decision not in DRIFT_DECISIONS:
        raise DomainError(
            "invalid_decision",
            f"Decision is one of {', '.join(DRIFT_DECISIONS)}.",
            status_code=400,
            fields={"decision": ["Unknown decision."]},
        )
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("organization", "branch")
        .get(pk=payout.pk)
    )
    if payout.status != Status.PROCESSING or not payout.drift_hold:
        raise DomainError(
            "no_drift_to_decide", "This payout has no held refund drift.", status_code=409
        )
    if check_permission and not actor.has_perm("payouts.decide_payout_drift"):
        raise DomainError("permission_denied", "You may not decide refund drift.", status_code=403)
    drifts = _drift_by_payment(payout)
    for payment, amount in drifts.values():
        if decision == "recalculate":
            PayoutLine.objects.create(
                payout=payout, kind=Line.REFUND, payment=payment, amount=-amount
            )
        else:
            _carry(payout, payment, amount, actor, comment=comment or "refund drift carried")
    released = _recompute(payout) if decision == "recalculate" else []
    payout.drift_hold = False
    save_audited(payout, actor=actor, reason=f"refund drift: {decision}")
    _event(
        payout,
        kind=EventKind.DRIFT_DECIDED,
        actor=actor,
        comment=comment,
        details={
            "decision": decision,
            "payments": {str(k): str(v[1]) for k, v in drifts.items()},
            "adjustments_released": released,
        },
    )
    _clear_case(
        organization=payout.organization,
        dedup_key=drift_key(payout),
        actor=actor,
        note=f"decided: {decision}",
    )
    return payout


# --- the set-based build of a closed period ------------------------------------------------------


@transaction.atomic
def payout_period_build(*, period: PayoutPeriod, actor) -> list[Payout]:
    """Build the payout requests of a closed period for every recipient, set-based.

    The first build sets ``built_at``. Any later build (the task queued when a payment is verified
    late into a closed period, or the beat sweeper) builds the *leftovers*: payments of the period
    that no holding payout holds (verified after the build, released by a cancel or a reversal, or
    skipped because their scope had an active payout then) become follow-up payouts of the period,
    and a ``late_payment_in_closed_period`` case is listed so accountants see it.

    Statements (constant in the number of recipients and payments, except the webhook outbox):
    lock the period, lock the recipients, lock and read the eligible payments (one statement, the
    ids, scopes and amounts the lines are written from), the active overlapping scopes, the
    pending adjustments (lock, read), the fee policies, the payouts and their history rows
    (``bulk_create_with_history``), the payment lines (one ``INSERT ... SELECT FROM unnest`` on
    PostgreSQL), the adjustment lines, the event rows, and the ``payout.requested`` outbox events
    of all payouts at once (``webhooks.services.event_emit_many``).
    """
    period = (
        PayoutPeriod.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=period.pk)
    )
    if period.status != PayoutPeriod.Status.CLOSED:
        raise DomainError("period_not_closed", "Only a closed period is built.", status_code=409)
    follow_up = period.built_at is not None
    organization = period.organization
    start, end = period.start_date, period.end_date
    # Lock order: period, recipients, payments, adjustments (see the module docstring).
    recipients = {
        r.pk: r
        for r in Recipient.objects.select_for_update(of=("self",), no_key=True)
        .filter(organization=organization)
        .select_related("branch")
        .order_by("pk")
    }
    # Lock the rows we include and read them in the same statement: the lines are written from
    # this list, so a payment verified after it (READ COMMITTED) is never picked up half-way.
    rows = list(
        eligible_payments(organization=organization, start=start, end=end)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", "qr_payment__recipient_id", "currency", "available")
    )
    busy = set(
        Payout.objects.filter(
            organization=organization,
            status__in=Payout.ACTIVE_STATUSES,
            period_start__lte=end,
            period_end__gte=start,
        ).values_list("recipient_id", "currency")
    )
    scopes: dict[tuple, list] = defaultdict(list)
    for payment_id, recipient_id, currency, available in rows:
        if (recipient_id, currency) not in busy:
            scopes[(recipient_id, currency)].append((payment_id, available))
    if not scopes:
        if not follow_up:
            period.built_at = timezone.now()
            save_audited(period, actor=actor, reason="built: no payouts")
        return []
    pending: dict[tuple, list] = defaultdict(list)
    for adjustment in _lock_pending_adjustments(
        organization=organization, recipient_ids={key[0] for key in scopes}
    ):
        pending[(adjustment.recipient_id, adjustment.currency)].append(adjustment)
    policies = {
        p.currency: (p.percentage, p.fixed)
        for p in FeePolicy.objects.filter(organization=organization)
    }
    payouts, fitted = [], {}
    for key in sorted(scopes):
        recipient_id, currency = key
        recipient = recipients[recipient_id]
        lines = scopes[key]
        base = sum((available for _, available in lines), Decimal(0))
        percentage, fixed = policies.get(currency, (Decimal(0), Decimal("0.00")))
        chosen = _fit_adjustments(base, pending.get(key, []))
        fitted[key] = chosen
        gross = round_money(base + sum((a.amount for a in chosen), Decimal(0)), currency)
        fee, net = fee_compute(gross=gross, currency=currency, percentage=percentage, fixed=fixed)
        payouts.append(
            Payout(
                organization=organization,
                recipient=recipient,
                branch=recipient.branch,
                currency=currency,
                period_start=start,
                period_end=end,
                accounting_period=period,
                gross=gross,
                fee=fee,
                net=net,
                payment_count=len(lines),
                fee_percentage=percentage,
                fee_fixed=fixed,
                requested_by=actor,
            )
        )
    what = "follow-up build (late payments)" if follow_up else "built"
    try:
        with transaction.atomic():
            # History rows carry the final amounts and payment_count: nothing is updated later.
            payouts = bulk_create_with_history(
                payouts,
                Payout,
                default_user=actor,
                default_change_reason=f"{what} for period {period.pk}",
            )
    except IntegrityError as exc:  # an active overlapping payout appeared: retry later
        raise DomainError(
            "build_conflict", f"Building period {period.pk} conflicted: {exc}", status_code=409
        ) from None
    by_scope = {(p.recipient_id, p.currency): p for p in payouts}
    inserted = _insert_payment_lines(
        [
            (by_scope[key].pk, payment_id, available)
            for key, lines in scopes.items()
            for payment_id, available in lines
        ]
    )
    PayoutLine.objects.bulk_create(
        [
            PayoutLine(payout=by_scope[key], kind=Line.ADJUSTMENT, adjustment=a, amount=a.amount)
            for key, chosen in fitted.items()
            for a in chosen
        ]
    )
    events = PayoutEvent.objects.bulk_create(
        [
            PayoutEvent(
                payout=p,
                kind=EventKind.REQUESTED,
                from_status="",
                to_status=p.status,
                gross=p.gross,
                fee=p.fee,
                net=p.net,
                actor=actor,
                comment=f"{what} for period {period}",
                details={
                    "accounting_period": period.pk,
                    "payment_count": p.payment_count,
                    "adjustments": [a.pk for a in fitted[(p.recipient_id, p.currency)]],
                    "follow_up": follow_up,
                },
            )
            for p in payouts
        ]
    )
    from webhooks.services import event_emit_many

    for payout in payouts:
        payout.organization = organization
    event_emit_many(
        organization=organization,
        events=[_emit_args(payout, event) for payout, event in zip(payouts, events, strict=True)],
    )
    if follow_up:
        _raise_case(
            organization=organization,
            kind=LATE_PAYMENT_IN_CLOSED_PERIOD,
            dedup_key=late_key(period),
            message=(
                f"{inserted} payment(s) of the closed period {period} were not in its build "
                f"(verified late, or released): follow-up payouts "
                f"{', '.join(f'#{p.pk}' for p in payouts)} were requested."
            ),
            actor=actor,
            subject=period,
            period=(start, end),
            details={
                "accounting_period": period.pk,
                "payouts": [p.pk for p in payouts],
                "payment_count": inserted,
                "gross": {c: str(v) for c, v in _by_currency(payouts).items()},
            },
            blocking=False,
        )
        save_audited(
            period,
            actor=actor,
            reason=f"follow-up build: {len(payouts)} payouts ({inserted} lines)",
        )
    else:
        period.built_at = timezone.now()
        save_audited(period, actor=actor, reason=f"built {len(payouts)} payouts ({inserted} lines)")
    return payouts


def _by_currency(payouts: list[Payout]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for payout in payouts:
        out[payout.currency] += payout.gross
    return dict(out)


def late_key(period: PayoutPeriod) -> str:
    return f"payouts:{LATE_PAYMENT_IN_CLOSED_PERIOD}:{period.pk}"


def _insert_payment_lines(rows: list[tuple[int, int, Decimal]]) -> int:
    """Write the payment lines ``(payout_id, payment_id, amount)`` read under the build's lock.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)`` whatever the count; elsewhere
    ``bulk_create`` in batches."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        PayoutLine.objects.bulk_create(
            [
                PayoutLine(payout_id=po, kind=Line.PAYMENT, payment_id=pm, amount=amount)
                for po, pm, amount in rows
            ],
            batch_size=500,
        )
        return len(rows)
    payout_ids, payment_ids, amounts = (list(column) for column in zip(*rows, strict=True))
    sql = (
        f"INSERT INTO {PayoutLine._meta.db_table} "  # noqa: S608 - table name from the model
        "(payout_id, kind, payment_id, amount, active, created_at) "
        "SELECT u.payout_id, %s, u.payment_id, u.amount, TRUE, CURRENT_TIMESTAMP "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS u(payout_id, payment_id, amount)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Line.PAYMENT.value, payout_ids, payment_ids, amounts])
        return cursor.rowcount


def period_has_leftovers(*, period: PayoutPeriod) -> bool:
    """A closed, built period has eligible payments that no holding payout holds."""
    return eligible_payments(
        organization=period.organization, start=period.start_date, end=period.end_date
    ).exists()


def period_build_recovered(*, period: PayoutPeriod, actor):
    """The build of ``period`` succeeded: its ``period_build_failed`` case (if any) is resolved."""
    return _clear_case(
        organization=period.organization,
        dedup_key=f"payouts:{PERIOD_BUILD_FAILED}:{period.pk}",
        actor=actor,
        note="the build succeeded on a later run",
    )


def period_build_failed(*, period: PayoutPeriod, error: Exception, actor):
    """List a failed build (the sweeper retries it every run until it succeeds)."""
    return _raise_case(
        organization=period.organization,
        kind=PERIOD_BUILD_FAILED,
        dedup_key=f"payouts:{PERIOD_BUILD_FAILED}:{period.pk}",
        message=f"Building the payouts of period {period} failed: {type(error).__name__}: {error}",
        actor=actor,
        subject=period,
        period=(period.start_date, period.end_date),
        details={"accounting_period": period.pk, "error": type(error).__name__},
        blocking=False,
    )
