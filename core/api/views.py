"""Base classes every API view of payops uses: organisation scoping and idempotent POSTs."""

from __future__ import annotations

import logging
from contextlib import nullcontext

from django.db import DatabaseError, transaction
from rest_framework import generics, mixins, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from core.api import idempotency
from core.api.errors import ApiError
from core.api.filters import NUL, refuse_nul_query
from core.errors import RequestError

logger = logging.getLogger("payops.api")


class IdempotentPostMixin:
    """Runs each POST carrying ``Idempotency-Key`` exactly once (see ``core.api.idempotency``).

    This is DRF's ``APIView.dispatch`` with the handler wrapped: by default the handler and the
    stored response commit together, after the key was claimed in a transaction of its own.

    A view whose service calls the outside world (a gateway moving money) sets
    ``idempotency_atomic = False``: no transaction may stay open across that call, so the
    handler runs on its own and its answer is stored afterwards. Such a service must then be
    idempotent itself: the view hands it ``request.idempotency_key`` (``None`` without the
    header) and a retry after a crash finds the first attempt instead of repeating it.
    """

    idempotency_atomic = True
    # False where the first answer holds a secret shown once: it is not stored, and a replay
    # answers 409 ``idempotency_not_replayable`` instead of showing the secret again.
    idempotency_replayable = True

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
            record = self._claim(request)
            if record is None:
                response = handler(request, *args, **kwargs)
            else:
                with transaction.atomic() if self.idempotency_atomic else nullcontext():
                    response = handler(request, *args, **kwargs)
                    if idempotency.storable(response.status_code):
                        self._complete(record, response)
                        record = None
                    elif self.idempotency_atomic and response.status_code >= 500:
                        transaction.set_rollback(True)  # a returned 5xx commits nothing
        except idempotency.Replay as replay:
            response = self._replay(replay.record)
        except Exception as exc:
            response = self.handle_exception(exc)
            if record is not None and idempotency.storable(response.status_code):
                self._complete(record, response)
                record = None
        finally:
            # Not stored (400, 5xx, crash): free the key. In the atomic mode nothing was
            # committed; otherwise the service's own idempotency covers the retry.
            if record is not None:
                try:
                    idempotency.release(record)
                except DatabaseError:  # the connection is gone: the key goes stale by itself
                    logger.warning("idempotency key %s not released (database lost)", record.key)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _claim(self, request):
        request.idempotency_key = None
        key = request.headers.get(idempotency.HEADER)
        client = getattr(request, "api_client", None)
        if request.method != "POST" or key is None or client is None:
            return None
        record = idempotency.claim(
            client=client,
            key=key.strip(),
            method=request.method,
            path=request.path,
            body=request.body,
        )
        request.idempotency_key = record.key
        return record

    def _complete(self, record, response) -> None:
        idempotency.complete(
            record,
            status=response.status_code,
            data=response.data,
            # Only a success can hold the secret; a refusal replays as it was.
            replayable=self.idempotency_replayable or response.status_code >= 300,
        )

    def _replay(self, record) -> Response:
        if not record.replayable:
            return self.handle_exception(ApiError(RequestError.IDEMPOTENCY_NOT_REPLAYABLE))
        return Response(
            idempotency.replay_data(record),
            status=record.response_status,
            headers={"Idempotent-Replayed": "true"},
        )


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


class CheckedInputMixin:
    """Values SQL cannot hold are refused before the view runs (``core.api.filters``): a query
    parameter with a NUL byte is 400 on that parameter; a URL naming an object with one, 404."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_nul_query(request.query_params)
        if any(NUL in str(value) for value in kwargs.values()):
            raise NotFound("Not found.")


# No docstring: the OpenAPI schema would show it as every view's description.
class ListDetailMixin:
    # A list answered with ``serializer_class``, every other action (retrieve, the detail
    # actions) with ``detail_serializer_class``, whose queryset also prefetches
    # ``detail_prefetch``. First in the bases: it works on the scoped queryset.

    detail_serializer_class = None
    detail_prefetch: tuple[str, ...] = ()

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list" and self.detail_prefetch:
            queryset = queryset.prefetch_related(*self.detail_prefetch)
        return queryset

    def get_serializer_class(self):
        if self.action != "list" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return super().get_serializer_class()


class PayopsAPIView(
    IdempotentPostMixin, CheckedInputMixin, OrganizationScopedMixin, generics.GenericAPIView
):
    pass


class PayopsViewSet(
    IdempotentPostMixin, CheckedInputMixin, OrganizationScopedMixin, viewsets.GenericViewSet
):
    pass


class PayopsReadViewSet(
    ListDetailMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet
):
    pass  # list and retrieve, with a detail serializer (and its own detail actions)


__all__ = ["ListDetailMixin", "PayopsAPIView", "PayopsReadViewSet", "PayopsViewSet", "mixins"]
