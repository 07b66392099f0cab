"""Operators' admin for payouts.

Rows are read-only here; every change goes through ``payouts.services``. Transition buttons post
to our own views, which check the actor's permission for that transition on every POST (a crafted
POST without it is refused), ask for method and reference where needed, and call the service.
simple-history's "revert" POST is refused: it would save a whole old row, state included.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django_fsm import has_transition_perm

from core.admin_base import OrganizationScopedAdmin, OrganizationScopedMixin
from core.errors import DomainError
from payouts import services
from payouts.models import (
    FeePolicy,
    Payout,
    PayoutAdjustment,
    PayoutEvent,
    PayoutLine,
    PayoutPeriod,
    QrCode,
    Recipient,
)

TRANSITIONS = {
    # to: (label, transition method name)
    "processing": ("Start processing", "start_processing"),
    "completed": ("Complete", "complete"),
    "cancelled": ("Cancel", "cancel"),
}


class ReadOnlyAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Recipient)
class RecipientAdmin(OrganizationScopedAdmin):
    list_display = ["name", "scope", "branch", "external_ref", "is_active", "organization"]
    list_filter = ["scope", "is_active", "organization"]
    search_fields = ["name", "external_ref"]
    readonly_fields = ["organization", "branch", "scope", "created_at"]
    fields = ["organization", "branch", "scope", "name", "external_ref", "is_active", "created_at"]

    def has_add_permission(self, request):
        return False  # API or services: a recipient is created for a branch of its organisation

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Through ``recipient_update`` (audited, duplicate-checked), never a direct save."""
        services.recipient_update(
            recipient=obj,
            name=form.cleaned_data.get("name"),
            external_ref=form.cleaned_data.get("external_ref"),
            is_active=form.cleaned_data.get("is_active"),
            actor=request.user,
            reason="changed in the admin",
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _domain_errors_as_form_errors(
            self, super().changeform_view, request, object_id, form_url, extra_context
        )


def _domain_errors_as_form_errors(model_admin, view, request, *args):
    """Run an admin change/add view; a ``DomainError`` from ``save_model`` becomes a message and
    the form again (200), never a 500. The service ran in its own transaction: nothing saved."""
    try:
        return view(request, *args)
    except DomainError as exc:
        details = "; ".join(
            f"{field}: {' '.join(messages_)}" for field, messages_ in (exc.fields or {}).items()
        )
        model_admin.message_user(request, f"{exc.message} {details}".strip(), messages.ERROR)
        return redirect(request.get_full_path())


@admin.register(QrCode)
class QrCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "recipient", "is_active", "created_at"]
    search_fields = ["code", "recipient__name"]
    readonly_fields = ["code", "recipient", "payload", "is_active", "created_at"]
    fields = readonly_fields


class FeePolicyForm(forms.ModelForm):
    """Checks through the service's rule before saving, so a refusal is a form error."""

    class Meta:
        model = FeePolicy
        fields = ["organization", "currency", "percentage", "fixed"]

    def clean(self):
        data = super().clean()
        percentage, fixed = data.get("percentage"), data.get("fixed")
        if percentage is not None and not 0 <= percentage <= 100:
            self.add_error("percentage", "0 to 100.")
        if fixed is not None and fixed < 0:
            self.add_error("fixed", "Not negative.")
        return data

    def validate_unique(self):
        # One policy per (organisation, currency): adding an existing one updates it
        # (``fee_policy_set``), so the unique check is the service's, not the form's.
        pass


