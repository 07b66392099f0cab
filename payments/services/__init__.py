"""Writes for provider payments: one module per concept, every change under a row lock with its
audit rows. The public names are re-exported here, so ``from payments.services import X`` and
``services.X`` work wherever they are used.

- ``creation``: a payment and its order at the gateway;
- ``accounts``: the gateway URL an account may use;
- ``gateways``: the adapter of a payment, gateway calls outside transactions;
- ``status``: the gateway's (or an operator's) word applied: verify, decline, expire;
- ``checks``: lookups of pending payments (janitor, operators), the final check after expiry;
- ``late``: late payments and their reinstatement;
- ``refunds``: reserve, call the gateway, record (and correct) its answer;
- ``refund_resolution``: settle a pending refund by lookup, or list it for operators;
- ``sandbox``: the sandbox round trip.
"""

from payments.services.accounts import (
    GATEWAY_HOSTS,
    provider_account_check,
    provider_account_check_base_url,
    provider_account_check_config,
)
from payments.services.checks import payment_check_status, payment_final_check
from payments.services.creation import (
    gateway_validity_seconds,
    payment_create,
    payment_create_many,
    payment_register_order,
    payment_row_check,
    payments_create_from,
)
from payments.services.gateways import adapter_class_capabilities, adapter_for_payment
from payments.services.late import payment_reinstate
from payments.services.refund_resolution import (
    RefundUnresolved,
    refund_flag_stuck,
    refund_resolve,
    refund_unflag,
)
from payments.services.refunds import (
    payment_refund,
    refund_complete,
    refund_gateway_id,
    refund_reserve,
)
from payments.services.sandbox import sandbox_pay, sandbox_payment_deposited
from payments.services.status import (
    AmountMismatch,
    payment_apply_status,
    payment_decline,
    payment_expire,
    payment_verify_manually,
    raise_amount_mismatch,
)

__all__ = [
    "GATEWAY_HOSTS",
    "AmountMismatch",
    "RefundUnresolved",
    "adapter_class_capabilities",
    "adapter_for_payment",
    "gateway_validity_seconds",
    "payment_apply_status",
    "payment_check_status",
    "payment_create",
    "payment_create_many",
    "payment_decline",
    "payment_expire",
    "payment_final_check",
    "payment_refund",
    "payment_register_order",
    "payment_reinstate",
    "payment_row_check",
    "payment_verify_manually",
    "payments_create_from",
    "provider_account_check",
    "provider_account_check_base_url",
    "provider_account_check_config",
    "raise_amount_mismatch",
    "refund_complete",
    "refund_flag_stuck",
    "refund_gateway_id",
    "refund_reserve",
    "refund_resolve",
    "refund_unflag",
    "sandbox_pay",
    "sandbox_payment_deposited",
]
