"""Attempts: one try to collect a period, made exactly once.

An attempt is created under the subscription and period locks, with its payment, in one
transaction; (subscription, period, number) is unique in the database and a period has at most
one pending attempt. The gateway is called afterwards, outside any transaction, with the
payment's order number (the attempt's ``order_number``): a re-run of the due work finds the
attempt, and the gateway finds the order (BPC answers "already registered"; a saved-card charge
already sent is looked up first), so no second attempt and no second charge can happen.

A new attempt supersedes the previous pending one: its link is expired first (at the gateway
too where it can), in the payments transaction, before billing takes its own locks (the order of
``billing.locks``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from billing import events
from billing.locks import subscription_and_period_lock
from billing.models import Attempt, BillingPeriod, Subscription
from billing.services.settings import billing_settings_get
from core.audit import save_audited
from core.clock import clock_now
from core.errors import DomainError
from core.fsm import transition_apply
from payments.models import Payment
from payments.providers.base import OrderRequest, ProviderError

logger = logging.getLogger("payops.billing")


def checkpoint(name: str) -> None:
    """A named point in an attempt's life; the crash tests stop a worker here (no-op)."""


def period_invoice(period: BillingPeriod, *, subscription: Subscription, actor, now) -> None:
    """The invoice is generated (its own fact and time); callers hold both locks."""
    transition_apply(period, "mark_invoiced", what="billing period")
    period.invoiced_at = now
    save_audited(period, actor=actor, reason="invoiced")
    events.period_changed(period, subscription=subscription, actor=actor, now=now)


def _supersede_previous(period_id: int, *, actor) -> None:
    """Mark the period's pending attempt superseded, then expire its link (payment first)."""
    from payments.services import payment_expire

    with transaction.atomic():
        subscription, period = subscription_and_period_lock(period_id)
        previous = period.attempts.filter(status=Attempt.Status.PENDING).first()
        if previous is None:
            return
        previous.status = Attempt.Status.SUPERSEDED
        previous.finished_at = clock_now(subscription.organization)
        save_audited(previous, actor=actor, reason="superseded by a new attempt")
    payment = Payment.objects.get(pk=previous.payment_id)
    if payment.status == Payment.Status.PENDING:
        with contextlib.suppress(DomainError):  # paid or declined meanwhile: the hook decided
            payment_expire(payment=payment, actor=actor, reason="superseded by a new attempt")


def attempt_make(
    *, period: BillingPeriod | int, actor, now: dt.datetime | None = None, manual: bool = False
) -> Attempt | None:
    """Create the period's next attempt and send it to the gateway. Returns the attempt (an
    existing one when another run made it), or None when nothing is due."""
    period_id = period.pk if isinstance(period, BillingPeriod) else period
    if manual:
        _supersede_previous(period_id, actor=actor)
    attempt = _attempt_create(period_id, actor=actor, now=now, manual=manual)
    if attempt is not None and attempt.status == Attempt.Status.PENDING:
        attempt_send(attempt=attempt, actor=actor)
        attempt.refresh_from_db()
    return attempt


def _payment_of(period, subscription, *, link_hours: int) -> dict:
    """What an attempt's payment is (``payment_create`` / ``payment_create_many`` arguments):
    the period's outstanding amount, by the subscription's branch and gateway, payable while
    the link is valid."""
    return {
        "branch": subscription.branch,
        "provider": subscription.provider,
        "purpose": Payment.Purpose.SUBSCRIPTION,
        "amount": period.expected_amount - period.verified_amount,
        "currency": period.currency,
        "description": f"{subscription.plan.name} {period.start.isoformat()}",
        "window_seconds": link_hours * 3600,
    }


def _attempt_new(period, subscription, *, number, payment, now, link_hours: int) -> Attempt:
    """Attempt ``number`` of ``period`` with its payment (unsaved): one place for both paths."""
    method = _method(subscription)
    return Attempt(
        organization=subscription.organization,
        subscription=subscription,
        period=period,
        number=number,
        method=method,
        payment=payment,
        order_number=payment.order_number,
        link_expires_at=now + dt.timedelta(hours=link_hours)
        if method == Attempt.Method.PAYMENT_LINK
        else None,
        created_at=now,
    )


@transaction.atomic
def _attempt_create(period_id: int, *, actor, now, manual: bool) -> Attempt | None:
    from payments.services import payment_create

    subscription, period = subscription_and_period_lock(period_id)
    organization = subscription.organization
    now = now or clock_now(organization)
    pending = period.attempts.filter(status=Attempt.Status.PENDING).first()
    if pending is not None:
        return pending  # another run made it: the unique key and this lock say once
    if period.status == BillingPeriod.Status.SCHEDULED and period.due_at <= now:
        period_invoice(period, subscription=subscription, actor=actor, now=now)
    if not _collectable(period, now=now, manual=manual):
        return None
    if subscription.status not in (*Subscription.LIVE, Subscription.Status.SUSPENDED):
        return None
    settings = billing_settings_get(organization=organization)
    number = period.attempts.count() + 1
    if number > settings.max_attempts and not manual:
        return None
    link_hours = settings.link_valid_hours
    payment = payment_create(
        organization=organization,
        **_payment_of(period, subscription, link_hours=link_hours),
        actor=actor,
    )
    attempt = _attempt_new(
        period, subscription, number=number, payment=payment, now=now, link_hours=link_hours
    )
    save_audited(attempt, actor=actor, reason=f"attempt {number}")
    attempt.made_by_this_call = True  # not another run's (the due work counts its own)
    transition_apply(period, "mark_pending", what="billing period")
    period.pending_at = now
    period.next_retry_at = None
    save_audited(period, actor=actor, reason=f"attempt {number} pending")
    events.period_changed(
        period,
        subscription=subscription,
        actor=actor,
        now=now,
        data={"attempt": attempt.pk, "number": number, "order_number": attempt.order_number},
    )
    return attempt


