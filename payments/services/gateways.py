"""The gateway adapter of a payment, and the rule that gateway calls run outside transactions."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import connection

from core.errors import RequestError
from core.money import check_amount_bound
from payments.errors import PaymentError
from payments.models import Payment
from payments.providers.base import StatusResult

logger = logging.getLogger("payops.payments")


def adapter_for_payment(payment: Payment, *, http=None):
    from payments.providers import registry
    from payments.selectors import provider_account_get

    if payment.provider == Payment.Provider.SANDBOX:
        return registry.sandbox_adapter(http=http)
    account = provider_account_get(organization=payment.organization, provider=payment.provider)
    if account is None:
        raise PaymentError.PROVIDER_NOT_CONFIGURED.error(
            f"The organisation has no active {payment.provider} account.", status_code=422
        )
    return registry.adapter_for_account(account, http=http)


def adapter_class_capabilities(provider: str):
    from payments.providers import registry

    try:
        return registry.adapter_class(provider).capabilities
    except (registry.UnknownProvider, ImportError, AttributeError):
        return None


def in_outer_transaction() -> bool:
    """True when the caller holds a transaction open (test-case wrappers do not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def gateway_status(adapter, payment: Payment) -> StatusResult:
    """The gateway's status lookup of the payment's order (no lock may be held)."""
    return adapter.status(
        provider_reference=payment.provider_reference or "",
        order_number=payment.order_number,
    )


def gateway_amount_check(amount: Decimal, currency: str) -> Decimal:
    """Refuse an amount beyond what the gateways' integer minor units carry
    (``core.money.max_amount``): 400 ``invalid`` on the field ``amount``."""
    try:
        return check_amount_bound(amount, currency)
    except ValueError as exc:
        raise RequestError.INVALID.error(str(exc), fields={"amount": [str(exc)]}) from None
