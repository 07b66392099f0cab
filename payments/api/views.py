"""``/api/v1/payments/``: list and read the organisation's payments; refund them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from core.api.lean import lean_rows, lean_values
from core.api.pagination import OrganizationCursorPagination
from core.api.views import PayopsViewSet
from core.errors import CoreError, RequestError
from payments import selectors, services
from payments.api.filters import PaymentFilterBackend
from payments.api.serializers import (
    PAYMENT_LIST_SOURCES,
    PaymentDetailSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
)
from payments.errors import PaymentError


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = PaymentSerializer
    filter_backends = [PaymentFilterBackend]
    pagination_class = OrganizationCursorPagination
    lookup_value_regex = r"\d+"
    # POST refunds/ calls the gateway: no transaction may stay open across that call (see
    # core.api.views.IdempotentPostMixin); payment_refund is idempotent on the key itself.
    idempotency_atomic = False
    error_codes = {
        "refunds": [
            CoreError.REASON_REQUIRED,
            PaymentError.INVALID_AMOUNT,
            RequestError.INVALID,
            PaymentError.PAYMENT_NOT_REFUNDABLE,
            PaymentError.PARTIAL_REFUND_NOT_SUPPORTED,
            PaymentError.REFUND_EXCEEDS_PAYMENT,
            RequestError.IDEMPOTENCY_KEY_REUSED,
        ]
    }

    def get_queryset(self):
        queryset = selectors.payment_list(organization=self.request.organization)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("refunds", "events__actor")
        return queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return PaymentDetailSerializer
        return PaymentSerializer

    def list(self, request, *args, **kwargs):
        """A page of ``PaymentSerializer`` rows read with ``.values()`` (``core.api.lean``): the
        same JSON, without model instances; two queries per page (the API client, the page)."""
        queryset = self.filter_queryset(self.get_queryset())
        rows = self.paginate_queryset(
            queryset.values(*lean_values(PaymentSerializer, PAYMENT_LIST_SOURCES))
        )
        return self.get_paginated_response(lean_rows(PaymentSerializer, rows, PAYMENT_LIST_SOURCES))

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer})
    @action(detail=True, methods=["post"], url_path="refunds")
    def refunds(self, request, pk=None):
        payment = get_object_or_404(self.get_queryset(), pk=pk)
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = services.payment_refund(
            payment=payment,
            amount=serializer.validated_data["amount"],
            reason=serializer.validated_data["reason"],
            actor=request.user,
            idempotency_key=_refund_key(request),
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


def _refund_key(request) -> str | None:
    """The request's Idempotency-Key, scoped to its API client (keys are chosen per client)."""
    key = getattr(request, "idempotency_key", None)
    if not key:
        return None
    client = getattr(request, "api_client", None)
    return f"{client.pk if client is not None else '-'}:{key}"
