"""Recipients (added by accountants through ``recipient_create``), Smart QR codes, fee policies."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from core.admin_base import (
    OrganizationScopedAdmin,
)
from payouts import services
from payouts.admin.common import ReadOnlyAdmin, domain_errors_as_form_errors
from payouts.models import (
    FeePolicy,
    QrCode,
    Recipient,
)


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
        return domain_errors_as_form_errors(
            self, super().changeform_view, request, object_id, form_url, extra_context
        )


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
        return domain_errors_as_form_errors(
            self, super().changeform_view, request, object_id, form_url, extra_context
        )
