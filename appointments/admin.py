"""Admin of appointment payments, for clinic staff and operators.

Rows are read-only here; every change goes through ``appointments.services``. Action buttons
(transfer is the booking system's, through the API) post to our own views, which check the
user's permission on every request, POST included, so a crafted POST gets no further. The
customer context is shown, read-only, only to holders of ``appointments.view_customer_context``.
simple-history's "revert" POST is refused by the base class.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import services
from appointments.exception_kinds import (
    CANCELLED_PAID_UNDECIDED,
    LATE_APPOINTMENT_PAYMENT,
    NO_SHOW_PAID_UNDECIDED,
)
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReconciliation,
    AppointmentSlot,
    CancellationPolicy,
    CustomerContext,
    PaymentRequest,
)
from core.admin_base import OrganizationScopedAdmin, OrganizationScopedMixin, ReadOnlyAdminMixin
from core.errors import DomainError


class SlotDayFilter(admin.SimpleListFilter):
    """Today's appointments (in the clinic's time zone), tomorrow's, the next seven days."""

    title = "slot day"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("week", "Next 7 days")]

    def queryset(self, request, queryset):
        if self.value() not in ("today", "tomorrow", "week"):
            return queryset
        today = timezone.localdate()
        start = today + dt.timedelta(days=1 if self.value() == "tomorrow" else 0)
        days = 7 if self.value() == "week" else 1
        begin = dt.datetime.combine(start, dt.time.min, tzinfo=timezone.get_current_timezone())
        return queryset.filter(starts_at__gte=begin, starts_at__lt=begin + dt.timedelta(days=days))


