"""Payouts API: recipients, qr-codes, sandbox/qr-payments, payouts, payout-periods.

Views check the shape of the input and call one service; the service enforces the rules.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from core.api.errors import error_body
from core.api.lean import lean_rows, lean_values
from core.api.pagination import IdCursorPagination
from core.api.schema import error
from core.api.views import PayopsAPIView, PayopsViewSet
from core.errors import CoreError, DomainError, RequestError
from core.selectors import branch_get_by_code
from payments.errors import PaymentError
from payouts import selectors, services
from payouts.api import serializers as s
from payouts.errors import PayoutError as E
from payouts.models import Payout, PayoutEvent, PayoutLine, PayoutPeriod, QrCode, Recipient

# How many payments a payout's detail carries (then ``payments_next``), and a lines page's size.
PAYOUT_PAYMENTS_PAGE = 100


def _refusal(exc: DomainError) -> Response:
    """A refusal answered without raising, so the exception case the service listed survives the
    Idempotency-Key transaction that wraps the handler."""
    return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)


def _input(serializer_class, request) -> dict:
    """The request body checked by ``serializer_class`` (400 with field errors)."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _invalid_reference(field: str, message: str) -> DomainError:
    return RequestError.INVALID.error("The request has invalid fields.", fields={field: [message]})


class RecipientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.RecipientSerializer
    filterset_fields = ["scope", "is_active", "external_ref"]
    error_codes = {
        "create": [RequestError.INVALID, E.UNKNOWN_BRANCH, E.INVALID_SCOPE, E.DUPLICATE_RECIPIENT]
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation: no organisation
            return Recipient.objects.none()
        return selectors.recipient_list(organization=self.request.organization)

    @extend_schema(request=s.RecipientCreateSerializer, responses={201: s.RecipientSerializer})
    def create(self, request):
        values = _input(s.RecipientCreateSerializer, request)
        branch = branch_get_by_code(organization=request.organization, code=values["branch"])
        if branch is None:
            raise _invalid_reference("branch", "No branch with this code.")
        recipient = services.recipient_create(
            organization=request.organization,
            scope=values["scope"],
            name=values["name"],
            branch=branch,
            external_ref=values["external_ref"],
            actor=request.user,
        )
        return Response(s.RecipientSerializer(recipient).data, status=status.HTTP_201_CREATED)


class QrCodeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.QrCodeSerializer
    filterset_fields = ["recipient", "code", "is_active"]
    error_codes = {
        "create": [RequestError.INVALID, E.RECIPIENT_INACTIVE],
        "payments": [
            RequestError.INVALID,
            E.PROVIDER_REQUIRED,
            PaymentError.UNSUPPORTED_CURRENCY,
            PaymentError.SANDBOX_DISABLED,
            PaymentError.PROVIDER_NOT_CONFIGURED,
            E.QR_CODE_INACTIVE,
            RequestError.IDEMPOTENCY_KEY_REUSED,
        ],
    }

    @property
    def idempotency_atomic(self) -> bool:
        # A checkout registers the order at the gateway: the pending payment must commit first
        # and no transaction may stay open across the call (see IdempotentPostMixin).
        return self.action != "payments"

    def get_queryset(self):
        return self.scope(QrCode.objects.all())

    @extend_schema(request=s.QrCodeCreateSerializer, responses={201: s.QrCodeSerializer})
    def create(self, request):
        values = _input(s.QrCodeCreateSerializer, request)
        recipient = selectors.recipient_get(
            organization=request.organization, pk=values["recipient"]
        )
        if recipient is None:
            raise _invalid_reference("recipient", "No such recipient.")
        qr = services.qr_code_create(recipient=recipient, actor=request.user)
        return Response(s.QrCodeSerializer(qr).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.QrCheckoutSerializer,
        responses={
            201: s.QrCheckoutResultSerializer,
            502: error("`provider_error` (the gateway refused the order)."),
        },
    )
    @action(detail=True, methods=["post"], url_path="payments")
    def payments(self, request, pk=None):
        """Start a payment through this Smart QR at the organisation's gateway: a pending payment
        linked to the QR, its order registered; pay at ``payment_url``."""
        qr = self.get_object()
        values = _input(s.QrCheckoutSerializer, request)
        payment = services.qr_checkout_start(
            qr_code=qr,
            amount=values["amount"],
            currency=values["currency"],
            provider=values.get("provider"),
            return_url=values["return_url"],
            fail_url=values["fail_url"],
            actor=request.user,
            idempotency_key=_client_key(request),
        )
        return Response(s.QrCheckoutResultSerializer(payment).data, status=status.HTTP_201_CREATED)


def _client_key(request) -> str | None:
    """The request's Idempotency-Key, made unique across API clients."""
    if not request.idempotency_key:
        return None
    return f"{request.api_client.pk}:{request.idempotency_key}"


class SandboxQrPaymentView(PayopsAPIView):
    serializer_class = s.SandboxQrPaymentSerializer
    # The round trip goes through a gateway (in process or over HTTP): the pending payment
    # commits before the order is registered, as a real checkout does.
    idempotency_atomic = False
    error_codes = [
        RequestError.INVALID,
        PaymentError.SANDBOX_DISABLED,
        E.QR_CODE_INACTIVE,
        RequestError.IDEMPOTENCY_KEY_REUSED,
    ]

    @extend_schema(
        request=s.SandboxQrPaymentSerializer, responses={201: s.QrPaymentResultSerializer}
    )
    def post(self, request):
        services.sandbox_check()
        values = _input(s.SandboxQrPaymentSerializer, request)
        qr = (
            QrCode.objects.filter(organization=request.organization, code=values["qr_code"])
            .select_related("recipient__branch", "recipient__organization")
            .first()
        )
        if qr is None:
            raise _invalid_reference("qr_code", "No such QR code.")
        payment = services.sandbox_qr_payment(
            qr_code=qr,
            amount=values["amount"],
            currency=values["currency"],
            outcome=values["outcome"],
            actor=request.user,
            idempotency_key=_client_key(request),
        )
        return Response(s.QrPaymentResultSerializer(payment).data, status=status.HTTP_201_CREATED)


class LineCursorPagination(IdCursorPagination):
    """A payout's lines (or payments) in line order."""

    ordering = "id"
    page_size = PAYOUT_PAYMENTS_PAGE


class PayoutViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.PayoutSerializer
    filterset_fields = ["status", "recipient", "currency", "accounting_period"]
    error_codes = {
        "create": [
            RequestError.INVALID,
            E.INVALID_PERIOD,
            PaymentError.UNSUPPORTED_CURRENCY,
            E.DUPLICATE_ACTIVE_PAYOUT,
            CoreError.PERIOD_CLOSED,
            E.RECIPIENT_INACTIVE,
            E.NO_VERIFIED_PAYMENTS,
        ],
        "transitions": [
            E.INVALID_TRANSITION,
            E.REFERENCE_REQUIRED,
            CoreError.REASON_REQUIRED,
            CoreError.TRANSITION_NOT_ALLOWED,
            E.REFUND_DRIFT_UNRESOLVED,
            E.CARRIED_ADJUSTMENT_APPLIED,
        ],
        "drift_decisions": [E.INVALID_DECISION, E.NO_DRIFT_TO_DECIDE],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payout.objects.none()
        qs = selectors.payout_list(organization=self.request.organization)
        if self.action not in ("list", "payments", "lines"):
            # The events with their actors (and an actor's API client) in one query.
            events = PayoutEvent.objects.select_related("actor__api_client__organization")
            qs = qs.prefetch_related(Prefetch("events", queryset=events))
        return qs

    def get_serializer_class(self):
        return s.PayoutSerializer if self.action == "list" else s.PayoutDetailSerializer

    def list(self, request, *args, **kwargs):
        """A page of ``PayoutSerializer`` rows read with ``.values()`` (``core.api.lean``): the
        same JSON without model instances; two queries per page (the API client, the page)."""
        queryset = self.filter_queryset(self.get_queryset())
        rows = self.paginate_queryset(
            queryset.values(*lean_values(s.PayoutSerializer, s.PAYOUT_LIST_SOURCES))
        )
        return self.get_paginated_response(
            lean_rows(s.PayoutSerializer, rows, s.PAYOUT_LIST_SOURCES)
        )

    def retrieve(self, request, *args, **kwargs):
        # get_object reads it with the detail's prefetches: no second read.
        return self._detail(self.get_object(), fresh=True)

    def _detail(self, payout, status_code=status.HTTP_200_OK, *, fresh=False) -> Response:
        """The payout, its first page of payments (and the link to the next), its audit trail
        (read again with the detail's prefetches unless ``fresh``: after a service moved it)."""
        if not fresh:
            payout = self.get_queryset().get(pk=payout.pk)
        paginator = LineCursorPagination()
        payments = self._payments_page(payout.pk, paginator)
        paginator.base_url = self.reverse_action("payments", args=[payout.pk])
        context = {
            "payments": payments,
            "payments_next": paginator.get_next_link(),
            "lines_url": self.reverse_action("lines", args=[payout.pk]),
        }
        return Response(s.PayoutDetailSerializer(payout, context=context).data, status=status_code)

    def _payments_page(self, payout_id: int, paginator) -> list[dict]:
        """One page of the payout's payments (by line id), each with what it carries here after
        the payout's refund deductions on it: three queries whatever the payout's size."""
        rows = paginator.paginate_queryset(
            selectors.payout_lines(payout_id=payout_id, kind=PayoutLine.Kind.PAYMENT).values(
                "id",  # the line's: the cursor's position
                "payment_id",
                "amount",
                "active",
                "payment__amount",
                "payment__currency",
                "payment__status",
                "payment__verified_at",
                "payment__refunded_amount",
            ),
            self.request,
            view=self,
        )
        deducted = selectors.refund_deductions(
            payout_id=payout_id, payment_ids=[row["payment_id"] for row in rows]
        )
        for row in rows:
            row["included_amount"] = row["amount"] + deducted.get(row["payment_id"], 0)
        return lean_rows(s.PayoutPaymentSerializer, rows, s.PAYOUT_PAYMENT_SOURCES)

    def _payout_id(self) -> int:
        """The URL's payout, of the token's organisation (404 otherwise), without reading it."""
        pk = self.kwargs["pk"]
        if not str(pk).isdigit() or not self.get_queryset().filter(pk=pk).exists():
            raise NotFound("Not found.")
        return int(pk)

    @extend_schema(responses={200: s.PayoutPaymentSerializer(many=True)})
    # The paginator named here gives the schema its page envelope (the view pages itself); the
    # payouts list's filters are not this list's (the schema documented them, ignored).
    @action(detail=True, methods=["get"], pagination_class=LineCursorPagination, filter_backends=[])
    def payments(self, request, pk=None):
        """A cursor page of the payout's payments (in line order), as in the detail."""
        paginator = LineCursorPagination()
        page = self._payments_page(self._payout_id(), paginator)
        return paginator.get_paginated_response(page)

    @extend_schema(responses={200: s.PayoutLineSerializer(many=True)})
    # The paginator named here gives the schema its page envelope (the view pages itself); the
    # payouts list's filters are not this list's (the schema documented them, ignored).
    @action(detail=True, methods=["get"], pagination_class=LineCursorPagination, filter_backends=[])
    def lines(self, request, pk=None):
        """A cursor page of every line of the payout (payments, refund deductions, carried
        adjustments), in line order."""
        paginator = LineCursorPagination()
        rows = paginator.paginate_queryset(
            selectors.payout_lines(payout_id=self._payout_id()).values(
                *lean_values(s.PayoutLineSerializer, s.PAYOUT_LINE_SOURCES)
            ),
            request,
            view=self,
        )
        return paginator.get_paginated_response(
            lean_rows(s.PayoutLineSerializer, rows, s.PAYOUT_LINE_SOURCES)
        )

    @extend_schema(
        request=s.PayoutRequestSerializer,
        responses={201: s.PayoutDetailSerializer},
    )
    def create(self, request):
        values = _input(s.PayoutRequestSerializer, request)
        recipient = selectors.recipient_get(
            organization=request.organization, pk=values["recipient"]
        )
        if recipient is None:
            raise _invalid_reference("recipient", "No such recipient.")
        try:
            payout = services.payout_request(
                recipient=recipient,
                currency=values["currency"],
                period_start=values["period_start"],
                period_end=values["period_end"],
                comment=values["comment"],
                actor=request.user,
            )
        except DomainError as exc:
            return _refusal(exc)
        return self._detail(payout, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.PayoutTransitionSerializer,
        responses={200: s.PayoutDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        payout = self.get_object()
        values = _input(s.PayoutTransitionSerializer, request)
        try:
            payout = services.payout_transition(payout=payout, actor=request.user, **values)
        except DomainError as exc:
            return _refusal(exc)
        return self._detail(payout)

    @extend_schema(
        request=s.DriftDecisionSerializer,
        responses={200: s.PayoutDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="drift-decisions")
    def drift_decisions(self, request, pk=None):
        payout = self.get_object()
        values = _input(s.DriftDecisionSerializer, request)
        payout = services.payout_drift_decide(payout=payout, actor=request.user, **values)
        return self._detail(payout)


class PayoutPeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.PayoutPeriodSerializer
    filterset_fields = ["status", "kind"]
    error_codes = {
        "create": [E.INVALID_PERIOD, CoreError.PERIOD_OVERLAP],
        "transitions": [
            E.INVALID_TRANSITION,
            CoreError.TRANSITION_NOT_ALLOWED,
            CoreError.PERIOD_BLOCKED,
        ],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PayoutPeriod.objects.none()
        return selectors.period_list(organization=self.request.organization)

    @extend_schema(
        request=s.PayoutPeriodCreateSerializer,
        responses={201: s.PayoutPeriodSerializer},
    )
    def create(self, request):
        values = _input(s.PayoutPeriodCreateSerializer, request)
        period = services.period_create(
            organization=request.organization, actor=request.user, **values
        )
        return Response(s.PayoutPeriodSerializer(period).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.PayoutPeriodTransitionSerializer,
        responses={200: s.PayoutPeriodSerializer},
    )
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        period = self.get_object()
        values = _input(s.PayoutPeriodTransitionSerializer, request)
        period = services.period_transition(period=period, actor=request.user, **values)
        return Response(s.PayoutPeriodSerializer(period).data)
