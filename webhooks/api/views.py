"""``/api/v1/webhook-endpoints/``, ``webhook-events/``, ``webhook-deliveries/``."""

from __future__ import annotations

import datetime as dt

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.filters import WholeNumberFilter
from core.api.pagination import IdCursorPagination
from core.api.views import PayopsReadViewSet, PayopsViewSet
from core.errors import CoreError
from webhooks import registry, services
from webhooks.api.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
    EndpointWithSecretSerializer,
    EventDetailSerializer,
    EventReplaySerializer,
    EventSerializer,
    EventTypesSerializer,
    ReplayAnswerSerializer,
    ReplayFailedSerializer,
    RotateSecretSerializer,
)
from webhooks.errors import WebhookError
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


class EndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = EndpointSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    # The only POSTs here (create, rotate-secret) answer with a secret shown once: their
    # Idempotency-Key record keeps no body, and a replay answers 409 idempotency_not_replayable.
    idempotency_replayable = False
    error_codes = {
        "create": [
            WebhookError.URL_REFUSED,
            WebhookError.URL_INVALID,
            WebhookError.URL_UNRESOLVABLE,
            WebhookError.INVALID_EVENT_TYPE,
        ],
        "partial_update": [
            WebhookError.URL_REFUSED,
            WebhookError.URL_INVALID,
            WebhookError.URL_UNRESOLVABLE,
            WebhookError.INVALID_EVENT_TYPE,
        ],
    }

    @extend_schema(responses={200: EventTypesSerializer})
    @action(detail=False, methods=["get"], url_path="event-types")
    def event_types(self, request):
        """The event types an endpoint may subscribe to (plus `<resource>.*` and `*`)."""
        return Response(
            {
                "event_types": registry.known_event_types(),
                "resources": registry.known_resources(),
            }
        )

    def get_queryset(self):
        return self.scope(WebhookEndpoint.objects.all())

    @extend_schema(request=EndpointCreateSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request):
        """Register a receiver; the answer carries its `whsec_` secret, shown this once."""
        serializer = EndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(
            organization=request.organization, actor=request.user, **serializer.validated_data
        )
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointUpdateSerializer, responses={200: EndpointSerializer})
    def partial_update(self, request, pk=None):
        """Change URL, event types, description, or enable/disable the endpoint."""
        endpoint = self.get_object()
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            endpoint=endpoint, actor=request.user, **serializer.validated_data
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=RotateSecretSerializer, responses={200: EndpointWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret (shown once); the old one keeps signing until the overlap ends."""
        endpoint = self.get_object()
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_rotate_secret(
            endpoint=endpoint,
            actor=request.user,
            overlap=dt.timedelta(hours=serializer.validated_data["overlap_hours"]),
        )
        return Response(EndpointWithSecretSerializer(endpoint).data)


class CreatedAtPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


class CreatedRangeFilter(django_filters.FilterSet):
    """``created_from`` (inclusive) and ``created_to`` (exclusive) on ``created_at``."""

    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")


class EventFilter(CreatedRangeFilter):
    event_type = django_filters.CharFilter()
    subject_type = django_filters.CharFilter()
    subject_id = django_filters.CharFilter()

    class Meta:
        model = WebhookEvent
        fields = ["event_type", "subject_type", "subject_id"]


class EventViewSet(PayopsReadViewSet):
    """The outbox: one event per state transition, with its deliveries."""

    queryset = WebhookEvent.objects.all()
    pagination_class = CreatedAtPagination
    serializer_class = EventSerializer
    filterset_class = EventFilter
    detail_serializer_class = EventDetailSerializer
    detail_prefetch = ("deliveries__event",)
    error_codes = {"replay": [CoreError.NOT_FOUND, WebhookError.ENDPOINT_DISABLED]}

    @extend_schema(request=EventReplaySerializer, responses={202: ReplayAnswerSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send the event again (same `webhook-id`, same body) to its endpoints, or one."""
        event = self.get_object()
        serializer = EventReplaySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = _endpoint_or_404(request, serializer.validated_data.get("endpoint"))
        deliveries = services.event_replay(event=event, endpoint=endpoint, actor=request.user)
        return _replay_answer(deliveries)


def _endpoint_or_404(request, endpoint_id):
    if endpoint_id is None:
        return None
    endpoint = WebhookEndpoint.objects.filter(
        organization=request.organization, pk=endpoint_id
    ).first()
    if endpoint is None:
        raise CoreError.NOT_FOUND.error(
            "No such webhook endpoint.", fields={"endpoint": ["No such webhook endpoint."]}
        )
    return endpoint


class DeliveryFilter(CreatedRangeFilter):
    status = django_filters.MultipleChoiceFilter(choices=WebhookDelivery.Status.choices)
    endpoint = WholeNumberFilter(field_name="endpoint_id")
    event = django_filters.CharFilter(field_name="event_id")
    event_type = django_filters.CharFilter(field_name="event__event_type")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "endpoint", "event"]


class DeliveryViewSet(PayopsReadViewSet):
    """The delivery log: one row per event and endpoint, with its attempts."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = WebhookDelivery.objects.select_related("event")
    detail_serializer_class = DeliveryDetailSerializer
    detail_prefetch = ("attempt_log",)
    error_codes = {"replay_failed": [CoreError.NOT_FOUND, WebhookError.INVALID_RANGE]}

    @extend_schema(request=ReplayFailedSerializer, responses={202: ReplayAnswerSerializer})
    @action(detail=False, methods=["post"], url_path="replay-failed")
    def replay_failed(self, request):
        """Replay every failed delivery whose event happened in [start, end)."""
        serializer = ReplayFailedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deliveries = services.deliveries_replay_failed(
            organization=request.organization,
            start=data["start"],
            end=data["end"],
            endpoint=_endpoint_or_404(request, data.get("endpoint")),
            actor=request.user,
        )
        return _replay_answer(deliveries)


def _replay_answer(deliveries) -> Response:
    return Response(
        {"replayed": len(deliveries), "deliveries": DeliverySerializer(deliveries, many=True).data},
        status=status.HTTP_202_ACCEPTED,
    )
