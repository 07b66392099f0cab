"""The reconciliation app's error catalogue."""

from __future__ import annotations

from core.errors import CoreError, ErrorCode, RequestError


class ReconciliationError(ErrorCode):
    MALFORMED_FILE = ("malformed_file", 400, "The file is malformed; nothing of it was written.")
    UNKNOWN_FORMAT = ("unknown_format", 400, "The file's format is not one payops can read.")
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
    PERIOD_NOT_ENDED = (
        "period_not_ended",
        409,
        "This period has not ended yet in the organisation's time zone; close it from the day "
        "after its last day.",
    )


# Codes the kernel's catalogues hold (each code is written once across the catalogues).
INVALID = RequestError.INVALID
PERIOD_OVERLAP = CoreError.PERIOD_OVERLAP
PERIOD_BLOCKED = CoreError.PERIOD_BLOCKED
PERIOD_NOT_ENDED = ReconciliationError.PERIOD_NOT_ENDED
