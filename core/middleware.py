from __future__ import annotations

from core.context import clean_request_id, set_request_id

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Takes the caller's ``X-Request-ID`` (or makes one), exposes it to logs, audit and tasks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get(HEADER))
        request.request_id = request_id
        # Not reset here: Django logs the response ("Not Found: …") after the middleware chain
        # returns. It is cleared when the request finishes (core.apps connects that).
        set_request_id(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def clear_request_id(**kwargs) -> None:
    """request_finished: no request id lingers into work outside a request."""
    set_request_id("")
