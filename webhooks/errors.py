"""The error codes of outgoing webhooks: ``WebhookError.NAME = (code, http_status, sentence)``.

Raised as ``WebhookError.NAME.error("precise sentence")``; the API answers with the code and
status, and the OpenAPI schema documents the codes a view declares (``error_codes``).
"""

from __future__ import annotations

from core.errors import ErrorCode


class WebhookError(ErrorCode):
    INVALID_EVENT_TYPE = (
        "invalid_event_type",
        400,
        "Not an event type payops sends: use <resource>.<status>, <resource>.* or *.",
    )
    URL_REFUSED = (
        "webhook_url_refused",
        400,
        "The webhook URL resolves to a loopback, private, link-local or reserved address.",
    )
    URL_INVALID = ("webhook_url_invalid", 400, "The webhook URL is not valid.")
    URL_UNRESOLVABLE = ("webhook_url_unresolvable", 400, "The webhook URL's host does not resolve.")
    ENDPOINT_DISABLED = ("endpoint_disabled", 409, "Enable the endpoint before replaying to it.")
    INVALID_RANGE = ("invalid_range", 400, "The range ends before it starts.")