@admin.register(FeePolicy)
class FeePolicyAdmin(OrganizationScopedAdmin):
    form = FeePolicyForm
    list_display = ["organization", "currency", "percentage", "fixed"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "currency"] if obj is not None else []

    def has_add_permission(self, request):
        return request.user.has_perm("payouts.add_feepolicy")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Add and change go through ``fee_policy_set`` (audited); never a direct save."""
        policy = services.fee_policy_set(
            organization=obj.organization,
            currency=obj.currency,
            percentage=obj.percentage,
            fixed=obj.fixed,
            actor=request.user,
        )
        obj.pk = policy.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _domain_errors_as_form_errors(
            self, super().changeform_view, request, object_id, form_url, extra_context
        )


@admin.register(PayoutPeriod)
class PayoutPeriodAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "start_date", "end_date", "status", "built_at"]
    list_filter = ["status", "kind", "organization"]
    readonly_fields = [
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
    fields = readonly_fields
    actions = ["start_closing", "close"]

    def _move(self, request, queryset, to):
        if not request.user.has_perm("payouts.close_payoutperiod"):
            raise PermissionDenied
        for period in queryset:
            try:
                services.period_transition(period=period, to=to, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{period}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{period}: {to}.", messages.SUCCESS)

    @admin.action(description="Start closing the selected periods")
    def start_closing(self, request, queryset):
        self._move(request, queryset, PayoutPeriod.Status.CLOSING)

    @admin.action(description="Close the selected periods (builds their payouts)")
    def close(self, request, queryset):
        self._move(request, queryset, PayoutPeriod.Status.CLOSED)


class PayoutLineInline(admin.TabularInline):
    model = PayoutLine
    extra = 0
    fields = ["kind", "payment", "adjustment", "amount", "active"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PayoutEventInline(admin.TabularInline):
    model = PayoutEvent
    extra = 0
    fields = [
        "occurred_at",
        "kind",
        "from_status",
        "to_status",
        "actor",
        "method",
        "reference",
        "comment",
        "gross",
        "fee",
        "net",
        "request_id",
    ]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "audit trail"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransitionForm(forms.Form):
    method = forms.CharField(
        max_length=50, required=False, help_text="bank_transfer, cash, card, wallet ..."
    )
    reference = forms.CharField(
        max_length=200, required=False, help_text="Bank transfer id, cash receipt number ..."
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, to: str, **kwargs):
        super().__init__(*args, **kwargs)
        if to == Payout.Status.COMPLETED:
            self.fields["method"].required = True
            self.fields["reference"].required = True


class DriftForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("recalculate", "Recalculate: deduct the refunds from this payout"),
            ("carry", "Carry: pay as is, deduct the refunds from the next payout"),
        ]
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    change_form_template = "payouts/admin/payout_change_form.html"
    list_display = [
        "id",
        "recipient",
        "branch",
        "currency",
        "period_start",
        "period_end",
        "status",
        "gross",
        "fee",
        "net",
        "payment_count",
        "drift_hold",
    ]
    list_filter = ["status", "currency", "drift_hold", "organization"]
    search_fields = ["recipient__name", "reference"]
    readonly_fields = [
        "organization",
        "recipient",
        "branch",
        "currency",
        "period_start",
        "period_end",
        "accounting_period",
        "status",
        "gross",
        "fee",
        "net",
        "payment_count",
        "fee_percentage",
        "fee_fixed",
        "method",
        "reference",
        "drift_hold",
        "requested_by",
        "created_at",
        "completed_at",
    ]
    fields = readonly_fields
    inlines = [PayoutLineInline, PayoutEventInline]

    def get_urls(self):
        return [
            path(
                "<int:object_id>/transition/<str:to>/",
                self.admin_site.admin_view(self.transition_view),
                name="payouts_payout_transition",
            ),
            path(
                "<int:object_id>/drift/",
                self.admin_site.admin_view(self.drift_view),
                name="payouts_payout_drift",
            ),
            *super().get_urls(),
        ]

    def available_transitions(self, request, payout):
        out = []
        for to, (label, name) in TRANSITIONS.items():
            method = getattr(payout, name)
            if has_transition_perm(method, request.user):
                out.append(
                    {
                        "to": to,
                        "label": label,
                        "url": reverse("admin:payouts_payout_transition", args=[payout.pk, to]),
                    }
                )
        return out

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        payout = self.get_object(request, object_id)
        if payout is not None:
            extra_context["payout_transitions"] = self.available_transitions(request, payout)
            if payout.drift_hold and request.user.has_perm("payouts.decide_payout_drift"):
                extra_context["drift_url"] = reverse("admin:payouts_payout_drift", args=[payout.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def _payout_or_404(self, request, object_id) -> Payout:
        payout = self.get_object(request, str(object_id))
        if payout is None:
            raise Http404
        return payout

    def transition_view(self, request, object_id: int, to: str):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        payout = self._payout_or_404(request, object_id)
        if to not in TRANSITIONS:
            raise Http404
        label, name = TRANSITIONS[to]
        # Checked on every request, POST included: a crafted POST gets no further than this.
        if not has_transition_perm(getattr(payout, name), request.user):
            raise PermissionDenied
        form = TransitionForm(request.POST if request.method == "POST" else None, to=to)
        if request.method == "POST" and form.is_valid():
            try:
                services.payout_transition(
                    payout=payout,
                    to=to,
                    actor=request.user,
                    check_permission=True,
                    **form.cleaned_data,
                )
            except DomainError as exc:
                if exc.status_code == 403:
                    raise PermissionDenied from None
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Payout #{payout.pk}: {to}.", messages.SUCCESS)
                return redirect("admin:payouts_payout_change", payout.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": payout,
            "title": f"{label}: payout #{payout.pk}",
            "form": form,
        }
        return TemplateResponse(request, "payouts/admin/payout_transition.html", context)

    def drift_view(self, request, object_id: int):
        payout = self._payout_or_404(request, object_id)
        if not request.user.has_perm("payouts.decide_payout_drift"):
            raise PermissionDenied
        form = DriftForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.payout_drift_decide(
                    payout=payout, actor=request.user, check_permission=True, **form.cleaned_data
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Payout #{payout.pk}: drift decided.", messages.SUCCESS)
                return redirect("admin:payouts_payout_change", payout.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": payout,
            "title": f"Refund drift: payout #{payout.pk}",
            "form": form,
        }
        return TemplateResponse(request, "payouts/admin/payout_transition.html", context)


@admin.register(PayoutAdjustment)
class PayoutAdjustmentAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Append-only rows (no history table): read-only, scoped like the others."""

    list_display = [
        "id",
        "recipient",
        "currency",
        "amount",
        "source_payout",
        "payment",
        "occurred_at",
        "actor",
    ]
    readonly_fields = [
        "organization",
        "recipient",
        "currency",
        "amount",
        "source_payout",
        "payment",
        "refund",
        "actor",
        "occurred_at",
        "comment",
        "request_id",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
