"""Payouts: transitions (reversal included), the drift decision, the audit trail, list totals."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django_fsm import can_proceed, has_transition_perm

from core.admin_base import (
    OrganizationScopedMixin,
    actor_label,
    admin_refusal,
)
from core.errors import DomainError
from payouts import selectors, services
from payouts.admin.common import (
    MemberRowFilter,
    ReadOnlyAdmin,
    form_errors_from,
    permission_reason,
)
from payouts.exception_kinds import REFUND_DRIFT
from payouts.models import (
    Payout,
    PayoutAdjustment,
    PayoutEvent,
    PayoutLine,
    PayoutPeriod,
)

TRANSITIONS = {
    # to: (label, transition method name, permission's codename)
    "processing": ("Start processing", "start_processing", "process_payout"),
    "completed": ("Complete", "complete", "complete_payout"),
    "cancelled": ("Cancel", "cancel", "cancel_payout"),
    "reversed": ("Reverse", "reverse", "reverse_payout"),
}
# What a typed URL for a transition that the payout's state does not allow is told.
NEXT_STEP = {
    ("requested", "completed"): "Start processing first; a payout is completed from processing.",
    ("requested", "reversed"): "Only a completed payout is reversed; cancel it instead.",
    ("processing", "reversed"): "Only a completed payout is reversed; cancel it instead.",
}


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
    """The audit trail, in columns that fit the page (amounts and method/reference combined)."""

    model = PayoutEvent
    extra = 0
    fields = ["occurred_at", "kind", "change", "who", "paid_by", "amounts", "comment"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "audit trail"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def change(self, event):
        if event.from_status and event.to_status and event.from_status != event.to_status:
            return f"{event.from_status} \u2192 {event.to_status}"
        return event.to_status or "\u2014"

    @admin.display(description="actor")
    def who(self, event):
        return actor_label(event.actor)

    @admin.display(description="method / reference")
    def paid_by(self, event):
        return " / ".join(v for v in (event.method, event.reference) if v) or "\u2014"

    @admin.display(description="gross / fee / net")
    def amounts(self, event):
        return f"{event.gross} / {event.fee} / {event.net}"


class TransitionForm(forms.Form):
    """Method, reference and comment. The rules (completion needs method and reference, a
    reversal a reference and a reason) are the service's: its refusal is shown with its words."""

    method = forms.ChoiceField(
        choices=[("", "\u2014"), *Payout.Method.choices], required=False, label="Method"
    )
    reference = forms.CharField(
        max_length=200, required=False, help_text="Bank transfer id, cash receipt number ..."
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, to: str, **kwargs):
        super().__init__(*args, **kwargs)
        if to == Payout.Status.COMPLETED:
            for name in ("method", "reference"):  # a hint for the browser; the service decides
                self.fields[name].widget.attrs["required"] = True
        if to == Payout.Status.REVERSED:
            del self.fields["method"]
            self.fields["reference"].help_text = "The returned transfer, the correction's id ..."
            self.fields["comment"].label = "Reason"
            self.fields["comment"].help_text = "Why the completed payout is reversed (required)."


class DriftForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("recalculate", "Recalculate: deduct the refunds from this payout"),
            ("carry", "Carry: pay as is, deduct the refunds from the next payout"),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class PeriodFilter(MemberRowFilter):
    """Payouts of one accounting period (the user's organisations' periods, newest first)."""

    title = "accounting period"
    parameter_name = "accounting_period__id__exact"
    lookup = "accounting_period_id"

    def lookups(self, request, model_admin):
        periods = self.member_rows(
            request,
            PayoutPeriod.objects.select_related("organization").order_by("-start_date"),
        )
        return [(str(p.pk), str(p)) for p in periods[:50]]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    change_form_template = "payouts/admin/payout_change_form.html"
    change_list_template = "payouts/admin/payout_change_list.html"
    list_display = [
        "id",
        "who",
        "dates",
        "status",
        "gross",
        "fee",
        "net",
        "currency",
        "payments",
        "held",
    ]
    list_display_links = ["id", "who"]
    list_filter = ["status", PeriodFilter, "currency", "drift_hold", "organization"]
    list_select_related = ["recipient", "branch"]
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
        "drift_hold_state",
        "requested_by_label",
        "created_at",
        "completed_at",
    ]
    fields = readonly_fields
    inlines = [PayoutLineInline, PayoutEventInline]

    @admin.display(description="recipient", ordering="recipient__name")
    def who(self, payout):
        return f"{payout.recipient.name} \u00b7 {payout.branch.code}"

    @admin.display(description="range", ordering="period_start")
    def dates(self, payout):
        if payout.period_start == payout.period_end:
            return f"{payout.period_start:%d %b %Y}"
        return f"{payout.period_start:%d %b}\u2013{payout.period_end:%d %b %Y}"

    @admin.display(description="payments", ordering="payment_count")
    def payments(self, payout):
        return payout.payment_count

    @admin.display(description="drift held", boolean=True, ordering="drift_hold")
    def held(self, payout):
        return payout.drift_hold

    @admin.display(description="drift hold")
    def drift_hold_state(self, payout):
        """The field's help text read as a fact on every payout (a completed one never held
        said "an operator must decide"): said only when the payout is held."""
        if payout.drift_hold:
            return (
                "Held: a refund hit an included payment while processing; an operator must "
                "decide before it completes."
            )
        return "Not held"

    @admin.display(description="requested by")
    def requested_by_label(self, payout):
        return actor_label(payout.requested_by)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["payout_totals"] = selectors.payout_totals(
                payouts=changelist.queryset
            )
        return response

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
        for to, (label, name, _) in TRANSITIONS.items():
            method = getattr(payout, name)
            if can_proceed(method, check_conditions=False) and has_transition_perm(
                method, request.user
            ):
                url = reverse("admin:payouts_payout_transition", args=[payout.pk, to])
                out.append({"to": to, "label": label, "url": url})
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

    def _refusal(self, request, payout, reason, status=403):
        back = reverse("admin:payouts_payout_change", args=[payout.pk])
        return admin_refusal(
            request,
            self,
            reason,
            title=f"Payout #{payout.pk}",
            status=status,
            links=[(f"Back to payout #{payout.pk}", back)],
        )

    def transition_view(self, request, object_id: int, to: str):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        payout = self._payout_or_404(request, object_id)
        if to not in TRANSITIONS:
            return self._refusal(
                request,
                payout,
                f"\u201c{to}\u201d is not a payout state one moves to: {', '.join(TRANSITIONS)}.",
                status=404,
            )
        label, name, codename = TRANSITIONS[to]
        # Checked on every request, POST included: a crafted POST gets no further than this.
        if not request.user.has_perm(f"payouts.{codename}"):
            return self._refusal(
                request, payout, permission_reason(codename, f"{label.lower()} payouts")
            )
        if not can_proceed(getattr(payout, name), check_conditions=False):
            hint = NEXT_STEP.get((payout.status, to), "")
            return self._refusal(
                request,
                payout,
                f"A {payout.status} payout cannot become {to}. {hint}".strip(),
                status=409,
            )
        form = TransitionForm(request.POST if request.method == "POST" else None, to=to)
        if request.method == "POST" and form.is_valid():
            try:
                self._apply(request, payout, to, form.cleaned_data)
            except DomainError as exc:
                if exc.status_code == 403:
                    return self._refusal(request, payout, exc.message)
                form_errors_from(form, exc)
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

    @staticmethod
    def _apply(request, payout, to, data):
        if to == Payout.Status.REVERSED:
            return services.payout_reverse(
                payout=payout,
                actor=request.user,
                reference=data["reference"],
                comment=data["comment"],
                check_permission=True,
            )
        return services.payout_transition(
            payout=payout, to=to, actor=request.user, check_permission=True, **data
        )

    def drift_view(self, request, object_id: int):
        payout = self._payout_or_404(request, object_id)
        if not request.user.has_perm("payouts.decide_payout_drift"):
            return self._refusal(
                request, payout, permission_reason("decide_payout_drift", "decide refund drift")
            )
        if not payout.drift_hold:
            return self._refusal(
                request, payout, "This payout has no held refund drift to decide.", status=409
            )
        form = DriftForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.payout_drift_decide(
                    payout=payout, actor=request.user, check_permission=True, **form.cleaned_data
                )
            except DomainError as exc:
                form_errors_from(form, exc)
            else:
                self.message_user(request, f"Payout #{payout.pk}: drift decided.", messages.SUCCESS)
                return redirect("admin:payouts_payout_change", payout.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": payout,
            "title": f"Refund drift: payout #{payout.pk}",
            "submit_label": "Decide",
            "form": form,
            "preview": selectors.payout_drift_preview(payout=payout),
        }
        return TemplateResponse(request, "payouts/admin/payout_drift.html", context)

    def exception_case_decision(self, request, case):
        """The exception queue asks the subject's admin whether a case is decided elsewhere: a
        ``refund_drift`` case is resolved by the payout's drift decision (or its completion or
        cancel), never by a bare note. Returns ``(label, url)`` or None."""
        if case.kind != REFUND_DRIFT:
            return None
        payout = Payout.objects.filter(pk=case.subject_id).first()
        if payout is None:
            return None
        if payout.drift_hold:
            url = reverse("admin:payouts_payout_drift", args=[payout.pk])
            return (gettext("Decide the refund drift of payout #%(id)s") % {"id": payout.pk}, url)
        url = reverse("admin:payouts_payout_change", args=[payout.pk])
        label = gettext("Complete or cancel payout #%(id)s (recalculated)") % {"id": payout.pk}
        return (label, url)


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
