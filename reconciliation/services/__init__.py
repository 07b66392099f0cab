"""Reconciliation writes, one module per concept:

- ``reports``: provider report import (COPY into staging, validated in SQL);
- ``parsers``: one module per file format (payops CSV, BPC, Ameria, MT940, camt.053);
- ``matching``: set-based matching of report rows with payments;
- ``runs``: reconciliation runs, their counts and figures, and their exception cases;
- ``figures``: per-period figures and the money self-check;
- ``bank``: bank statements and payouts without a bank line;
- ``periods``: accounting periods (create, close, reopen);
- ``adjustments``: late refunds and payments booked in the next open period;
- ``nightly``: the nightly due work; ``settings``: per-organisation settings.
"""

from reconciliation.services.adjustments import on_payment_change
from reconciliation.services.bank import (
    bank_payouts_check,
    bank_statement_import,
    bank_statement_match,
)
from reconciliation.services.nightly import reconciliation_due_work
from reconciliation.services.periods import (
    NOT_ENDED,
    accounting_period_blockers,
    accounting_period_closable_from,
    accounting_period_close,
    accounting_period_create,
    accounting_period_dates_check,
    accounting_period_month,
    accounting_period_not_ended,
    accounting_period_reopen,
)
from reconciliation.services.reports import provider_report_import
from reconciliation.services.runs import local_bounds, reconciliation_run
from reconciliation.services.settings import reconciliation_settings_get

__all__ = [
    "NOT_ENDED",
    "accounting_period_blockers",
    "accounting_period_closable_from",
    "accounting_period_close",
    "accounting_period_create",
    "accounting_period_dates_check",
    "accounting_period_month",
    "accounting_period_not_ended",
    "accounting_period_reopen",
    "bank_payouts_check",
    "bank_statement_import",
    "bank_statement_match",
    "local_bounds",
    "on_payment_change",
    "provider_report_import",
    "reconciliation_due_work",
    "reconciliation_run",
    "reconciliation_settings_get",
]
