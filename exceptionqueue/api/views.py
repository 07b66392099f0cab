"""``/api/v1/exceptions/``: the organisation's exception queue; acknowledge, resolve, dismiss."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.lean import lean_rows, lean_values
from core.api.views import PayopsReadViewSet
from core.errors import CoreError
from exceptionqueue import services
from exceptionqueue.api.serializers import (
    EXCEPTION_LIST_SOURCES,
    AcknowledgeSerializer,
    ExceptionCaseDetailSerializer,
    ExceptionCaseSerializer,
    ResolveSerializer,
    subject_of_row,
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


class ExceptionCaseViewSet(PayopsReadViewSet):
    serializer_class = ExceptionCaseSerializer
    filterset_class = ExceptionCaseFilter
    error_codes = {
        "acknowledge": [CoreError.TRANSITION_NOT_ALLOWED],
        "resolve": [CoreError.TRANSITION_NOT_ALLOWED],
        "dismiss": [CoreError.TRANSITION_NOT_ALLOWED],
    }

    queryset = ExceptionCase.objects.select_related("branch", "subject_type")
    detail_serializer_class = ExceptionCaseDetailSerializer
    detail_prefetch = ("events__actor",)

    def list(self, request, *args, **kwargs):
        """A page of ``ExceptionCaseSerializer`` rows read with ``.values()`` (``core.api.lean``):
        the same JSON, without model instances; two queries per page (the API client, the page)."""
        queryset = self.filter_queryset(self.get_queryset())
        rows = self.paginate_queryset(
            queryset.values(*lean_values(ExceptionCaseSerializer, EXCEPTION_LIST_SOURCES))
        )
        return self.get_paginated_response(
            lean_rows(
                ExceptionCaseSerializer,
                rows,
                EXCEPTION_LIST_SOURCES,
                computed={"subject": subject_of_row},
            )
        )

    def _answer(self, case):
        case = self.get_queryset().get(pk=case.pk)
        return Response(ExceptionCaseDetailSerializer(case).data)

    def _move(self, request, serializer_class, service):
        """Validate the body, move the case through ``service``, answer with the case."""
        case = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = service(case=case, actor=request.user, note=serializer.validated_data["note"])
        return self._answer(case)

    @extend_schema(request=ResolveSerializer, responses={200: ExceptionCaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Close the case as fixed, with a note (409 `transition_not_allowed` when closed)."""
        return self._move(request, ResolveSerializer, services.exception_resolve)

    @extend_schema(request=ResolveSerializer, responses={200: ExceptionCaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        """Close the case as not a problem, with a note."""
        return self._move(request, ResolveSerializer, services.exception_dismiss)

    @extend_schema(request=AcknowledgeSerializer, responses={200: ExceptionCaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Someone is on it: open -> acknowledged."""
        return self._move(request, AcknowledgeSerializer, services.exception_acknowledge)
