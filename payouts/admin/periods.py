"""Accounting periods: added by accountants, their figures, the close (asked, warned, counted)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin_base import (
    OrganizationScopedAdmin,
    ServiceRefusalFormMixin,
    admin_refusal,
)
from core.clock import clock_today
from core.errors import DomainError
from payouts import selectors, services
from payouts.admin.common import permission_reason
from payouts.models import (
    Payout,
    PayoutPeriod,
)


class PeriodForm(forms.ModelForm):
    class Meta:
        model = PayoutPeriod
        fields = ["organization", "kind", "name", "start_date", "end_date"]


@admin.register(PayoutPeriod)
class PayoutPeriodAdmin(ServiceRefusalFormMixin, OrganizationScopedAdmin):
    """Accountants add periods (``period_create``) and close them; the page shows the period's
    payouts and their totals. Rows are never edited here."""

    form = PeriodForm
    change_form_template = "payouts/admin/period_change_form.html"
    list_display = ["__str__", "kind", "start_date", "end_date", "status", "payouts", "built_at"]
    list_filter = ["status", "kind", "organization"]
    actions = ["start_closing", "close"]
    DETAIL_FIELDS = [
        "organization",
        "kind",
        "name",
        "start_date",
        "end_date",
        "status",
        "closed_at",
        "built_at",
        "created_at",
    ]

    def get_fields(self, request, obj=None):
        return PeriodForm.Meta.fields if obj is None else self.DETAIL_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.DETAIL_FIELDS

    def has_add_permission(self, request):
        return request.user.has_perm("payouts.add_payoutperiod")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_close_permission(self, request):
        return request.user.has_perm("payouts.close_payoutperiod")

    @admin.display(description="payouts")
    def payouts(self, obj):
        count = obj.payouts.count()
        url = reverse("admin:payouts_payout_changelist") + f"?accounting_period__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, count)

    def save_model(self, request, obj, form, change):
        """Added through ``period_create``; its refusal (overlap, inverted range) is a form error
        with the service's message (``ServiceRefusalFormMixin``), nothing saved."""
        period = services.period_create(
            organization=form.cleaned_data["organization"],
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data.get("name") or "",
            start_date=form.cleaned_data["start_date"],
            end_date=form.cleaned_data["end_date"],
            actor=request.user,
        )
        obj.pk = period.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id is not None:
            period = self.get_object(request, object_id)
            if period is not None:
                extra_context["figures"] = selectors.period_figures(period=period)
                extra_context["not_ended"] = period_not_ended(period)
                extra_context["can_close"] = self.has_close_permission(
                    request
                ) and period.status in ("open", "closing")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/close/",
                self.admin_site.admin_view(self.close_view),
                name="payouts_payoutperiod_close",
            ),
            *super().get_urls(),
        ]

    def close_view(self, request, object_id: int):
        period = self.get_object(request, str(object_id))
        if period is None:
            raise Http404
        if request.method == "POST" and "apply" in request.POST:
            return self._close(request, [period]) or redirect(
                "admin:payouts_payoutperiod_change", period.pk
            )
        return self._confirm_close(request, [period])

    @admin.action(description="Start closing the selected periods", permissions=["close"])
    def start_closing(self, request, queryset):
        if not self.has_close_permission(request):  # actions can be POSTed by hand
            return self._refuse_close(request)
        for period in queryset:
            try:
                services.period_transition(
                    period=period, to=PayoutPeriod.Status.CLOSING, actor=request.user
                )
            except DomainError as exc:
                self.message_user(request, f"{period}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{period}: closing.", messages.SUCCESS)
        return None

    @admin.action(
        description="Close the selected periods (builds their payouts)", permissions=["close"]
    )
    def close(self, request, queryset):
        periods = list(queryset)
        if "apply" in request.POST:
            return self._close(request, periods)
        return self._confirm_close(request, periods)

    def _refuse_close(self, request):
        return admin_refusal(
            request,
            self,
            permission_reason("close_payoutperiod", "close payout periods"),
            title="Closing periods is not allowed",
        )

    def _confirm_close(self, request, periods):
        """The close asks first: what it will do, and a warning for periods not yet ended."""
        if not self.has_close_permission(request):
            return self._refuse_close(request)
        rows = [
            {
                "period": period,
                "not_ended": period_not_ended(period),
                "today": clock_today(period.organization),
            }
            for period in periods
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Close payout periods",
            "rows": rows,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "payouts/admin/period_close.html", context)

    def _close(self, request, periods):
        """Close, then build at once (the same service the task runs; the task queued by the
        close then finds the period built) and say how many payouts the close built."""
        if not self.has_close_permission(request):
            return self._refuse_close(request)
        for period in periods:
            try:
                services.period_transition(
                    period=period, to=PayoutPeriod.Status.CLOSED, actor=request.user
                )
            except DomainError as exc:
                self.message_user(request, f"{period}: {exc.message}", messages.ERROR)
                continue
            try:
                built = services.payout_period_build(period=period, actor=request.user)
            except DomainError as exc:
                self.message_user(
                    request,
                    f"{period}: closed; the build did not run now ({exc.message}); the "
                    "background build will make its payouts.",
                    messages.WARNING,
                )
                continue
            totals = ", ".join(
                f"net {row['net']} {row['currency']}"
                for row in selectors.payout_totals(
                    payouts=Payout.objects.filter(pk__in=[p.pk for p in built])
                )
            )
            self.message_user(
                request,
                f"{period}: closed; the close built {len(built)} payout(s)"
                + (f" ({totals})." if totals else "."),
                messages.SUCCESS,
            )
        return None


def period_not_ended(period: PayoutPeriod) -> bool:
    """The period's last day is today or later, in the organisation's time zone."""
    return period.end_date >= clock_today(period.organization)
