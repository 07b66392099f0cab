"""OpenAPI: every operation documents its error responses in the one error format.

A view lists the catalogue codes it can answer with (``error_codes = [PayoutError.X, ...]``, or a
dict by viewset action); the schema documents each under its status with the catalogue's sentence
(``core.errors.ErrorCode``), together with the codes every operation may answer (``RequestError``,
``CoreError.PERMISSION_DENIED``, ``NOT_FOUND``), so codes are written once.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from core.errors import CoreError, ErrorCode, RequestError

_ErrorDetail = inline_serializer(
    name="ErrorDetail",
    fields={
        "code": serializers.CharField(help_text="Stable snake_case code."),
        "message": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
ErrorSerializer = inline_serializer(name="Error", fields={"error": _ErrorDetail})


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


# What every operation may answer, and what every write may answer besides (idempotency), as
# catalogue members: each status is documented with its codes' sentences, merged with the codes
# the view declares.
_COMMON: tuple[ErrorCode, ...] = (
    RequestError.INVALID,
    RequestError.UNKNOWN_FIELD,
    RequestError.MALFORMED_REQUEST,
    RequestError.NOT_AUTHENTICATED,
    RequestError.AUTHENTICATION_FAILED,
    CoreError.PERMISSION_DENIED,
    CoreError.NOT_FOUND,
    RequestError.THROTTLED,
    RequestError.DATABASE_UNAVAILABLE,
)
_WRITE: tuple[ErrorCode, ...] = (
    RequestError.INVALID_IDEMPOTENCY_KEY,
    RequestError.IDEMPOTENCY_IN_PROGRESS,
    RequestError.IDEMPOTENCY_KEY_REUSED,
)
# A 409 and a 422 are documented on every write, whether or not the view declares a rule code.
_WRITE_STATUS_LEAD = {
    409: "Conflict with the current state.",
    422: "Cannot be carried out as asked.",
}


def describe(members, *, lead: str = "") -> OpenApiResponse:
    """One status documented from catalogue members: each code with its sentence."""
    parts = [lead] if lead else []
    parts += [f"`{member.code}`: {member.sentence}" for member in members]
    return error(" ".join(parts))


# Read-only fields whose schema would refuse "" unless told: an enum, or a string format.
_BLANK_SENSITIVE = (serializers.ChoiceField, serializers.EmailField, serializers.URLField)


def _blank_model_choice(field) -> bool:
    """A read-only choice, e-mail or URL field over a model column that may be blank: DRF drops
    ``allow_blank`` from read-only fields, so the enum (or ``format: email``/``uri``) would leave
    out the "" it answers (billing's ``Customer.email`` of a customer without one: schemathesis
    found it). With ``allow_blank`` the schema says ``oneOf: [{format: email}, {maxLength: 0}]``,
    as it does for the request's field."""
    if not isinstance(field, _BLANK_SENSITIVE) or not field.read_only or field.allow_blank:
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        column = model._meta.get_field(field.source)
    except Exception:  # not a model column (a property, an annotation)
        return False
    if isinstance(field, serializers.ChoiceField):
        return bool(getattr(column, "blank", False) and getattr(column, "choices", None))
    return bool(getattr(column, "blank", False))


class PayopsAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if _blank_model_choice(field):
            field.allow_blank = True  # the schema's copy of the field only: "" is documented
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def get_override_parameters(self):
        params = super().get_override_parameters()
        if self.method == "POST":
            from drf_spectacular.utils import OpenApiParameter

            params = [
                *params,
                OpenApiParameter(
                    name="Idempotency-Key",
                    location=OpenApiParameter.HEADER,
                    required=False,
                    type=str,
                    description="Same key and body replays the first response (kept 24 h).",
                ),
            ]
        return params

    def _declared(self) -> list[ErrorCode]:
        """The view's catalogue codes (``error_codes``: a list, or a dict by action)."""
        declared = getattr(self.view, "error_codes", None) or ()
        if isinstance(declared, dict):
            declared = declared.get(getattr(self.view, "action", None), ())
        return list(declared)

    def _error_responses(self) -> dict[str, OpenApiResponse]:
        """Every 4xx this operation may answer, by status, from the catalogues."""
        members = list(_COMMON)
        write = self.method in {"POST", "PUT", "PATCH", "DELETE"}
        if write:
            members += _WRITE
        members += [member for member in self._declared() if member not in members]
        by_status: dict[int, list[ErrorCode]] = {}
        for member in members:
            by_status.setdefault(member.status, []).append(member)
        if write:
            for status in _WRITE_STATUS_LEAD:
                by_status.setdefault(status, [])
        return {
            str(status): describe(group, lead=_WRITE_STATUS_LEAD.get(status, "") if write else "")
            for status, group in sorted(by_status.items())
        }

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code, response in self._error_responses().items():
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(response, status_code)
        if self.method == "GET" and self._is_list_view():
            responses.setdefault("414", URI_TOO_LONG)
        return responses


# A list's filters ride in the query string, and the HTTP server in front of payops (gunicorn)
# refuses a request line above its limit before Django sees it: 414 with its own HTML page, not
# the error format. Schemathesis found it (GET notifications/ with hundreds of ``customer``
# values); documented so an integrator knows to send fewer or shorter filter values. Below that
# limit a malformed filter value is 400 ``invalid`` naming the filter in ``error.fields``.
URI_TOO_LONG = {
    "description": (
        "URI Too Long: the request line is above the HTTP server's limit (4094 bytes by "
        "default); answered by the server itself, as a text/html page, before payops reads the "
        "request. Send fewer or shorter filter values."
    ),
    "content": {"text/html": {"schema": {"type": "string"}}},
}
