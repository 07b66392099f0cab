"""The one domain error type services raise; the API turns it into a 4xx with a stable code."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation. Nothing was changed.

    ``code`` is a stable snake_case string integrators can switch on; ``status_code`` is the HTTP
    status the API answers with (409 conflict with the current state, 422 a request that is well
    formed but cannot be carried out, 400 a rule about the input, 404 not found).
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
