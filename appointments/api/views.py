"""Appointment payments API: cancellation-policies, appointments (and their payment requests,
transfer, cancel, no-show, complete, refunds), payment-requests, appointment-reconciliations.

Views check the shape of the input and call one service; the service enforces the rules. A body
with a field the endpoint does not know is refused before anything is read or stored.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from appointments import selectors, services
from appointments.api import serializers as s
from appointments.errors import AppointmentError
from appointments.models import Appointment, CancellationPolicy, PaymentRequest
from core.api.views import PayopsViewSet
from core.errors import CoreError
from core.selectors import branch_get_by_code
from payments.errors import PaymentError


def _client_key(request) -> str | None:
    """The request's Idempotency-Key, made unique across API clients."""
    if not request.idempotency_key:
        return None
    return f"{request.api_client.pk}:{request.idempotency_key}"


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.CancellationPolicySerializer
    filterset_fields = ["code", "version"]
    error_codes = {"create": [AppointmentError.POLICY_NOT_FOUND]}

    def get_queryset(self):
        return self.scope(CancellationPolicy.objects.all())

    @extend_schema(
        request=s.CancellationPolicyCreateSerializer,
        responses={201: s.CancellationPolicySerializer},
    )
    def create(self, request):
        """Create a policy, or the next version of an existing code (old versions stay)."""
        data = s.CancellationPolicyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_create(
            organization=request.organization, actor=request.user, **data.validated_data
        )
        return Response(s.CancellationPolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class AppointmentFilter(django_filters.FilterSet):
    starts_from = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_to = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")
    branch = django_filters.CharFilter(field_name="branch__code")

    class Meta:
        model = Appointment
        fields = ["status", "external_ref", "service_id", "specialist_id"]


class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.AppointmentSerializer
    filterset_class = AppointmentFilter
    error_codes = {
        "create": [
            AppointmentError.SLOT_ENDS_BEFORE_START,
            AppointmentError.POLICY_NOT_FOUND,
            PaymentError.BRANCH_NOT_FOUND,
        ],
        "payment_requests": [
            AppointmentError.EXPIRY_IN_PAST,
            AppointmentError.ACTIVE_REQUEST_EXISTS,
            AppointmentError.APPOINTMENT_CLOSED,
            AppointmentError.GATEWAY_NOT_CONFIGURED,
        ],
        "transfer": [AppointmentError.SLOT_ENDS_BEFORE_START, CoreError.TRANSITION_NOT_ALLOWED],
        "cancel": [CoreError.TRANSITION_NOT_ALLOWED, CoreError.REASON_REQUIRED],
        "no_show": [CoreError.TRANSITION_NOT_ALLOWED],
        "complete": [CoreError.TRANSITION_NOT_ALLOWED],
        "refunds": [
            PaymentError.REFUND_EXCEEDS_PAYMENT,
            AppointmentError.REFUND_OUTSIDE_POLICY,
            AppointmentError.NOTHING_PAID,
            AppointmentError.PAYMENT_REQUEST_REQUIRED,
            CoreError.REASON_REQUIRED,
        ],
    }

    @property
    def idempotency_atomic(self) -> bool:
        # These call a gateway (order registration, refund): the request commits first and no
        # transaction stays open across the call; the services are idempotent on the key.
        return self.action not in ("payment_requests", "refunds")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        if self.action == "list":
            return selectors.appointment_list(organization=self.request.organization)
        return selectors.appointment_detail_list(organization=self.request.organization)

    def get_serializer_class(self):
        return s.AppointmentSerializer if self.action == "list" else s.AppointmentDetailSerializer

    def _detail(self, appointment, code=status.HTTP_200_OK, **extra) -> Response:
        appointment = self.get_queryset().get(pk=appointment.pk)
        return Response({**s.AppointmentDetailSerializer(appointment).data, **extra}, status=code)

    @extend_schema(
        request=s.AppointmentCreateSerializer, responses={201: s.AppointmentDetailSerializer}
    )
    def create(self, request):
        """Book an appointment known by ids. ``customer`` (name, phone) is stored apart and
        never returned; any other field (``diagnosis``, ``notes``…) is 400 ``unknown_field``."""
        data = s.AppointmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        branch = branch_get_by_code(organization=request.organization, code=values["branch"])
        if branch is None:
            raise PaymentError.BRANCH_NOT_FOUND.error(
                "No branch with this code.",
                status_code=400,
                fields={"branch": ["No branch with this code."]},
            )
        appointment = services.appointment_book(
            organization=request.organization,
            branch=branch,
            external_ref=values["external_ref"],
            service_id=values["service_id"],
            specialist_id=values["specialist_id"],
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            policy_code=values["policy"],
            customer=values.get("customer"),
            actor=request.user,
        )
        return self._detail(appointment, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.AppointmentPaymentRequestCreateSerializer,
        responses={201: s.AppointmentPaymentRequestSerializer},
    )
    @action(detail=True, methods=["post"], url_path="payment-requests")
    def payment_requests(self, request, pk=None):
        """Ask for a deposit, prepayment or full payment; pay at ``payment_url``."""
        appointment = self.get_object()
        data = s.AppointmentPaymentRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        payment_request = services.payment_request_create(
            appointment=appointment,
            kind=values["kind"],
            amount=values["amount"],
            currency=values["currency"],
            expires_in_minutes=values.get("expires_in_minutes"),
            expires_at=values.get("expires_at"),
            provider=values.get("provider"),
            return_url=values["return_url"],
            actor=request.user,
            idempotency_key=_client_key(request),
        )
        return Response(
            s.AppointmentPaymentRequestSerializer(payment_request).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=s.AppointmentTransferSerializer, responses={200: s.AppointmentDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        """Reschedule; the payment requests and their references stay."""
        appointment = self.get_object()
        data = s.AppointmentTransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_transfer(
            appointment=appointment, actor=request.user, **data.validated_data
        )
        return self._detail(appointment)

    @extend_schema(
        request=s.AppointmentCancelSerializer, responses={200: s.AppointmentDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel; the answer shows the refund path the policy allows. Nothing is refunded."""
        appointment = self.get_object()
        data = s.AppointmentCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment, path = services.appointment_cancel(
            appointment=appointment, actor=request.user, **data.validated_data
        )
        return self._detail(appointment, refund_path=path)

    @extend_schema(
        request=s.AppointmentCommentSerializer, responses={200: s.AppointmentDetailSerializer}
    )
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        appointment = self.get_object()
        data = s.AppointmentCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_no_show(
            appointment=appointment, actor=request.user, **data.validated_data
        )
        return self._detail(appointment)

    @extend_schema(
        request=s.AppointmentCommentSerializer, responses={200: s.AppointmentDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        appointment = self.get_object()
        data = s.AppointmentCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_complete(
            appointment=appointment, actor=request.user, **data.validated_data
        )
        return self._detail(appointment)

    @extend_schema(
        request=s.AppointmentRefundCreateSerializer, responses={201: s.AppointmentRefundSerializer}
    )
    @action(detail=True, methods=["post"])
    def refunds(self, request, pk=None):
        """Refund through the payments core. Above the policy's share: ``override_reason`` and
        the ``override_refund_policy`` permission; above what is paid: 422."""
        appointment = self.get_object()
        data = s.AppointmentRefundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        refund = services.appointment_refund(
            appointment=appointment,
            amount=values["amount"],
            reason=values["reason"],
            override_reason=values["override_reason"],
            payment_request_id=values.get("payment_request"),
            actor=request.user,
            idempotency_key=_client_key(request),
        )
        return Response(s.AppointmentRefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class PaymentRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.AppointmentPaymentRequestSerializer
    filterset_fields = ["status", "kind", "appointment", "currency"]
    error_codes = {
        "forfeit": [CoreError.TRANSITION_NOT_ALLOWED, CoreError.REASON_REQUIRED],
        "accept": [CoreError.TRANSITION_NOT_ALLOWED, CoreError.REASON_REQUIRED],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PaymentRequest.objects.none()
        return selectors.payment_request_list(organization=self.request.organization)

    @extend_schema(
        request=s.AppointmentReasonSerializer,
        responses={200: s.AppointmentPaymentRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def forfeit(self, request, pk=None):
        """The clinic keeps what a cancelled or no-show appointment's request holds."""
        payment_request = self.get_object()
        data = s.AppointmentReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment_request = services.payment_request_forfeit(
            request=payment_request, actor=request.user, **data.validated_data
        )
        return Response(s.AppointmentPaymentRequestSerializer(payment_request).data)

    @extend_schema(
        request=s.AppointmentReasonSerializer,
        responses={200: s.AppointmentPaymentRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept a late payment held for manual review (the request becomes paid)."""
        payment_request = self.get_object()
        data = s.AppointmentReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment_request = services.payment_request_accept(
            request=payment_request, actor=request.user, **data.validated_data
        )
        return Response(s.AppointmentPaymentRequestSerializer(payment_request).data)


class ReconciliationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.AppointmentReconciliationSerializer
    filterset_fields = ["date"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from appointments.models import AppointmentReconciliation

            return AppointmentReconciliation.objects.none()
        return selectors.reconciliation_list(organization=self.request.organization)

    @extend_schema(
        request=s.AppointmentReconciliationCreateSerializer,
        responses={201: s.AppointmentReconciliationSerializer},
    )
    def create(self, request):
        """Reconcile a day now (the same code as the nightly task)."""
        data = s.AppointmentReconciliationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.appointments_reconcile_day(
            organization=request.organization, actor=request.user, **data.validated_data
        )
        return Response(
            s.AppointmentReconciliationSerializer(row).data, status=status.HTTP_201_CREATED
        )
