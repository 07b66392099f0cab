"""One error format for the whole API.

``{"error": {"code": "snake_case_code", "message": "a sentence", "fields": {"name": ["..."]}}}``
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import DomainError

logger = logging.getLogger("payops.api")

_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


UNKNOWN_FIELD = "unknown_field"


def _leaf_codes(codes) -> set[str]:
    if isinstance(codes, dict):
        return set().union(*(_leaf_codes(v) for v in codes.values())) if codes else set()
    if isinstance(codes, list):
        return set().union(*(_leaf_codes(v) for v in codes)) if codes else set()
    return {codes}


class ApiError(exceptions.APIException):
    """An API-level error with a stable code (e.g. idempotency conflicts)."""

    def __init__(self, code: str, message: str, status_code: int) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


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
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", "The request body is larger than payops accepts."),
            status=413,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request was refused."), status=400)
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
        return Response(
            error_body(UNKNOWN_FIELD, f"Unknown field(s) in the request body: {names}.", fields),
            status=status.HTTP_400_BAD_REQUEST,
        )

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        message = non_field[0] if non_field and not fields else "The request has invalid fields."
        if non_field and fields:
            fields["non_field_errors"] = non_field
        return Response(error_body("invalid", message, fields), status=400)

    if isinstance(exc, ApiError):
        return Response(error_body(exc.error_code, str(exc.detail)), status=exc.status_code)

    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), None)
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
    return JsonResponse(
        error_body("server_error", "Something went wrong on our side; it has been logged."),
        status=500,
        json_dumps_params={"separators": (",", ":")},
    )


def json_not_found(request, exception=None):
    return JsonResponse(
        error_body("not_found", "Not found."),
        status=404,
        json_dumps_params={"separators": (",", ":")},
    )


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
