"""OpenAPI: every operation documents its error responses in the one error format.

A view lists the catalogue codes it can answer with (``error_codes = [PayoutError.X, ...]``, or a
dict by viewset action); the schema documents each under its status with the catalogue's sentence
(``core.errors.ErrorCode``), so codes are written once.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

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


_COMMON = {
    "400": error("Invalid input (`invalid`, `unknown_field`, `malformed_request`)."),
    "401": error("Missing or invalid token."),
    "403": error("Not allowed."),
    "404": error("Not found (or belongs to another organisation)."),
    "429": error("Too many requests for this client (`throttled`)."),
}
_POST = {
    "409": error("Conflict with the current state, or `idempotency_in_progress`."),
    "422": error("Cannot be carried out as asked, or `idempotency_key_reused`."),
}


class PayopsAutoSchema(AutoSchema):
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

    def _domain_errors(self) -> dict[str, OpenApiResponse]:
        """The view's declared catalogue codes (``error_codes``: a list, or a dict by action),
        documented under their statuses with the catalogue's sentences."""
        declared = getattr(self.view, "error_codes", None) or ()
        if isinstance(declared, dict):
            declared = declared.get(getattr(self.view, "action", None), ())
        by_status: dict[int, list] = {}
        for member in declared:
            by_status.setdefault(member.status, []).append(member)
        return {
            str(status): error(
                " ".join(f"`{member.code}`: {member.sentence}" for member in members)
            )
            for status, members in sorted(by_status.items())
        }

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        extra = dict(_COMMON)
        if self.method in {"POST", "PUT", "PATCH", "DELETE"}:
            extra.update(_POST)
        extra.update(self._domain_errors())
        for status_code, response in extra.items():
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(response, status_code)
        return responses
