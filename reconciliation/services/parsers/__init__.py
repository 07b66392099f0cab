"""Provider report formats: each parser turns a gateway's export into the canonical rows of the
payops CSV (CONTRACT.md), so one import path (COPY into staging, validation in SQL) serves all.

- ``payops_csv``: the CONTRACT's CSV, streamed as is.
- ``bpc``: the BPC/ArCa order list (``getLastOrdersForMerchants.do`` JSON).
- ``ameria``: an Ameriabank vPOS list of payment details (``GetPaymentDetails`` fields).

Idram and Telcell document no report or listing API (../shared/PROVIDERS.md); their payments are
reconciled from a payops CSV the operator prepares. ``detect`` names the format from the content.
"""

from __future__ import annotations

from reconciliation.services.parsers.base import (
    CANONICAL_COLUMNS,
    FormatError,
    detect_format,
    rows_to_csv,
)

__all__ = ["CANONICAL_COLUMNS", "FormatError", "detect_format", "rows_to_csv"]
