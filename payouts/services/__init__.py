"""Writes of Smart QR payouts, one module per concept; every function here is the only way its
rows change. The rule about X lives in ``payouts/services/<X>.py``:

- ``recipients``: recipients and their Smart QR codes;
- ``qr_payments``: payments through a QR (sandbox round trip, checkout at the gateway);
- ``fee_policies``: the fee an organisation takes per currency;
- ``periods``: accounting periods (create, close, reopen);
- ``requests``: one recipient's payout request;
- ``transitions``: process, complete, cancel, reverse;
- ``drift``: refunds after a request (``on_payment_change``), drift decisions, carried refunds;
- ``build``: the set-based build of a closed period;
- ``amounts``: the adjustments that fit and the fee rule applied to a payout;
- ``cases``: the exception cases payouts lists and clears.

Reads are in ``payouts.selectors``, the lock order in ``payouts.locks``, event rows in
``payouts.events``, error codes in ``payouts.errors``.
"""

from payouts.exception_kinds import LATE_PAYMENT_IN_CLOSED_PERIOD, PERIOD_BUILD_FAILED
from payouts.selectors import (
    eligible_payments,
    fee_policy_terms,
    local_window,
    period_has_leftovers,
)
from payouts.services.build import payout_period_build
from payouts.services.cases import (
    drift_key,
    late_key,
    period_build_failed,
    period_build_recovered,
    reference_key,
)
from payouts.services.drift import (
    DRIFT_DECISIONS,
    drift_case_close_guard,
    on_payment_change,
    payout_drift_decide,
)
from payouts.services.fee_policies import fee_policy_set
from payouts.services.periods import PERIOD_TARGETS, period_create, period_transition
from payouts.services.qr_payments import (
    qr_checkout_provider,
    qr_checkout_start,
    qr_payment_create,
    sandbox_check,
    sandbox_qr_payment,
)
from payouts.services.recipients import qr_code_create, recipient_create, recipient_update
from payouts.services.requests import payout_request
from payouts.services.transitions import (
    TRANSITION_TARGETS,
    payout_cancel,
    payout_complete,
    payout_process,
    payout_reverse,
    payout_transition,
)

__all__ = [
    "DRIFT_DECISIONS",
    "LATE_PAYMENT_IN_CLOSED_PERIOD",
    "PERIOD_BUILD_FAILED",
    "PERIOD_TARGETS",
    "TRANSITION_TARGETS",
    "drift_case_close_guard",
    "drift_key",
    "eligible_payments",
    "fee_policy_set",
    "fee_policy_terms",
    "late_key",
    "local_window",
    "on_payment_change",
    "payout_cancel",
    "payout_complete",
    "payout_drift_decide",
    "payout_period_build",
    "payout_process",
    "payout_request",
    "payout_reverse",
    "payout_transition",
    "period_build_failed",
    "period_build_recovered",
    "period_create",
    "period_has_leftovers",
    "period_transition",
    "qr_checkout_provider",
    "qr_checkout_start",
    "qr_code_create",
    "qr_payment_create",
    "recipient_create",
    "recipient_update",
    "reference_key",
    "sandbox_check",
    "sandbox_qr_payment",
]
