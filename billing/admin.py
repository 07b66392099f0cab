"""The operators' admin for subscriptions: periods by state, the manual review queue with its
decision form, entitlement overrides with a reason, dunning pauses. Every form POST checks the
permission again and calls one service; rows are read-only here otherwise."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from billing import services
from billing.exception_kinds import RETRY_LIMIT_REACHED
from billing.models import (
    Attempt,
    BillingEvent,
    BillingPeriod,
    BillingSettings,
    Customer,
    ManualReviewPeriod,
    Notification,
    Plan,
    Subscription,
)
from core.admin_base import OrganizationScopedAdmin, OrganizationScopedMixin, ReadOnlyAdminMixin
from core.errors import DomainError


class FormViewMixin:
    """One object form view (``<id>/<name>/``) guarded by a permission on GET and POST."""

    def _form_view(self, request, object_id, *, permission, form_class, title, summary, act):
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        # Checked on every request, POST included: a crafted POST gets no further than this.
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                act(obj, form.cleaned_data)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{title}: done.", messages.SUCCESS)
                return redirect(self._change_name(), obj.pk)
        meta = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": meta,
            "original": obj,
            "title": title,
            "summary": summary(obj),
            "form": form,
            "back_changelist": f"admin:{meta.app_label}_{meta.model_name}_changelist",
            "back_change": self._change_name(),
        }
        return TemplateResponse(request, "billing/admin/form.html", context)

    def _change_name(self) -> str:
        meta = self.model._meta
        return f"admin:{meta.app_label}_{meta.model_name}_change"


class DunningForm(forms.Form):
    paused = forms.BooleanField(required=False, help_text="Checked: no reminders are sent.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(Customer)
class CustomerAdmin(FormViewMixin, ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ["external_ref", "name", "language", "email", "phone", "dunning_paused"]
    list_filter = ["organization", "language", "dunning_paused"]
    search_fields = ["external_ref", "name", "email", "phone"]
    readonly_fields = [
        "organization",
        "external_ref",
        "name",
        "language",
        "email",
        "phone",
        "binding_provider",
        "dunning_paused",
        "created_at",
        "dunning_link",
    ]
    exclude = ["binding_id"]

    @admin.display(description="Dunning")
    def dunning_link(self, obj):
        url = reverse("admin:billing_customer_dunning", args=[obj.pk])
        return format_html('<a href="{}">Pause or resume reminders</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/dunning/",
                self.admin_site.admin_view(self.dunning_view),
                name="billing_customer_dunning",
            ),
            *super().get_urls(),
        ]

    def dunning_view(self, request, object_id):
        return self._form_view(
            request,
            object_id,
            permission="billing.pause_dunning",
            form_class=DunningForm,
            title="Pause or resume dunning",
            summary=lambda c: f"{c.name}: reminders {'paused' if c.dunning_paused else 'on'}.",
            act=lambda c, data: services.customer_dunning_set(
                customer=c, actor=request.user, **data
            ),
        )


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "code",
        "name",
        "amount",
        "currency",
        "interval",
        "interval_count",
        "trial_days",
        "is_active",
    ]
    list_filter = ["organization", "interval", "is_active"]


class BillingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BillingEvent
    fields = ["occurred_at", "kind", "period", "amount", "currency", "actor", "comment"]
    readonly_fields = fields
    extra = 0


class OverrideForm(forms.Form):
    until = forms.DateField(help_text="Entitled through this day (inclusive).")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(Subscription)
class SubscriptionAdmin(FormViewMixin, ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "id",
        "customer",
        "plan",
        "status",
        "collection",
        "entitlement_active",
        "entitlement_until",
        "entitlement_source",
    ]
    list_filter = ["organization", "status", "collection", "entitlement_active"]
    search_fields = ["customer__external_ref", "customer__name"]
    readonly_fields = [
        "organization",
        "customer",
        "plan",
        "pending_plan",
        "branch",
        "provider",
        "collection",
        "status",
        "start_date",
        "billing_anchor",
        "cancel_at_period_end",
        "cancelled_at",
        "paused_at",
        "entitlement_until",
        "entitlement_source",
        "entitlement_active",
        "override_link",
    ]
    inlines = [BillingEventInline]

    @admin.display(description="Entitlement override")
    def override_link(self, obj):
        url = reverse("admin:billing_subscription_override", args=[obj.pk])
        return format_html('<a href="{}">Override, with a reason</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/override/",
                self.admin_site.admin_view(self.override_view),
                name="billing_subscription_override",
            ),
            *super().get_urls(),
        ]

    def override_view(self, request, object_id):
        return self._form_view(
            request,
            object_id,
            permission="billing.override_entitlement",
            form_class=OverrideForm,
            title="Override entitlement",
            summary=lambda s: (
                f"Subscription #{s.pk}: entitled through {s.entitlement_until} "
                f"({s.entitlement_source or 'nothing'})."
            ),
            act=lambda s, data: services.entitlement_override(
                subscription=s, actor=request.user, **data
            ),
        )


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attempt
    fields = [
        "number",
        "status",
        "method",
        "order_number",
        "payment",
        "failure_code",
        "failure_action_code",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields
    extra = 0


PERIOD_FIELDS = [
    "subscription",
    "number",
    "kind",
    "plan",
    "start",
    "end",
    "due_date",
    "shifted_from_day",
    "expected_amount",
    "verified_amount",
    "refunded_amount",
    "currency",
    "status",
    "invoiced_at",
    "pending_at",
    "verified_at",
    "next_retry_at",
    "block_date",
    "reminders_sent",
    "last_failure_code",
    "last_failure_action_code",
]


@admin.register(BillingPeriod)
class BillingPeriodAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    # The columns a person needs, fitting 1400 px: who and what, when, where it stands, money.
    list_display = ["id", "customer_plan", "dates", "status", "money", "dunning"]
    list_select_related = ["subscription__customer", "plan"]
    list_filter = ["organization", "status", "kind"]

    @admin.display(description="customer · plan", ordering="subscription__customer__name")
    def customer_plan(self, period):
        return f"{period.subscription.customer.name} · {period.plan.code}"

    @admin.display(description="period", ordering="start")
    def dates(self, period):
        return f"{period.start:%d.%m.%Y}..{period.end:%d.%m.%Y}"

    @admin.display(description="expected / verified / refunded")
    def money(self, period):
        return (
            f"{period.expected_amount} / {period.verified_amount} / {period.refunded_amount} "
            f"{period.currency}"
        )

    @admin.display(description="next retry · failure · block date")
    def dunning(self, period):
        parts = [
            timezone.localtime(period.next_retry_at).strftime("%d.%m %H:%M")
            if period.next_retry_at
            else "",
            period.last_failure_code,
            f"blocks {period.block_date:%d.%m.%Y}" if period.block_date else "",
        ]
        return " · ".join(part for part in parts if part) or "-"

    readonly_fields = PERIOD_FIELDS
    inlines = [AttemptInline]

    def exception_case_decision(self, request, case):
        """The exception queue (and the desk) ask whether a case is decided here: a period in
        manual review is decided (retry or waive), never closed with a bare note
        (``review_case_close_guard``). Returns ``(label, url)`` or None."""
        from billing.services.review import review_case_close_guard

        if case.kind != RETRY_LIMIT_REACHED:
            return None
        try:
            review_case_close_guard(case)  # the one rule: refused while in manual review
        except DomainError:
            url = reverse("admin:billing_manualreviewperiod_decide", args=[case.subject_id])
            return (
                _("Decide billing period #%(id)s (retry or waive)") % {"id": case.subject_id},
                url,
            )
        return None


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("retry", "Retry now (a new attempt)"), ("waive", "Waive the period")]
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(ManualReviewPeriod)
class ManualReviewAdmin(FormViewMixin, ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """The manual review queue: periods a person must decide (retry or waive)."""

    list_display = [
        "id",
        "subscription",
        "start",
        "end",
        "expected_amount",
        "last_failure_code",
        "last_failure_action_code",
        "block_date",
        "decide_link",
    ]
    list_filter = ["organization"]
    readonly_fields = [*PERIOD_FIELDS, "decide_link"]
    inlines = [AttemptInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=BillingPeriod.Status.MANUAL_REVIEW)

    @admin.display(description="Decision")
    def decide_link(self, obj):
        url = reverse("admin:billing_manualreviewperiod_decide", args=[obj.pk])
        return format_html('<a href="{}">Decide</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="billing_manualreviewperiod_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, object_id):
        return self._form_view(
            request,
            object_id,
            permission="billing.decide_billing_period",
            form_class=DecisionForm,
            title="Decide the period",
            summary=lambda p: (
                f"Period {p.number} of subscription #{p.subscription_id}, "
                f"{p.start}..{p.end}: {p.expected_amount} {p.currency}; last failure "
                f"{p.last_failure_code} ({p.last_failure_action_code})."
            ),
            act=lambda p, data: services.period_decide(period=p, actor=request.user, **data),
        )


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "order_number",
        "period",
        "number",
        "method",
        "status",
        "failure_code",
        "failure_action_code",
        "created_at",
    ]
    list_filter = ["organization", "status", "method", "failure_code"]
    search_fields = ["order_number"]


@admin.register(Notification)
class NotificationAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "period", "sequence", "channel", "language", "status", "sent_at"]
    list_filter = ["organization", "channel", "language", "status"]


class BillingSettingsForm(forms.ModelForm):
    class Meta:
        model = BillingSettings
        fields = [
            "max_attempts",
            "retry_delays_hours",
            "grace_days",
            "max_reminders",
            "retry_reasons",
            "link_valid_hours",
        ]


@admin.register(BillingSettings)
class BillingSettingsAdmin(OrganizationScopedAdmin):
    form = BillingSettingsForm
    list_display = [
        "organization",
        "max_attempts",
        "retry_delays_hours",
        "grace_days",
        "max_reminders",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            services.billing_settings_update(
                organization=obj.organization,
                actor=request.user,
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