def _method(subscription: Subscription) -> str:
    customer = subscription.customer
    return _method_of(
        collection=subscription.collection,
        provider=subscription.provider,
        binding_id=customer.binding_id,
        binding_provider=customer.binding_provider,
    )


def _method_of(*, collection: str, provider: str, binding_id, binding_provider) -> str:
    """A saved card when the subscription collects by card and the customer has one at this
    subscription's gateway; a payment link otherwise."""
    if (
        collection == Subscription.Collection.SAVED_CARD
        and binding_id
        and binding_provider == provider
    ):
        return Attempt.Method.SAVED_CARD
    return Attempt.Method.PAYMENT_LINK


def _collectable(period: BillingPeriod, *, now, manual: bool) -> bool:
    return _collectable_at(period.status, period.next_retry_at, now=now, manual=manual)


def _collectable_at(status: str, next_retry_at, *, now, manual: bool) -> bool:
    """May a period in ``status`` get an attempt now? A retry waits for its time; manual review
    waits for a person (``manual``)."""
    if status == BillingPeriod.Status.RETRYING:
        return manual or (next_retry_at is not None and next_retry_at <= now)
    if status == BillingPeriod.Status.MANUAL_REVIEW:
        return manual
    return status == BillingPeriod.Status.INVOICED


def attempt_send(*, attempt: Attempt, actor) -> Attempt:
    """Send a pending attempt to the gateway (no transaction open): register the link's
    order, or charge the saved card. Safe to run again for the same attempt."""
    attempt = Attempt.objects.select_related(
        "payment", "subscription__customer", "subscription__organization"
    ).get(pk=attempt.pk)
    if attempt.status != Attempt.Status.PENDING:
        return attempt
    if attempt.payment.status != Payment.Status.PENDING:
        return attempt
    if attempt.method == Attempt.Method.SAVED_CARD:
        return _charge_saved_card(attempt, actor=actor)
    return _register_link(attempt, actor=actor)


def _register_link(attempt: Attempt, *, actor) -> Attempt:
    from payments.services import payment_decline, payment_register_order

    if attempt.payment.provider_reference and attempt.payment_url:
        return attempt
    subscription = attempt.subscription
    customer = subscription.customer
    save_card = subscription.collection == Subscription.Collection.SAVED_CARD
    try:
        payment = payment_register_order(
            payment=attempt.payment,
            actor=actor,
            language=customer.language,
            client_id=f"billing-customer-{customer.pk}" if save_card else "",
        )
    except DomainError as exc:
        logger.warning("attempt %s: order not registered: %s", attempt.pk, exc.message)
        payment_decline(
            payment=attempt.payment, actor=actor, reason=f"order not registered: {exc.code}"
        )
        return attempt
    checkpoint("link_registered")
    Attempt.objects.filter(pk=attempt.pk).update(payment_url=payment.payment_url)
    attempt.payment_url = payment.payment_url
    return attempt


def _charge_saved_card(attempt: Attempt, *, actor) -> Attempt:
    from payments.services import adapter_for_payment, payment_apply_status, payment_decline

    payment = attempt.payment
    customer = attempt.subscription.customer
    try:
        adapter = adapter_for_payment(payment)
    except DomainError as exc:
        payment_decline(payment=payment, actor=actor, reason=f"no gateway: {exc.code}")
        return attempt
    if attempt.charge_started_at is not None:
        # A run before this one sent the charge (and may have died): ask the gateway first.
        try:
            status = adapter.status(
                provider_reference=payment.provider_reference or "",
                order_number=payment.order_number,
            )
        except ProviderError as exc:
            if exc.code != "unknown_order":
                logger.warning("attempt %s: lookup failed, later: %s", attempt.pk, exc)
                return attempt
        else:
            payment_apply_status(
                payment=payment,
                status=status,
                method=Payment.VerificationMethod.LOOKUP,
                actor=actor,
            )
            payment.refresh_from_db()
            if payment.status != Payment.Status.PENDING:
                return attempt
    # Real time on purpose: when the call really went out (only its presence is ever read).
    # Claimed by a conditional update: of two runs that read the same attempt, one charges; the
    # other returns (a charge it sent too would be refused as a paid order and then declined).
    started, attempt.charge_started_at = attempt.charge_started_at, timezone.now()
    claimed = Attempt.objects.filter(pk=attempt.pk, charge_started_at=started).update(
        charge_started_at=attempt.charge_started_at
    )
    if not claimed:
        return attempt  # another run is charging it: the next run looks it up
    base = django_settings.PAYOPS_BASE_URL.rstrip("/") + "/payments/return/"
    request = OrderRequest(
        order_number=payment.order_number,
        amount=payment.amount,
        currency=payment.currency,
        description=payment.description or f"payops {payment.order_number}",
        return_url=f"{base}{attempt.order_number}/",
        language=customer.language,
        client_id=f"billing-customer-{customer.pk}",
    )
    checkpoint("before_charge")
    try:
        result = adapter.charge_token(request=request, binding_id=customer.binding_id)
    except ProviderError as exc:
        if exc.code == "transport_indeterminate":
            return attempt  # the outcome is unknown: the next run looks it up
        payment_decline(payment=payment, actor=actor, reason=f"charge refused: {exc.code}")
        return attempt
    checkpoint("after_charge")
    payment_apply_status(
        payment=payment, status=result, method=Payment.VerificationMethod.LOOKUP, actor=actor
    )
    return attempt
