"""The exception kinds reconciliation raises (registered in ``ReconciliationConfig.ready``).

Blocking where money may be wrong: such a case keeps its accounting period from closing.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from exceptionqueue.kinds import ExceptionKind

RECONCILIATION_MISMATCH = ExceptionKind(
    "reconciliation_mismatch",
    _("Provider report disagrees with payops (amount, status, refund, fee or duplicate)"),
    severity="high",
    blocking=True,
)
MISSING_IN_PROVIDER_REPORT = ExceptionKind(
    "missing_in_provider_report",
    _("Verified payment missing from the provider report"),
    severity="high",
    blocking=True,
)
MISSING_IN_PAYOPS = ExceptionKind(
    "missing_in_payops",
    _("Provider report row payops does not know"),
    severity="high",
    blocking=True,
)
BANK_DEBIT_UNEXPLAINED = ExceptionKind(
    "bank_debit_unexplained",
    _("Bank debit no payout explains"),
    severity="high",
    blocking=True,
)
PAYOUT_WITHOUT_BANK_LINE = ExceptionKind(
    "payout_without_bank_line",
    _("Completed payout with no bank statement line"),
    severity="medium",
    blocking=True,
)
SETTLEMENT_MISMATCH = ExceptionKind(
    "settlement_mismatch",
    _("Bank line of a payout with another amount or currency"),
    severity="high",
    blocking=True,
)
MONEY_DRIFT = ExceptionKind(
    "money_drift",
    _("Money self-check drift (verified - refunded != paid out + in flight + adjustments)"),
    severity="critical",
    blocking=True,
)

KINDS = (
    RECONCILIATION_MISMATCH,
    MISSING_IN_PROVIDER_REPORT,
    MISSING_IN_PAYOPS,
    BANK_DEBIT_UNEXPLAINED,
    PAYOUT_WITHOUT_BANK_LINE,
    SETTLEMENT_MISMATCH,
    MONEY_DRIFT,
)
