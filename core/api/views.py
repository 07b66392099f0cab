"""Base classes every API view of payops uses: organisation scoping and idempotent POSTs."""

from __future__ import annotations

from django.db import transaction
from rest_framework import generics, mixins, viewsets
from rest_framework.response import Response

from core.api import idempotency


class IdempotentPostMixin:
    """Runs each POST carrying ``Idempotency-Key`` exactly once (see ``core.api.idempotency``).

    This is DRF's ``APIView.dispatch`` with the handler wrapped: the handler and the stored
    response commit together, after the key was claimed in a transaction of its own.
    """

    def dispatch(self, request, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        record = None
        try:
            self.initial(request, *args, **kwargs)
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            key = request.headers.get(idempotency.HEADER)
            client = getattr(request, "api_client", None)
            if request.method == "POST" and key is not None and client is not None:
                record = idempotency.claim(
                    client=client,
                    key=key.strip(),
                    method=request.method,
                    path=request.path,
                    body=request.body,
                )
                with transaction.atomic():
                    response = handler(request, *args, **kwargs)
                    if response.status_code < 500:
                        idempotency.complete(
                            record, status=response.status_code, data=response.data
                        )
                        record = None
            else:
                response = handler(request, *args, **kwargs)
        except idempotency.Replay as replay:
            response = Response(
                replay.record.response_body,
                status=replay.record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        except Exception as exc:
            response = self.handle_exception(exc)
            if record is not None and response.status_code < 500:
                idempotency.complete(record, status=response.status_code, data=response.data)
                record = None
        finally:
            if record is not None:  # 5xx or crash: free the key, nothing was committed
                idempotency.release(record)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


class OrganizationScopedMixin:
    """Every object belongs to the token's organisation; others do not exist (404)."""

    organization_field = "organization"

    @property
    def organization(self):
        return self.request.organization

    def scope(self, queryset):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation: no request org
            return queryset.none()
        return queryset.filter(**{self.organization_field: self.request.organization})

    def get_queryset(self):
        """The class's ``queryset``, limited to the token's organisation."""
        return self.scope(super().get_queryset())


class PayopsAPIView(IdempotentPostMixin, OrganizationScopedMixin, generics.GenericAPIView):
    pass


class PayopsViewSet(IdempotentPostMixin, OrganizationScopedMixin, viewsets.GenericViewSet):
    pass


__all__ = ["PayopsAPIView", "PayopsViewSet", "mixins"]
