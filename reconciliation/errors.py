"""The reconciliation app's error catalogue."""

from __future__ import annotations

from core.errors import ErrorCode


class ReconciliationError(ErrorCode):
    MALFORMED_FILE = ("malformed_file", 400, "The file is malformed; nothing of it was written.")
    UNKNOWN_FORMAT = ("unknown_format", 400, "The file's format is not one payops can read.")
    UNKNOWN_PROVIDER = ("unknown_provider", 400, "No such provider.")
    REPORT_ALREADY_IMPORTED = (
        "report_already_imported",
        409,
        "This exact file was imported before; nothing was written.",
    )
    STATEMENT_ALREADY_IMPORTED = (
        "statement_already_imported",
        409,
        "This exact bank statement was imported before; nothing was written.",
    )
    INVALID_RANGE = ("invalid", 400, "The date range is invalid.")
    PERIOD_OVERLAP = (
        "period_overlap",
        409,
        "An accounting period already covers part of these dates.",
    )
    PERIOD_BLOCKED = (
        "period_blocked",
        409,
        "Blocking cases fall in this period; resolve them first.",
    )