@admin.register(CancellationPolicy)
class CancellationPolicyAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Versions are never edited: adding a policy with an existing code makes its next version."""

    list_display = [
        "code",
        "version",
        "window_hours",
        "refund_percent_before",
        "refund_percent_after",
        "no_show_refund_percent",
        "organization",
        "created_at",
    ]
    list_filter = ["organization", "code"]
    fields = [
        "organization",
        "code",
        "window_hours",
        "refund_percent_before",
        "refund_percent_after",
        "no_show_refund_percent",
    ]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied("Policy versions are never edited.")
        created = services.policy_create(
            organization=obj.organization,
            code=obj.code,
            window_hours=obj.window_hours,
            refund_percent_before=obj.refund_percent_before,
            refund_percent_after=obj.refund_percent_after,
            no_show_refund_percent=obj.no_show_refund_percent,
            actor=request.user,
        )
        obj.pk, obj.version, obj.created_at = created.pk, created.version, created.created_at


class SlotInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentSlot
    extra = 0
    fields = ["starts_at", "ends_at", "specialist_id", "occurred_at", "actor", "comment"]
    readonly_fields = fields


class RequestInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentRequest
    extra = 0
    fields = ["kind", "status", "amount", "currency", "expires_at", "policy", "payment"]
    readonly_fields = fields
    show_change_link = True


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    fields = ["occurred_at", "kind", "from_status", "to_status", "reason", "amount", "actor"]
    readonly_fields = fields


class CustomerContextInline(ReadOnlyAdminMixin, admin.StackedInline):
    """Name and phone, for ``appointments.view_customer_context`` holders only."""

    model = CustomerContext
    extra = 0
    fields = ["name", "phone", "created_at"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("appointments.view_customer_context")


ACTIONS = {
    # name: (label, permission)
    "cancel": ("Cancel", "appointments.cancel_appointment"),
    "no_show": ("Mark no-show", "appointments.mark_appointment_no_show"),
    "complete": ("Complete", "appointments.complete_appointment"),
    "refund": ("Refund", "appointments.refund_appointment"),
}


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500)
    by = forms.ChoiceField(choices=Appointment.CancelledBy.choices)


class CommentForm(forms.Form):
    comment = forms.CharField(max_length=500, required=False)


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=500)
    override_reason = forms.CharField(
        max_length=500, required=False, help_text="Needed above the policy's share."
    )
    payment_request = forms.IntegerField(required=False)


FORMS = {
    "cancel": CancelForm,
    "no_show": CommentForm,
    "complete": CommentForm,
    "refund": RefundForm,
}


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    change_form_template = "appointments/admin/change_form.html"
    list_display = [
        "id",
        "starts_at",
        "status",
        "external_ref",
        "service_id",
        "specialist_id",
        "branch",
        "organization",
    ]
    list_filter = [SlotDayFilter, "status", "branch", "organization"]
    show_facets = admin.ShowFacets.ALWAYS  # counts by state beside each filter
    search_fields = ["external_ref", "service_id", "specialist_id"]
    date_hierarchy = "starts_at"
    readonly_fields = [
        "organization",
        "branch",
        "external_ref",
        "service_id",
        "specialist_id",
        "starts_at",
        "ends_at",
        "status",
        "policy",
        "cancelled_by",
        "cancelled_at",
        "cancelled_within_window",
        "created_at",
    ]
    fields = readonly_fields

    def get_inlines(self, request, obj):
        inlines = [SlotInline, RequestInline, EventInline]
        if request.user.has_perm("appointments.view_customer_context"):
            inlines.insert(0, CustomerContextInline)
        return inlines

    def get_urls(self):
        return [
            path(
                "<int:object_id>/act/<str:name>/",
                self.admin_site.admin_view(self.action_view),
                name="appointments_appointment_act",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        appointment = self.get_object(request, object_id)
        if appointment is not None:
            extra_context["appointment_actions"] = [
                {
                    "label": label,
                    "url": reverse("admin:appointments_appointment_act", args=[appointment.pk, n]),
                }
                for n, (label, permission) in ACTIONS.items()
                if request.user.has_perm(permission) and (n == "refund" or appointment.is_open)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, object_id: int, name: str):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        appointment = self.get_object(request, str(object_id))
        if appointment is None or name not in ACTIONS:
            raise Http404
        label, permission = ACTIONS[name]
        # Checked on every request, POST included: a crafted POST gets no further than this.
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = FORMS[name](request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                self._act(name, appointment, request.user, form.cleaned_data)
            except DomainError as exc:
                self.message_user(request, f"{exc.code}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Appointment #{appointment.pk}: {label.lower()}.")
                return redirect("admin:appointments_appointment_change", appointment.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": appointment,
            "title": f"{label}: appointment #{appointment.pk}",
            "form": form,
            "back_list": "admin:appointments_appointment_changelist",
            "back_change": "admin:appointments_appointment_change",
            "refund_path": services.refund_path(appointment) if name == "refund" else None,
        }
        return TemplateResponse(request, "appointments/admin/action.html", context)

    @staticmethod
    def _act(name: str, appointment: Appointment, user, data: dict) -> None:
        if name == "cancel":
            services.appointment_cancel(appointment=appointment, actor=user, **data)
        elif name == "no_show":
            services.appointment_no_show(appointment=appointment, actor=user, **data)
        elif name == "complete":
            services.appointment_complete(appointment=appointment, actor=user, **data)
        else:
            services.appointment_refund(
                appointment=appointment,
                amount=data["amount"],
                reason=data["reason"],
                override_reason=data["override_reason"],
                payment_request_id=data["payment_request"],
                actor=user,
            )


UNDECIDED_KINDS = (LATE_APPOINTMENT_PAYMENT, CANCELLED_PAID_UNDECIDED, NO_SHOW_PAID_UNDECIDED)
REQUEST_ACTIONS = {
    "accept": ("Accept late payment", "appointments.accept_paymentrequest"),
    "forfeit": ("Forfeit (keep the payment)", "appointments.forfeit_paymentrequest"),
}


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


@admin.register(PaymentRequest)
class PaymentRequestAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Requests awaiting payment (pending), under manual review, and the rest."""

    change_form_template = "appointments/admin/change_form.html"
    list_display = [
        "id",
        "appointment",
        "kind",
        "status",
        "amount",
        "currency",
        "expires_at",
        "policy",
        "payment",
        "organization",
    ]
    list_filter = ["status", "kind", "organization"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["appointment__external_ref", "payment__order_number"]
    readonly_fields = [
        "organization",
        "appointment",
        "kind",
        "status",
        "amount",
        "currency",
        "expires_at",
        "paid_at",
        "policy",
        "payment",
        "created_at",
    ]
    fields = readonly_fields

    def get_urls(self):
        return [
            path(
                "<int:object_id>/act/<str:name>/",
                self.admin_site.admin_view(self.action_view),
                name="appointments_paymentrequest_act",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        item = self.get_object(request, object_id)
        if item is not None:
            wanted = {
                PaymentRequest.Status.MANUAL_REVIEW: "accept",
                PaymentRequest.Status.PAID: "forfeit",
                PaymentRequest.Status.PARTIALLY_REFUNDED: "forfeit",
            }.get(item.status)
            extra_context["appointment_actions"] = [
                {
                    "label": label,
                    "url": reverse("admin:appointments_paymentrequest_act", args=[item.pk, n]),
                }
                for n, (label, permission) in REQUEST_ACTIONS.items()
                if n == wanted and request.user.has_perm(permission)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def exception_case_decision(self, request, case):
        """The exception queue (and the desk) ask whether a case is decided here: a late payment
        held for review, or the money of a cancelled or no-show appointment, is decided on the
        request (accept or forfeit; a refund on its appointment), never with a bare note
        (``undecided_case_close_guard``). Returns ``(label, url)`` or None."""
        from appointments.services.payment_requests import undecided_case_close_guard

        if case.kind not in UNDECIDED_KINDS:
            return None
        try:
            undecided_case_close_guard(case)
        except DomainError:
            pk = (case.details or {}).get("payment_request")
            url = reverse("admin:appointments_paymentrequest_change", args=[pk])
            if case.kind == LATE_APPOINTMENT_PAYMENT:
                return (_("Accept or refund payment request #%(id)s") % {"id": pk}, url)
            return (_("Forfeit or refund payment request #%(id)s") % {"id": pk}, url)
        return None

    def action_view(self, request, object_id: int, name: str):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        item = self.get_object(request, str(object_id))
        if item is None or name not in REQUEST_ACTIONS:
            raise Http404
        label, permission = REQUEST_ACTIONS[name]
        if not request.user.has_perm(permission):  # every request, POST included
            raise PermissionDenied
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            service = (
                services.payment_request_accept
                if name == "accept"
                else services.payment_request_forfeit
            )
            try:
                service(request=item, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                self.message_user(request, f"{exc.code}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Payment request #{item.pk}: {label.lower()}.")
                return redirect("admin:appointments_paymentrequest_change", item.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": item,
            "title": f"{label}: payment request #{item.pk}",
            "form": form,
            "back_list": "admin:appointments_paymentrequest_changelist",
            "back_change": "admin:appointments_paymentrequest_change",
            "refund_path": None,
        }
        return TemplateResponse(request, "appointments/admin/action.html", context)


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "appointment", "payment_request", "amount", "actor"]
    list_filter = ["kind", "organization"]
    readonly_fields = [
        "organization",
        "appointment",
        "payment_request",
        "kind",
        "from_status",
        "to_status",
        "reason",
        "amount",
        "currency",
        "data",
        "actor",
        "occurred_at",
        "request_id",
    ]
    fields = readonly_fields


@admin.register(AppointmentReconciliation)
class AppointmentReconciliationAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["date", "organization", "counts", "ran_at"]
    list_filter = ["organization"]
    readonly_fields = ["organization", "date", "counts", "totals", "findings", "ran_at"]
    fields = readonly_fields
