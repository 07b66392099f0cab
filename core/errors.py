"""The one domain error type services raise, and the base of every app's error catalogue.

Each app lists its rule codes once, in ``<app>/errors.py``, as an ``ErrorCode`` enum: the stable
snake_case code integrators switch on, the HTTP status the API answers with, and a sentence::

    class WebhookError(ErrorCode):
        ENDPOINT_DISABLED = (
            "endpoint_disabled", 409, "Enable the endpoint before replaying to it."
        )

    raise WebhookError.ENDPOINT_DISABLED.error()                       # the catalogue's sentence
    raise WebhookError.ENDPOINT_DISABLED.error("Endpoint #3 is ...")   # a more precise one

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
    PERIOD_OVERLAP = ("period_overlap", 409, "The period overlaps another period.")
    PERIOD_BLOCKED = (
        "period_blocked",
        409,
        "Open blocking exceptions fall in this period; resolve them first.",
    )
    PERMISSION_DENIED = ("permission_denied", 403, "Your role does not allow this.")
    NOT_FOUND = ("not_found", 404, "Not found.")
    RESERVED_USERNAME = ("reserved_username", 400, "This username is reserved for system users.")
    INVALID_USER = ("invalid_user", 400, "The username or password is not acceptable.")
    CLOCK_BACKWARDS = ("clock_backwards", 409, "A test clock only moves forward.")
    CLOCK_TOO_FAR = (
        "clock_too_far",
        400,
        "A test clock moves only so far ahead in one step; move it in steps.",
    )
    DUPLICATE_BRANCH = ("duplicate_branch", 409, "A branch with this code already exists.")


class RequestError(ErrorCode):
    """Codes about the request itself (its form, authentication, rate, idempotency), which the
    API layer answers for every endpoint (``core.api.errors``, ``core.api.idempotency``). The
    messages sent are DRF's or more precise ones; the sentences here document the codes."""

    INVALID = ("invalid", 400, "The request has invalid fields (see `fields`).")
    UNKNOWN_FIELD = ("unknown_field", 400, "Unknown field(s) in the request body.")
    MALFORMED_REQUEST = ("malformed_request", 400, "The request body could not be parsed.")
    BAD_REQUEST = ("bad_request", 400, "The request was refused.")
    INVALID_IDEMPOTENCY_KEY = (
        "invalid_idempotency_key",
        400,
        "Idempotency-Key must be 1 to 255 characters.",
    )
    NOT_AUTHENTICATED = ("not_authenticated", 401, "No token was given.")
    AUTHENTICATION_FAILED = ("authentication_failed", 401, "The token is invalid or revoked.")
    METHOD_NOT_ALLOWED = ("method_not_allowed", 405, "This method is not allowed here.")
    NOT_ACCEPTABLE = ("not_acceptable", 406, "No answer in the format asked for.")
    REQUEST_TOO_LARGE = (
        "request_too_large",
        413,
        "The request body is larger than payops accepts.",
    )
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type", 415, "Send JSON.")
    THROTTLED = ("throttled", 429, "Too many requests for this client (see Retry-After).")
    IDEMPOTENCY_IN_PROGRESS = (
        "idempotency_in_progress",
        409,
        "A request with this Idempotency-Key is still being processed; retry later.",
    )
    IDEMPOTENCY_NOT_REPLAYABLE = (
        "idempotency_not_replayable",
        409,
        "The first answer to this Idempotency-Key held a secret shown only once; it is not "
        "replayed. Rotate the secret to get a new one.",
    )
    IDEMPOTENCY_KEY_REUSED = (
        "idempotency_key_reused",
        422,
        "This Idempotency-Key was used with another request body or endpoint.",
    )
    SERVER_ERROR = (
        "server_error",
        500,
        "Something went wrong on our side; it has been logged.",
    )
    DATABASE_UNAVAILABLE = (
        "database_unavailable",
        503,
        "The database connection was lost; retry in a moment (a write: with its Idempotency-Key).",
    )
