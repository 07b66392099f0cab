"""Admin: payments (read-only; a guarded "look up status now", manual verification with audit and
a refund form on the payment page), refunds, callbacks with their history, gateway accounts.
Every change goes through payments.services.

Domains add what they know about a payment through ``register_payment_admin`` (a list filter, and
lines naming what the payment is for on its page): the kernel names no domain."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from core.admin_base import OrganizationScopedAdmin, actor_label, admin_refusal
from core.audit import save_audited
from core.errors import DomainError
from payments import services
from payments.models import Payment, PaymentEvent, ProviderAccount, ProviderCallback, Refund
from payments.selectors import payment_pending_refund_amount, payment_refundable_amount

LOOKUP_COOLDOWN = timedelta(seconds=30)

# Registered by domains (see ``register_payment_admin``).
_list_filters: list = []
_describers: list[Callable[[Payment], list[tuple[str, str, str | None]]]] = []


def register_payment_admin(*, list_filter=None, describe=None) -> None:
    """A domain adds a list filter to the payments list, and/or ``describe(payment)`` returning
    ``(label, text, url or None)`` rows the payment page shows (e.g. its recipient and payout)."""
    if list_filter is not None and list_filter not in _list_filters:
        _list_filters.append(list_filter)
    if describe is not None and describe not in _describers:
        _describers.append(describe)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["amount", "currency", "status", "reason", "provider_reference", "who", "created_at"]
    readonly_fields = fields

    @admin.display(description="actor")
    def who(self, refund):
        return actor_label(refund.actor)


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fk_name = "payment"
    fields = [
        "occurred_at",
        "kind",
        "from_status",
        "to_status",
        "amount",
        "method",
        "reference",
        "who",
        "comment",
    ]
    readonly_fields = fields
    show_change_link = False

    @admin.display(description="actor")
    def who(self, event):
        return actor_label(event.actor)


class CallbackInline(ReadOnlyInline):
    model = ProviderCallback
    fields = ["received_at", "status", "http_status", "event_id", "handler_error"]
    readonly_fields = fields


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Why the money goes back (kept in the audit trail; required).",
    )
    # One key per form shown: a double submit finds the first refund instead of a second one.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class ManualVerificationForm(forms.Form):
    reference = forms.CharField(
        max_length=128, help_text="Evidence: bank statement line, gateway report id, ..."
    )
    comment = forms.CharField(widget=forms.Textarea, help_text="Why this payment is verified.")


@admin.register(Payment)
class PaymentAdmin(OrganizationScopedAdmin):
    change_form_template = "payments/admin/payment_change_form.html"
    list_display = [
        "order_number",
        "branch_code",
        "provider",
        "purpose",
        "amount_display",
        "status",
        "verified_at",
        "created_at",
    ]
    list_select_related = ["branch"]
    list_filter = ["status", "provider", "purpose", "currency", "organization"]
    search_fields = ["order_number", "provider_reference", "approval_code", "rrn"]
    date_hierarchy = "created_at"
    inlines = [RefundInline, PaymentEventInline, CallbackInline]
    actions = ["lookup_status_now", "verify_manually", "reinstate_late_payment"]
    readonly_fields = [f.name for f in Payment._meta.concrete_fields if f.name not in {"id"}]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # every field is read-only; changes go through the actions

    def has_lookup_permission(self, request):
        return request.user.has_perm("payments.lookup_payment")

    def has_refund_permission(self, request):
        return request.user.has_perm("payments.refund_payment")

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), *_list_filters]

    @admin.display(description="branch", ordering="branch__code")
    def branch_code(self, payment):
        return payment.branch.code if payment.branch_id else "\u2014"

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payment):
        return f"{payment.amount} {payment.currency}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        payment = self.get_object(request, object_id)
        if payment is not None:
            extra_context["payment_relations"] = [
                row for describe in _describers for row in describe(payment)
            ]
            if self.has_refund_permission(request) and payment.status in REFUNDABLE:
                extra_context["refund_url"] = reverse(
                    "admin:payments_payment_refund", args=[payment.pk]
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_payment_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, object_id: int):
        """Refund part or all of a payment through ``payment_refund``; the permission is checked
        on every request, the refundable amount shown, the service's refusal shown in its words."""
        payment = self.get_object(request, str(object_id))
        if payment is None:
            raise Http404
        back = [
            ("Back to the payment", reverse("admin:payments_payment_change", args=[payment.pk]))
        ]
        if not self.has_refund_permission(request):
            return admin_refusal(
                request,
                self,
                "You may not refund payments: it needs the permission \u201cCan refund a "
                "payment\u201d (payments.refund_payment), which the Operator role holds and "
                "yours does not.",
                title=f"Refund {payment.order_number}",
                links=back,
            )
        refundable = payment_refundable_amount(payment=payment)
        initial = {"amount": refundable, "idempotency_key": uuid.uuid4().hex}
        form = RefundForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.payment_refund(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    idempotency_key=f"admin:{form.cleaned_data['idempotency_key']}",
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                for field, field_messages in (exc.fields or {}).items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                level = messages.SUCCESS if refund.status == "succeeded" else messages.WARNING
                self.message_user(
                    request,
                    f"Refund of {refund.amount} {refund.currency} on {payment.order_number}: "
                    f"{refund.status}"
                    + (f" ({refund.failure_message})" if refund.failure_message else "")
                    + ".",
                    level,
                )
                return redirect("admin:payments_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": payment,
            "title": f"Refund {payment.order_number}",
            "form": form,
            "refundable": refundable,
            "pending": payment_pending_refund_amount(payment=payment),
        }
        return TemplateResponse(request, "payments/admin/refund.html", context)

    def has_verify_permission(self, request):
        return request.user.has_perm("payments.verify_payment_manually")

    @admin.action(description="Look up status at the gateway now", permissions=["lookup"])
    def lookup_status_now(self, request, queryset):
        if not self.has_lookup_permission(request):  # actions can be POSTed by hand
            raise PermissionDenied
        now = timezone.now()
        checked = skipped = 0
        for payment in queryset.filter(status=Payment.Status.PENDING)[:50]:
            if payment.last_checked_at and now - payment.last_checked_at < LOOKUP_COOLDOWN:
                skipped += 1
                continue
            try:
                result = services.payment_check_status(payment=payment, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{payment}: {exc.message}", messages.ERROR)
                continue
            checked += 1
            self.message_user(request, f"{result.order_number}: {result.status}", messages.INFO)
        not_pending = queryset.exclude(status=Payment.Status.PENDING).count()
        self.message_user(
            request,
            f"Looked up {checked}; skipped {skipped} checked in the last "
            f"{LOOKUP_COOLDOWN.seconds} s and {not_pending} not pending.",
        )

    @admin.action(
        description="Reinstate a late payment (paid after expiry or decline)",
        permissions=["verify"],
    )
    def reinstate_late_payment(self, request, queryset):
        if not self.has_verify_permission(request):
            raise PermissionDenied
        payments = list(
            queryset.filter(
                status__in=Payment.FINAL_UNPAID_STATUSES, events__kind="late_payment"
            ).distinct()[:20]
        )
        if not payments:
            self.message_user(
                request,
                "Only expired or declined payments the gateway reported paid can be reinstated.",
                messages.ERROR,
            )
            return None
        return _reinstate_view(self, request, payments)

    @admin.action(description="Verify manually (with evidence)", permissions=["verify"])
    def verify_manually(self, request, queryset):
        if not self.has_verify_permission(request):
            raise PermissionDenied
        payments = list(queryset.filter(status=Payment.Status.PENDING)[:20])
        if not payments:
            self.message_user(request, "Only pending payments can be verified.", messages.ERROR)
            return None
        form = ManualVerificationForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for payment in payments:
                try:
                    services.payment_verify_manually(
                        payment=payment,
                        actor=request.user,
                        comment=form.cleaned_data["comment"],
                        reference=form.cleaned_data["reference"],
                    )
                except DomainError as exc:
                    self.message_user(request, f"{payment}: {exc.message}", messages.ERROR)
                else:
                    self.message_user(request, f"{payment.order_number} verified manually.")
            return None
        return TemplateResponse(
            request,
            "payments/admin/verify_manually.html",
            {
                **self.admin_site.each_context(request),
                "title": "Verify payments manually",
                "payments": payments,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


REFUNDABLE = (Payment.Status.VERIFIED, Payment.Status.PARTIALLY_REFUNDED)


class ReinstateForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea,
        help_text="Why the late payment is accepted (e.g. the customer still wants the service).",
    )


def _reinstate_view(model_admin, request, payments):
    form = ReinstateForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        for payment in payments:
            try:
                services.payment_reinstate(
                    payment=payment, actor=request.user, comment=form.cleaned_data["comment"]
                )
            except DomainError as exc:
                model_admin.message_user(request, f"{payment}: {exc.message}", messages.ERROR)
            else:
                model_admin.message_user(request, f"{payment.order_number} reinstated.")
        return None
    return TemplateResponse(
        request,
        "payments/admin/reinstate.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Reinstate late payments",
            "payments": payments,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": model_admin.model._meta,
        },
    )


@admin.register(Refund)
class RefundAdmin(OrganizationScopedAdmin):
    list_display = ["id", "payment", "amount", "currency", "status", "actor", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["payment__order_number", "provider_reference"]
    readonly_fields = [f.name for f in Refund._meta.concrete_fields]
    actions = ["resolve_at_gateway"]

    def has_resolve_permission(self, request):
        return request.user.has_perm("payments.refund_payment")

    @admin.action(description="Resolve pending refunds at the gateway", permissions=["resolve"])
    def resolve_at_gateway(self, request, queryset):
        if not self.has_resolve_permission(request):  # actions can be POSTed by hand
            raise PermissionDenied
        for refund in queryset.filter(status=Refund.Status.PENDING)[:20]:
            try:
                result = services.refund_resolve(refund=refund, actor=request.user)
            except DomainError as exc:
                services.refund_flag_stuck(refund=refund, actor=request.user, reason=exc.message)
                self.message_user(request, f"Refund {refund.pk}: {exc.message}", messages.ERROR)
                continue
            if result.status == Refund.Status.PENDING:
                # In flight (its gateway call has not ended) or changed during the lookup:
                # nothing was decided; the janitor or a later click settles it.
                self.message_user(
                    request,
                    f"Refund {result.pk}: still pending (its gateway call is in flight or "
                    "other refunds changed meanwhile); try again later.",
                    messages.WARNING,
                )
                continue
            services.refund_unflag(refund=result, actor=request.user)
            self.message_user(request, f"Refund {result.pk}: {result.status}.")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProviderCallback)
class ProviderCallbackAdmin(OrganizationScopedAdmin):
    """Staff see the callbacks of their organisations; callbacks that matched no organisation
    (unknown orders, bad signatures) only superusers."""

    list_display = [
        "id",
        "provider",
        "status",
        "http_status",
        "order_number",
        "event_id",
        "received_at",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["order_number", "event_id"]
    readonly_fields = [f.name for f in ProviderCallback._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProviderAccountForm(forms.ModelForm):
    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="The gateway's API root, e.g. https://ipay.arca.am/payment/rest/",
    )
    password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave blank to keep the current."
    )
    secret_key = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave blank to keep the current."
    )

    class Meta:
        model = ProviderAccount
        fields = [
            "organization",
            "provider",
            "is_active",
            "base_url",
            "merchant_id",
            "username",
            "password",
            "secret_key",
            "config",
            "payment_window_seconds",
        ]

    def clean(self):
        cleaned = super().clean()
        for secret in ("password", "secret_key"):
            if not cleaned.get(secret) and self.instance.pk:
                cleaned[secret] = getattr(self.instance, secret)
        provider = cleaned.get("provider") or self.instance.provider
        if cleaned.get("base_url") and provider:
            try:
                services.provider_account_check_base_url(provider=provider, url=cleaned["base_url"])
            except DomainError as exc:
                self.add_error("base_url", exc.message)
        return cleaned


@admin.register(ProviderAccount)
class ProviderAccountAdmin(OrganizationScopedAdmin):
    form = ProviderAccountForm
    list_display = ["organization", "provider", "is_active", "merchant_id", "created_at"]
    list_filter = ["provider", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:  # an account never moves to another organisation
            readonly += ["organization", "provider"]
        return readonly

    def save_model(self, request, obj, form, change):
        if (
            not request.user.is_superuser
            and not obj.organization.members.filter(user=request.user).exists()
        ):
            raise PermissionDenied
        save_audited(obj, actor=request.user, reason="changed in admin" if change else "created")

    def has_delete_permission(self, request, obj=None):
        return False
