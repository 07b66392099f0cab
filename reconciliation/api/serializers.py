"""Reconciliation API shapes."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictSerializer
from core.models import AccountingPeriod
from payments.models import Provider
from reconciliation.models import (
    BankStatement,
    BankStatementLine,
    ProviderReport,
    ReconciliationItem,
    ReconciliationRun,
)


class ProviderReportSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True, help_text="Percent of rows written.")

    class Meta:
        model = ProviderReport
        fields = [
            "id",
            "provider",
            "format",
            "file_name",
            "sha256",
            "size_bytes",
            "status",
            "rows_total",
            "rows_done",
            "progress",
            "period_start",
            "period_end",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class ProviderReportCreateSerializer(StrictSerializer):
    file = serializers.FileField()
    provider = serializers.ChoiceField(choices=Provider.choices)
    format = serializers.ChoiceField(
        choices=ProviderReport.Format.values,
        required=False,
        help_text="Detected from the content when omitted.",
    )


class ReconciliationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "status",
            "dry_run",
            "trigger",
            "period_start",
            "period_end",
            "counts",
            "figures",
            "exceptions_raised",
            "exceptions_resolved",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class ReconciliationRunCreateSerializer(StrictSerializer):
    date = serializers.DateField(required=False)
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)
    dry_run = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if "date" in attrs:
            if "period_start" in attrs or "period_end" in attrs:
                raise serializers.ValidationError(
                    {"date": ["Give date, or period_start and period_end, not both."]}
                )
            attrs["period_start"] = attrs["period_end"] = attrs.pop("date")
        elif "period_start" not in attrs or "period_end" not in attrs:
            raise serializers.ValidationError(
                {"date": ["Give date, or period_start and period_end."]}
            )
        return attrs


class ReconciliationItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconciliationItem
        fields = [
            "id",
            "category",
            "field",
            "payment",
            "report_row",
            "provider",
            "order_number",
            "provider_reference",
            "currency",
            "expected",
            "reported",
            "matched_by",
        ]
        read_only_fields = fields


class BankStatementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = BankStatementLine
        fields = [
            "line_no",
            "booked_on",
            "amount",
            "currency",
            "reference",
            "description",
            "payout",
        ]
        read_only_fields = fields


class BankStatementSerializer(serializers.ModelSerializer):
    format = serializers.CharField(read_only=True, help_text="`mt940` or `camt053`.")

    class Meta:
        model = BankStatement
        fields = [
            "id",
            "format",
            "file_name",
            "sha256",
            "account",
            "statement_reference",
            "currency",
            "opening_balance",
            "closing_balance",
            "created_at",
        ]
        read_only_fields = fields


class BankStatementDetailSerializer(BankStatementSerializer):
    lines = BankStatementLineSerializer(many=True, read_only=True)

    class Meta(BankStatementSerializer.Meta):
        fields = [*BankStatementSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class AccountingPeriodSerializer(serializers.ModelSerializer):
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AccountingPeriod
        fields = ["id", "start", "end", "status", "closed_at", "closed_by", "created_at"]
        read_only_fields = fields


class AccountingPeriodDetailSerializer(AccountingPeriodSerializer):
    figures = serializers.DictField(read_only=True)
    blockers = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta(AccountingPeriodSerializer.Meta):
        fields = [*AccountingPeriodSerializer.Meta.fields, "figures", "blockers"]
        read_only_fields = fields


class AccountingPeriodCreateSerializer(StrictSerializer):
    start = serializers.DateField()
    end = serializers.DateField()


class AccountingPeriodReopenSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
