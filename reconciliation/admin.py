"""Operators' views of reconciliation: reports, runs and their lines, bank statements, settings,
adjustments, and the accounting periods (close and reopen through the services)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html

from core.admin_base import (
    OrganizationScopedAdmin,
    OrganizationScopedMixin,
    ReadOnlyAdminMixin,
    ServiceRefusalFormMixin,
)
from core.errors import DomainError
from core.models import AccountingPeriod
from reconciliation import services
from reconciliation.models import (
    AccountingPeriodEvent,
    BankStatement,
    BankStatementLine,
    PeriodAdjustment,
    ProviderReport,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationSettings,
)
from reconciliation.texts import period_not_ended_sentence


@admin.register(ProviderReport)
class ProviderReportAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "__str__",
        "provider",
        "format",
        "status",
        "rows_total",
        "period_start",
        "period_end",
        "created_at",
    ]
    list_filter = ["provider", "format", "status", "organization"]
    search_fields = ["file_name", "sha256"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "trigger",
        "dry_run",
        "problems",
        "exceptions_raised",
        "exceptions_resolved",
        "created_at",
        "lines",
    ]
    list_filter = ["trigger", "dry_run", "organization"]
    date_hierarchy = "period_start"

    @admin.display(description="problems")
    def problems(self, run):
        return sum(v for k, v in (run.counts or {}).items() if k != "matched")

    @admin.display(description="lines")
    def lines(self, run):
        url = reverse("admin:reconciliation_reconciliationitem_changelist")
        return format_html('<a href="{}?run__id__exact={}">lines</a>', url, run.pk)


@admin.register(ReconciliationItem)
class ReconciliationItemAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    organization_field = "run__organization"
    list_display = [
        "id",
        "run",
        "category",
        "field",
        "provider",
        "order_number",
        "provider_reference",
        "expected",
        "reported",
        "matched_by",
    ]
    list_filter = ["category", "provider", "run"]
    search_fields = ["order_number", "provider_reference"]
    list_select_related = ["run"]


class BankStatementLineInline(admin.TabularInline):
    model = BankStatementLine
    extra = 0
    fields = ["line_no", "booked_on", "amount", "currency", "reference", "description", "payout"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "format",
        "account",
        "currency",
        "opening_balance",
        "closing_balance",
        "created_at",
    ]
    list_filter = ["format", "organization"]
    exclude = ["raw"]
    inlines = [BankStatementLineInline]


@admin.register(ReconciliationSettings)
class ReconciliationSettingsAdmin(OrganizationScopedAdmin):
    list_display = ["organization", "match_window_minutes", "bank_line_days", "nightly_hour"]


@admin.register(PeriodAdjustment)
class PeriodAdjustmentAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["__str__", "kind", "origin_date", "booked_on", "payment", "refund"]
    list_filter = ["kind", "organization"]


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, help_text="Reason (to reopen).")


class PeriodEventInline(admin.TabularInline):
    model = AccountingPeriodEvent
    extra = 0
    fields = ["occurred_at", "action", "actor", "comment"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccountingPeriod)
class AccountingPeriodAdmin(ServiceRefusalFormMixin, OrganizationScopedAdmin):
    list_display = ["__str__", "organization", "start", "end", "status", "closed_at"]
    list_filter = ["status", "organization"]
    action_form = ReasonActionForm
    actions = ["close", "reopen"]
    inlines = [PeriodEventInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["status", "closed_at", "closed_by"]
        return ["organization", "start", "end", "status", "closed_at", "closed_by"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Added through ``accounting_period_create``; its refusal (dates out of range,
        inverted, overlapping) is a form error (``ServiceRefusalFormMixin``), nothing saved."""
        if change:
            return  # nothing of a period is edited by hand: close and reopen are actions
        created = services.accounting_period_create(
            organization=obj.organization, start=obj.start, end=obj.end, actor=request.user
        )
        obj.pk = created.pk

    @admin.action(description="Close the selected periods")
    def close(self, request, queryset):
        if not request.user.has_perm("core.close_accountingperiod"):
            raise PermissionDenied
        for period in queryset:
            try:
                services.accounting_period_close(period=period, actor=request.user)
            except DomainError as exc:
                message = (
                    period_not_ended_sentence(period) if exc.code == services.NOT_ENDED else None
                )
                self.message_user(request, f"{period}: {message or exc.message}", messages.ERROR)
                for reason in (exc.fields or {}).get("blocking_cases", []):
                    self.message_user(request, f"{period}: {reason}", messages.WARNING)
            else:
                self.message_user(request, f"{period}: closed.", messages.SUCCESS)

    @admin.action(description="Reopen the selected periods (give a reason)")
    def reopen(self, request, queryset):
        reason = request.POST.get("reason", "")
        for period in queryset:
            try:
                services.accounting_period_reopen(period=period, actor=request.user, reason=reason)
            except DomainError as exc:
                self.message_user(request, f"{period}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{period}: reopened.", messages.SUCCESS)
