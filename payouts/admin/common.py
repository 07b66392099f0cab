"""Shared by the payouts admin pages: refusals with their reason, service errors on forms."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect

from core.admin_base import (
    OrganizationScopedAdmin,
)
from core.errors import DomainError


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


def domain_errors_as_form_errors(model_admin, view, request, *args):
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


class MemberRowFilter(admin.SimpleListFilter):
    """A list filter on one related row, by id: offers the rows of the user's organisations
    (``member_rows``) and refuses anything but a whole number (an empty list, never a 500)."""

    lookup = ""  # the queryset filter the chosen id goes to, e.g. "accounting_period_id"

    def member_rows(self, request, rows):
        if not request.user.is_superuser:
            rows = rows.filter(organization__members__user=request.user).distinct()
        return rows

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{self.lookup: int(value)})
