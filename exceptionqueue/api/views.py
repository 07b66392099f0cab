"""``/api/v1/exceptions/``: the organisation's exception queue; acknowledge, resolve, dismiss."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.views import PayopsViewSet
from core.errors import CoreError
from exceptionqueue import services
from exceptionqueue.api.serializers import (
    AcknowledgeSerializer,
    ExceptionCaseDetailSerializer,
    ExceptionCaseSerializer,
    ResolveSerializer,
)
from exceptionqueue.kinds import kind_choices
from exceptionqueue.models import ExceptionCase


class ExceptionCaseFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=kind_choices)
    status = django_filters.MultipleChoiceFilter(choices=ExceptionCase.Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=ExceptionCase.Severity.choices)
    branch = django_filters.CharFilter(field_name="branch__code")
    blocking = django_filters.BooleanFilter()
    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ExceptionCase
        fields = ["kind", "status", "severity", "branch", "blocking"]


class ExceptionCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = ExceptionCaseSerializer
    filterset_class = ExceptionCaseFilter
    error_codes = {
        "acknowledge": [CoreError.TRANSITION_NOT_ALLOWED],
        "resolve": [CoreError.TRANSITION_NOT_ALLOWED],
        "dismiss": [CoreError.TRANSITION_NOT_ALLOWED],
    }

    def get_queryset(self):
        queryset = ExceptionCase.objects.select_related("branch", "subject_type")
        if self.action != "list":
            queryset = queryset.prefetch_related("events__actor")
        return self.scope(queryset)

    def get_serializer_class(self):
        return ExceptionCaseSerializer if self.action == "list" else ExceptionCaseDetailSerializer

    def _answer(self, case):
        case = self.get_queryset().get(pk=case.pk)
        return Response(ExceptionCaseDetailSerializer(case).data)

    @extend_schema(request=ResolveSerializer, responses={200: ExceptionCaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Close the case as fixed, with a note (409 `transition_not_allowed` when closed)."""
        case = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.exception_resolve(
            case=case, actor=request.user, note=serializer.validated_data["note"]
        )
        return self._answer(case)

    @extend_schema(request=ResolveSerializer, responses={200: ExceptionCaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        """Close the case as not a problem, with a note."""
        case = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.exception_dismiss(
            case=case, actor=request.user, note=serializer.validated_data["note"]
        )
        return self._answer(case)

    @extend_schema(request=AcknowledgeSerializer, responses={200: ExceptionCaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Someone is on it: open -> acknowledged."""
        case = self.get_object()
        serializer = AcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.exception_acknowledge(
            case=case, actor=request.user, note=serializer.validated_data["note"]
        )
        return self._answer(case)
