"""Operators' and accountants' admin for payouts.

Rows are read-only here; every change goes through ``payouts.services``. Transition buttons post
to our own views, which check the actor's permission for that transition on every request (a
crafted POST without it is refused, with the reason, in the admin's layout), ask for method and
reference where needed, and call the service, whose refusals are shown with the API's words.
Accountants add recipients and periods (``recipient_create``, ``period_create``), close periods
(with a warning before a period has ended, and the count of payouts the close built) and reverse
completed payouts (``payout_reverse``). Period pages and the payouts list show their figures.
simple-history's "revert" POST is refused: it would save a whole old row, state included.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django_fsm import can_proceed, has_transition_perm

from core.admin_base import (
    OrganizationScopedAdmin,
    OrganizationScopedMixin,
    actor_label,
    admin_refusal,
)
from core.clock import clock_today
from core.errors import DomainError
from payments.admin import register_payment_admin
from payouts import selectors, services
from payouts.exception_kinds import REFUND_DRIFT
from payouts.models import (
    FeePolicy,
    Payout,
    PayoutAdjustment,
    PayoutEvent,
    PayoutLine,
    PayoutPeriod,
    QrCode,
    QrPayment,
    Recipient,
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


def permission_reason(codename: str, doing: str) -> str:
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(
        content_type__app_label="payouts", codename=codename
    ).first()
    name = permission.name if permission else codename
    return (
        f"You may not {doing}: it needs the permission \u201c{name}\u201d (payouts.{codename}), "
        "which your role does not hold. Ask an administrator, or the person whose role does."
    )


def form_errors_from(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal on the form, in the service's (the API's) words: its sentence, and
    each field's messages on that field."""
    form.add_error(None, exc.message)
    for field, field_messages in (exc.fields or {}).items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


class ReadOnlyAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecipientForm(forms.ModelForm):
    class Meta:
        model = Recipient
        fields = ["organization", "branch", "scope", "name", "external_ref", "is_active"]

    def clean(self):
        data = super().clean()
        organization, branch = data.get("organization"), data.get("branch")
        if organization and branch and branch.organization_id != organization.pk:
            self.add_error("branch", f"Not a branch of {organization}.")
        return data

    def validate_unique(self):
        pass  # the service checks duplicates (``duplicate_recipient``) and says so


@admin.register(Recipient)
class RecipientAdmin(OrganizationScopedAdmin):
    form = RecipientForm
    list_display = ["name", "scope", "branch", "external_ref", "is_active", "organization"]
    list_filter = ["scope", "is_active", "organization"]
    search_fields = ["name", "external_ref"]

    def get_fields(self, request, obj=None):
        if obj is None:  # added through ``recipient_create``
            return ["organization", "branch", "scope", "name", "external_ref"]
        return [
            "organization",
            "branch",
            "scope",
            "name",
            "external_ref",
            "is_active",
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["organization", "branch", "scope", "created_at"]

    def has_add_permission(self, request):
        return request.user.has_perm("payouts.add_recipient")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Through ``recipient_create`` / ``recipient_update`` (audited, duplicate-checked)."""
        if not change:
            created = services.recipient_create(
                organization=form.cleaned_data["organization"],
                branch=form.cleaned_data["branch"],
                scope=form.cleaned_data["scope"],
                name=form.cleaned_data["name"],
                external_ref=form.cleaned_data.get("external_ref") or "",
                actor=request.user,
            )
            obj.pk = created.pk
            return
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


class PeriodForm(forms.ModelForm):
    class Meta:
        model = PayoutPeriod
        fields = ["organization", "kind", "name", "start_date", "end_date"]


@admin.register(PayoutPeriod)
class PayoutPeriodAdmin(OrganizationScopedAdmin):
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
        """Added through ``period_create`` (overlaps refused with the service's message)."""
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
        return _domain_errors_as_form_errors(
            self, super().changeform_view, request, object_id, form_url, extra_context
        )

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


class PeriodFilter(admin.SimpleListFilter):
    """Payouts of one accounting period (the user's organisations' periods, newest first)."""

    title = "accounting period"
    parameter_name = "accounting_period__id__exact"

    def lookups(self, request, model_admin):
        periods = PayoutPeriod.objects.select_related("organization").order_by("-start_date")
        if not request.user.is_superuser:
            periods = periods.filter(organization__members__user=request.user).distinct()
        return [(str(p.pk), str(p)) for p in periods[:50]]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(accounting_period_id=int(value))


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
        "drift_hold",
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
            return (f"Decide the refund drift of payout #{payout.pk}", url)
        url = reverse("admin:payouts_payout_change", args=[payout.pk])
        return (f"Complete or cancel payout #{payout.pk} (recalculated)", url)


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


# --- what payouts adds to the payments admin (the kernel names no domain) ------------------------


class RecipientPaymentFilter(admin.SimpleListFilter):
    """Payments made through one recipient's Smart QR codes."""

    title = "payout recipient"
    parameter_name = "recipient"

    def lookups(self, request, model_admin):
        recipients = Recipient.objects.select_related("branch").order_by("name", "pk")
        if not request.user.is_superuser:
            recipients = recipients.filter(organization__members__user=request.user).distinct()
        return [(str(r.pk), f"{r.name} \u00b7 {r.branch.code}") for r in recipients[:100]]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(qr_payment__recipient_id=int(value))


def describe_payment(payment) -> list[tuple[str, str, str | None]]:
    """The payment page names the recipient the payment was made for and the payout holding it."""
    link = QrPayment.objects.filter(payment=payment).select_related("recipient__branch").first()
    if link is None:
        return []
    rows = [
        (
            "Recipient",
            str(link.recipient),
            reverse("admin:payouts_recipient_change", args=[link.recipient_id]),
        )
    ]
    lines = (
        PayoutLine.objects.filter(payment=payment, kind=PayoutLine.Kind.PAYMENT)
        .select_related("payout")
        .order_by("-active", "-pk")
    )
    for line in lines:
        payout = line.payout
        rows.append(
            (
                "Payout" if line.active else "Earlier payout",
                f"#{payout.pk} ({payout.get_status_display()}, net {payout.net} {payout.currency})",
                reverse("admin:payouts_payout_change", args=[payout.pk]),
            )
        )
    if len(rows) == 1:
        rows.append(("Payout", "not in a payout yet", None))
    return rows


register_payment_admin(list_filter=RecipientPaymentFilter, describe=describe_payment)
