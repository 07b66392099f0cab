"""Creating a payment and registering its order at the gateway."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.audit import save_audited
from core.money import CURRENCIES, round_money
from payments.errors import PaymentError
from payments.events import (
    payment_created_record,
    payment_created_record_many,
    payment_order_registered_record,
)
from payments.janitor import BACKOFF_SECONDS
from payments.locks import payment_lock
from payments.models import Payment
from payments.providers.base import OrderRequest, ProviderError
from payments.services import gateways
from payments.services.gateways import gateway_amount_check

logger = logging.getLogger("payops.payments")


def _check_branch(organization, branch) -> None:
    if branch.organization_id != organization.pk:
        raise PaymentError.BRANCH_NOT_FOUND.error(
            "The branch does not belong to this organisation."
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
    payment = _payment_build(
        organization=organization,
        branch=branch,
        provider=provider,
        purpose=purpose,
        amount=amount,
        currency=currency,
        description=description,
        window_seconds=window_seconds,
    )
    if provider == Payment.Provider.AMERIA:
        _save_with_numeric_order_number(payment, actor=actor)
    else:
        save_audited(payment, actor=actor, reason="payment created")
    payment_created_record(payment, actor=actor)
    return payment


@transaction.atomic
def payment_create_many(*, organization, items: list[dict], actor) -> list[Payment]:
    """``payment_create`` for many payments of one organisation at once (billing's due
    attempts): the same checks for each (``items`` hold ``payment_create``'s other keyword
    arguments), then one INSERT of the payments, one of their history rows (actor, "payment
    created") and one of their ``created`` events, whatever the count. Ameria's numeric order
    numbers are drawn one payment at a time (``payment_create``). Returns them in order."""
    payments = [_payment_build(organization=organization, **item) for item in items]
    many = [p for p in payments if p.provider != Payment.Provider.AMERIA]
    for payment in payments:
        if payment.provider == Payment.Provider.AMERIA:
            _save_with_numeric_order_number(payment, actor=actor)
            payment_created_record(payment, actor=actor)
    if many:
        bulk_create_with_history(
            many, Payment, default_user=actor, default_change_reason="payment created"
        )
        payment_created_record_many(many, actor=actor)
    return payments


def _payment_build(
    *,
    organization,
    branch,
    provider: str,
    purpose: str,
    amount: Decimal,
    currency: str,
    description: str = "",
    window_seconds: int | None = None,
) -> Payment:
    """The checked, unsaved pending payment of ``payment_create``."""
    _check_branch(organization, branch)
    amount, window_seconds = _payment_checked(
        organization=organization,
        provider=provider,
        purpose=purpose,
        amount=amount,
        currency=currency,
        window_seconds=window_seconds,
    )
    now = timezone.now()
    return Payment(
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


# Choices as sets (``TextChoices.values`` builds a list on every read).
_PROVIDERS = frozenset(Payment.Provider.values)
_PURPOSES = frozenset(Payment.Purpose.values)


def _payment_checked(
    *,
    organization,
    provider: str,
    purpose: str,
    amount: Decimal,
    currency: str,
    window_seconds: int | None,
) -> tuple[Decimal, int]:
    """``payment_create``'s checks (the branch apart): the amount as stored and the window."""
    if provider not in _PROVIDERS:
        raise PaymentError.UNKNOWN_PROVIDER.error(f"Unknown provider {provider!r}.")
    if purpose not in _PURPOSES:
        raise PaymentError.UNKNOWN_PURPOSE.error(f"Unknown purpose {purpose!r}.")
    if currency not in CURRENCIES:
        raise PaymentError.UNSUPPORTED_CURRENCY.error(f"Unsupported currency {currency!r}.")
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    amount = round_money(amount, currency)
    if amount <= 0:
        raise PaymentError.INVALID_AMOUNT.error("The amount must be positive.")
    gateway_amount_check(amount, currency)
    if window_seconds is None:
        from payments.selectors import provider_account_get

        account = provider_account_get(organization=organization, provider=provider)
        window_seconds = account.payment_window_seconds if account else 1200
        window_seconds = max(window_seconds, gateway_validity_seconds(provider, account))
    return amount, window_seconds


def payment_row_check(
    *,
    organization,
    branch_organization_id: int,
    provider: str,
    purpose: str,
    amount: Decimal,
    currency: str,
    window_seconds: int | None = None,
) -> tuple[Decimal, int]:
    """The checks of ``payment_create`` for one row of ``payments_create_from``: returns the
    amount as stored (rounded per currency) and the link's window in seconds. A gateway with
    numeric order numbers (Ameria) is refused here: those are drawn one at a time
    (``payment_create``)."""
    if branch_organization_id != organization.pk:
        raise PaymentError.BRANCH_NOT_FOUND.error(
            "The branch does not belong to this organisation."
        )
    if provider == Payment.Provider.AMERIA:
        raise ValueError("Ameria payments are created one at a time (numeric order numbers).")
    return _payment_checked(
        organization=organization,
        provider=provider,
        purpose=purpose,
        amount=amount,
        currency=currency,
        window_seconds=window_seconds,
    )


def payments_create_from(*, organization, table: str, actor) -> int:
    """``payment_create`` for every row of the temporary table ``table`` at once (set-based,
    PostgreSQL; a domain's batch of due payments): columns ``payment_id`` (reserved from the
    payments' sequence), ``order_number``, ``branch_id``, ``provider``, ``purpose``, ``amount``,
    ``currency``, ``description``, ``window_seconds``, each row checked by
    ``payment_row_check`` first. Writes the pending payments, their history rows (actor,
    "payment created") and their ``created`` events: one INSERT each, whatever the count.
    Returns how many payments were written."""
    from core.bulk import Expr, Param, history_insert, insert_select, qn
    from payments.models import PaymentEvent

    now = timezone.now()
    source = f"FROM {qn(table)} n"
    insert_select(
        Payment,
        {
            "id": "n.payment_id",
            "organization_id": Param(organization.pk),
            "branch_id": "n.branch_id",
            "provider": "n.provider",
            "order_number": "n.order_number",
            "purpose": "n.purpose",
            "amount": "n.amount",
            "currency": "n.currency",
            "description": "left(n.description, 255)",
            "status": Param(Payment.Status.PENDING),
            "expires_at": Expr("%s::timestamptz + make_interval(secs => n.window_seconds)", now),
            "next_check_at": Param(now + timedelta(seconds=BACKOFF_SECONDS[0])),
            "created_at": Param(now),
            "updated_at": Param(now),
        },
        source=source + " ORDER BY n.payment_id",
    )
    written = history_insert(
        Payment,
        source=f"FROM {qn(Payment._meta.db_table)} t JOIN {qn(table)} n ON n.payment_id = t.id"
        " ORDER BY t.id",
        actor=actor,
        reason="payment created",
        history_type="+",
        when=now,
    )
    insert_select(
        PaymentEvent,
        {
            "organization_id": Param(organization.pk),
            "payment_id": "n.payment_id",
            "kind": Param(PaymentEvent.Kind.CREATED),
            "from_status": Param(""),
            "to_status": Param(Payment.Status.PENDING),
            "actor_id": Param(actor.pk),
            "amount": "n.amount",
            "currency": "n.currency",
        },
        source=source + " ORDER BY n.payment_id",
    )
    return written


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
    raise PaymentError.ORDER_NUMBER_EXHAUSTED.error("Could not draw a free order number.")


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
        raise PaymentError.PAYMENT_NOT_PENDING.error("Only a pending payment can be registered.")
    adapter = adapter or gateways.adapter_for_payment(payment)
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
        raise PaymentError.PROVIDER_ERROR.error(
            f"The gateway refused or failed the order: {exc}"
        ) from exc
    return _record_order(payment=payment, created=created, actor=actor)


@transaction.atomic
def _record_order(*, payment: Payment, created, actor) -> Payment:
    payment = payment_lock(payment)
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
    payment_order_registered_record(payment, actor=actor)
    return payment
