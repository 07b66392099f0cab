"""Reconciliation API: provider-reports, reconciliation-runs (+ items), bank-statements,
accounting-periods (+ close, reopen). Views check the shape and call one service or selector."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core.api.errors import error_body
from core.api.pagination import OrganizationCursorPagination
from core.api.views import PayopsViewSet
from core.errors import CoreError, DomainError
from core.models import AccountingPeriod
from payments.errors import PaymentError
from reconciliation import errors, selectors, services
from reconciliation.api import serializers as s
from reconciliation.errors import ReconciliationError
from reconciliation.models import BankStatement, ProviderReport, ReconciliationRun
from reconciliation.services.figures import period_figures

CLOSE_PERMISSION = "core.close_accountingperiod"


def _refusal(exc: DomainError) -> Response:
    """A refusal answered without raising, so what the service recorded (a close refused, the
    exception cases) survives the Idempotency-Key transaction that wraps the handler."""
    return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)


class ProviderReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.ProviderReportSerializer
    filterset_fields = ["provider", "status", "format"]
    parser_classes = [MultiPartParser, FormParser]
    error_codes = {
        "create": [
            ReconciliationError.MALFORMED_FILE,
            ReconciliationError.UNKNOWN_FORMAT,
            PaymentError.UNKNOWN_PROVIDER,
            ReconciliationError.REPORT_ALREADY_IMPORTED,
        ]
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProviderReport.objects.none()
        return selectors.report_list(organization=self.request.organization)

    @extend_schema(
        request=s.ProviderReportCreateSerializer, responses={201: s.ProviderReportSerializer}
    )
    def create(self, request):
        """Import a provider report (multipart ``file`` and ``provider``), as the command does."""
        data = s.ProviderReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = values["file"]
        report = services.provider_report_import(
            organization=request.organization,
            provider=values["provider"],
            file=upload.file if hasattr(upload, "file") else upload,
            file_name=upload.name or "",
            format=values.get("format"),
            actor=request.user,
        )
        return Response(s.ProviderReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The imported file, byte for byte."
            )
        }
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The imported file itself, byte for byte (its SHA-256 is the report's ``sha256``):
        the raw rows kept for audit; each row's ``line_no`` is its line there."""
        report = self.get_object()
        response = StreamingHttpResponse(
            selectors.report_file_parts(report=report), content_type="application/octet-stream"
        )
        name = (report.file_name or f"report-{report.pk}").replace('"', "")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Content-Length"] = str(report.size_bytes)
        return response


class RunItemPagination(OrganizationCursorPagination):
    """A run's lines, newest first as every list, read in ``(run_id, id)`` order: a page of a
    million-line run reads ~101 index entries of ``recon_item_run_id`` (or, for problems only,
    of the partial ``recon_item_run_problem``), where ``ORDER BY id`` alone walked the primary
    key past every later run's lines (0.5-1.3 s a page at 1M lines; BENCHMARKS.md)."""

    lead = "run_id"


class ReconciliationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.ReconciliationRunSerializer
    filterset_fields = ["dry_run", "trigger", "period_start", "period_end"]
    error_codes = {"create": [errors.INVALID]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReconciliationRun.objects.none()
        return selectors.run_list(organization=self.request.organization)

    @extend_schema(
        request=s.ReconciliationRunCreateSerializer, responses={201: s.ReconciliationRunSerializer}
    )
    def create(self, request):
        """Reconcile a date (or a range) now; ``dry_run`` writes the lines but raises no case."""
        data = s.ReconciliationRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        run = services.reconciliation_run(
            organization=request.organization,
            start=values["period_start"],
            end=values["period_end"],
            dry_run=values["dry_run"],
            actor=request.user,
        )
        return Response(s.ReconciliationRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "category", str, description="One or more categories, comma-separated."
            )
        ],
        responses={200: s.ReconciliationItemSerializer(many=True)},
    )
    # The runs list's filters are not the lines' (``?dry_run=true`` used to make a run that
    # was not a dry run 404 here, read through them by get_object).
    @action(detail=True, methods=["get"], pagination_class=RunItemPagination, filter_backends=[])
    def items(self, request, pk=None):
        """The run's lines, filtered by ``category``."""
        run = self.get_object()
        category = request.query_params.get("category") or None
        if category:
            from reconciliation.models import ReconciliationItem

            unknown = set(category.split(",")) - set(ReconciliationItem.Category.values)
            if unknown:
                raise errors.INVALID.error(
                    fields={"category": [f"Unknown category {', '.join(sorted(unknown))}."]}
                )
        page = self.paginate_queryset(selectors.run_items(run=run, category=category))
        return self.get_paginated_response(s.ReconciliationItemSerializer(page, many=True).data)


class BankStatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.BankStatementSerializer
    filterset_fields = ["format", "account"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.BankStatementDetailSerializer
        return s.BankStatementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BankStatement.objects.none()
        return selectors.statement_list(organization=self.request.organization)


class AccountingPeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PayopsViewSet):
    serializer_class = s.AccountingPeriodSerializer
    filterset_fields = ["status", "start", "end"]
    error_codes = {
        "create": [errors.INVALID, errors.PERIOD_OVERLAP],
        "close": [
            errors.PERIOD_NOT_ENDED,
            errors.PERIOD_BLOCKED,
            CoreError.PERMISSION_DENIED,
            CoreError.TRANSITION_NOT_ALLOWED,
        ],
        "reopen": [
            CoreError.REASON_REQUIRED,
            CoreError.PERMISSION_DENIED,
            CoreError.TRANSITION_NOT_ALLOWED,
        ],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccountingPeriod.objects.none()
        return selectors.period_list(organization=self.request.organization)

    @extend_schema(responses={200: s.AccountingPeriodDetailSerializer})
    def retrieve(self, request, pk=None):
        """The period with its figures (per currency) and what blocks its close."""
        period = self.get_object()
        lo, hi = services.local_bounds(period.organization, period.start, period.end)
        period.figures = period_figures(
            organization_id=period.organization_id,
            lo=lo,
            hi=hi,
            start=period.start,
            end=period.end,
        )
        period.blockers = services.accounting_period_blockers(period=period)
        return Response(s.AccountingPeriodDetailSerializer(period).data)

    @extend_schema(
        request=s.AccountingPeriodCreateSerializer, responses={201: s.AccountingPeriodSerializer}
    )
    def create(self, request):
        data = s.AccountingPeriodCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = services.accounting_period_create(
            organization=request.organization, actor=request.user, **data.validated_data
        )
        return Response(s.AccountingPeriodSerializer(period).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.AccountingPeriodSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the period; 409 ``period_not_ended`` while today (the organisation's time zone
        and clock) is on or before its last day; 409 ``period_blocked`` names every blocking case;
        403 without the ``core.close_accountingperiod`` permission (as the admin and the desk
        ask): an integrator's token does not close the books unless its service user was granted
        it."""
        period = self.get_object()
        if not request.user.has_perm(CLOSE_PERMISSION):
            raise CoreError.PERMISSION_DENIED.error("You may not close accounting periods.")
        try:
            period = services.accounting_period_close(period=period, actor=request.user)
        except DomainError as exc:
            return _refusal(exc)
        return Response(s.AccountingPeriodSerializer(period).data)

    @extend_schema(
        request=s.AccountingPeriodReopenSerializer, responses={200: s.AccountingPeriodSerializer}
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Reopen a closed period: a ``reason`` (400 ``reason_required``) and the
        ``core.reopen_accountingperiod`` permission (403)."""
        period = self.get_object()
        data = s.AccountingPeriodReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = services.accounting_period_reopen(
            period=period, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(s.AccountingPeriodSerializer(period).data)
