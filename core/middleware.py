from __future__ import annotations

from core.context import clean_request_id, reset_request_id, set_request_id

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Takes the caller's ``X-Request-ID`` (or makes one), exposes it to logs, audit and tasks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get(HEADER))
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response[HEADER] = request_id
        return response
