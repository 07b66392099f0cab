"""One error format for the whole API.

``{"error": {"code": "snake_case_code", "message": "a sentence", "fields": {"name": ["..."]}}}``

Every code answered here is a catalogue member (``core.errors.RequestError`` for the request's
form, authentication, rate and idempotency; ``CoreError`` and the apps' catalogues for rules).
"""

from __future__ import annotations

import logging

from django import db
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from core.errors import CoreError, DomainError, ErrorCode, RequestError

logger = logging.getLogger("payops.api")

_CODES: dict[type[exceptions.APIException], ErrorCode] = {
    exceptions.ParseError: RequestError.MALFORMED_REQUEST,
    exceptions.AuthenticationFailed: RequestError.AUTHENTICATION_FAILED,
    exceptions.NotAuthenticated: RequestError.NOT_AUTHENTICATED,
    exceptions.PermissionDenied: CoreError.PERMISSION_DENIED,
    exceptions.NotFound: CoreError.NOT_FOUND,
    exceptions.MethodNotAllowed: RequestError.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: RequestError.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: RequestError.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: RequestError.THROTTLED,
}


UNKNOWN_FIELD = RequestError.UNKNOWN_FIELD.code


def _leaf_codes(codes) -> set[str]:
    if isinstance(codes, dict):
        return set().union(*(_leaf_codes(v) for v in codes.values())) if codes else set()
    if isinstance(codes, list):
        return set().union(*(_leaf_codes(v) for v in codes)) if codes else set()
    return {codes}


class ApiError(exceptions.APIException):
    """An API-level error (e.g. an idempotency conflict): a catalogue member, with its sentence
    or a more precise message."""

    def __init__(self, member: ErrorCode, message: str | None = None) -> None:
        super().__init__(detail=message or member.sentence, code=member.code)
        self.status_code = member.status
        self.error_code = member.code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _answer(member: ErrorCode, message: str | None = None, fields: dict | None = None):
    """A DRF response of ``member``, with its sentence or a more precise message."""
    return Response(
        error_body(member.code, message or member.sentence, fields), status=member.status
    )


def _json_answer(member: ErrorCode) -> JsonResponse:
    """The same as plain Django JSON (outside DRF: 404 and 500 handlers)."""
    return JsonResponse(
        error_body(member.code, member.sentence),
        status=member.status,
        json_dumps_params={"separators": (",", ":")},
    )


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"field" or "items.0.amount": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc, context):
    if isinstance(exc, db.OperationalError | db.InterfaceError):
        # A lost connection (PostgreSQL restarted, the backend terminated): the transaction was
        # rolled back with it. Drop the connection so the next request opens a fresh one.
        logger.warning("database unavailable: %s", exc)
        db.connection.close_if_unusable_or_obsolete()
        response = _answer(RequestError.DATABASE_UNAVAILABLE)
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, RequestDataTooBig):
        return _answer(RequestError.REQUEST_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        return _answer(RequestError.BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)

    if isinstance(exc, exceptions.ValidationError) and UNKNOWN_FIELD in _leaf_codes(
        exc.get_codes()
    ):
        fields = _flatten(exc.detail)
        names = ", ".join(sorted(fields))
        return _answer(
            RequestError.UNKNOWN_FIELD, f"Unknown field(s) in the request body: {names}.", fields
        )

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        message = non_field[0] if non_field and not fields else "The request has invalid fields."
        if non_field and fields:
            fields["non_field_errors"] = non_field
        return _answer(RequestError.INVALID, message, fields)

    if isinstance(exc, ApiError):
        return Response(error_body(exc.error_code, str(exc.detail)), status=exc.status_code)

    if isinstance(exc, exceptions.APIException):
        member = next((m for cls, m in _CODES.items() if isinstance(exc, cls)), None)
        code = member.code if member is not None else None
        code = code or (exc.default_code if isinstance(exc.default_code, str) else "error")
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else exc.default_detail
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(code, str(message)), status=exc.status_code, headers=headers)

    return None  # unexpected: Django's 500 handling (and the JSON handler below for /api/)


def json_server_error(request, *args, **kwargs):
    return _json_answer(RequestError.SERVER_ERROR)


def json_not_found(request, exception=None):
    return _json_answer(CoreError.NOT_FOUND)


@csrf_exempt
def api_fallback(request, *args, **kwargs):
    """The last route under /api/: a path missing only its trailing slash is served as if it had
    one (a POST must not become a redirected GET); anything else is a JSON 404."""
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_fallback:
            return match.func(request, *match.args, **match.kwargs)
    return json_not_found(request)


def json_server_error_or_page(request, *args, **kwargs):
    """A 500 under /api/ answers in the error format; elsewhere Django's plain page."""
    if request.path.startswith("/api/"):
        return json_server_error(request)
    from django.views.defaults import server_error

    return server_error(request, *args, **kwargs)
