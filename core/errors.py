"""The one domain error type services raise, and the base of every app's error catalogue.

Each app lists its rule codes once, in ``<app>/errors.py``, as an ``ErrorCode`` enum: the stable
snake_case code integrators switch on, the HTTP status the API answers with, and a sentence::

    class PayoutError(ErrorCode):
        DUPLICATE_ACTIVE_PAYOUT = (
            "duplicate_active_payout", 409, "An active payout already covers this scope."
        )

    raise PayoutError.DUPLICATE_ACTIVE_PAYOUT.error()                  # the catalogue's sentence
    raise PayoutError.DUPLICATE_ACTIVE_PAYOUT.error("Payout #12 ...")  # a more precise one

Statuses: 409 conflict with the current state, 422 a well-formed request that cannot be carried
out, 400 a rule about the input, 403 not allowed, 404 not found. The OpenAPI schema documents each
operation's 4xx from the catalogue (``core.api.schema``), so the codes are written in one place.
"""

from __future__ import annotations

import enum


class DomainError(Exception):
    """A business rule refused the operation. Nothing was changed.

    ``code`` is a stable snake_case string integrators can switch on; ``status_code`` is the HTTP
    status the API answers with. Raise it through a catalogue member (``ErrorCode.error``).
    """

    status_code = 409

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}


_catalogues: list[type[ErrorCode]] = []


class ErrorCode(enum.Enum):
    """A catalogue of an app's error codes: ``NAME = (code, http_status, sentence)``."""

    def __new__(cls, code: str, status: int, sentence: str):
        member = object.__new__(cls)
        member._value_ = code
        member.status = status
        member.sentence = sentence
        return member

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _catalogues.append(cls)

    @property
    def code(self) -> str:
        return self.value

    def error(
        self,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        status_code: int | None = None,
    ) -> DomainError:
        """The ``DomainError`` to raise: this code, its status, the given or catalogue sentence."""
        return DomainError(
            self.value,
            message or self.sentence,
            status_code=status_code or self.status,
            fields=fields,
        )

    def __str__(self) -> str:
        return self.value


def error_catalogue() -> dict[str, ErrorCode]:
    """Every registered code -> its member (apps' ``errors`` modules are imported at start-up)."""
    return {member.value: member for catalogue in _catalogues for member in catalogue}


class CoreError(ErrorCode):
    """Codes the kernel itself raises, shared by every app."""

    TRANSITION_NOT_ALLOWED = (
        "transition_not_allowed",
        409,
        "This object cannot move to that state from its current one.",
    )
    REASON_REQUIRED = ("reason_required", 400, "A reason is required.")
    PERIOD_CLOSED = ("period_closed", 409, "The period this change falls in is closed.")
    PERMISSION_DENIED = ("permission_denied", 403, "Your role does not allow this.")
    NOT_FOUND = ("not_found", 404, "Not found.")
    RESERVED_USERNAME = ("reserved_username", 400, "This username is reserved for system users.")
    INVALID_USER = ("invalid_user", 400, "The username or password is not acceptable.")
    CLOCK_NEEDS_OFFSET = (
        "invalid",
        400,
        "A test clock time needs its UTC offset (ISO 8601, e.g. 2026-12-01T09:00:00+04:00).",
    )
    CLOCK_BACKWARDS = ("clock_backwards", 409, "A test clock only moves forward.")
