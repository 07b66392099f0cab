"""The error codes of the exception queue: ``ExceptionQueueError.NAME = (code, status, sentence)``.

A refused move of a case is the kernel's ``CoreError.TRANSITION_NOT_ALLOWED`` (``core.fsm``).
"""

from __future__ import annotations

from core.errors import ErrorCode


class ExceptionQueueError(ErrorCode):
    RESOLUTION_NOTE_REQUIRED = (
        "resolution_note_required",
        400,
        "Say how the exception was resolved.",
    )
