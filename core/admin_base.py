"""Base admin classes every app uses.

- ``AuditedAdmin``: history views, but simple-history's "revert" never saves: its form view refuses
  POST outright (it would save the whole old row, state included, even with revert disabled).
- ``OrganizationScopedAdmin``: staff who are not superusers see only the rows of the
  organisations they are members of.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin


class AuditedAdmin(SimpleHistoryAdmin):
    # URLs typed without a scheme are https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def _visible_or_404(self, request, object_id) -> None:
        # simple-history's views look rows up without the admin's queryset (and fall back to
        # the history of a row the user may not see): check against get_queryset first.
        try:
            visible = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, ValidationError):  # not even a valid primary key
            visible = False
        if not visible:
            raise Http404("No such object.")

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        if request.method == "POST":
            raise PermissionDenied("History is read-only: corrections go through services.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True


def member_organizations(user):
    """The organisations a staff user may see: all for superusers, else their memberships."""
    from core.models import Organization

    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(members__user=user).distinct()


class OrganizationScopedMixin:
    """For any ModelAdmin: rows of the user's organisations only, organisation filters and
    foreign-key choices limited to them. ``organization_field`` is the path to the organisation
    ("organization", or e.g. "delivery__organization"); "" for Organization itself."""

    organization_field = "organization"

    def organization_lookup(self) -> str:
        prefix = f"{self.organization_field}__" if self.organization_field else ""
        return f"{prefix}members__user"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.organization_lookup(): request.user}).distinct()

    def get_list_filter(self, request):
        # A filter by organisation offers only the organisations of the rows the user sees.
        return [
            (name, admin.RelatedOnlyFieldListFilter)
            if isinstance(name, str) and name == "organization"
            else name
            for name in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices limited to the user's organisations (and their rows), never all of them.
        related = db_field.related_model
        if not request.user.is_superuser and related is not None:
            if related._meta.label == "core.Organization":
                kwargs["queryset"] = related.objects.filter(members__user=request.user)
            elif any(f.name == "organization" for f in related._meta.get_fields()):
                kwargs["queryset"] = related.objects.filter(
                    organization__members__user=request.user
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OrganizationScopedAdmin(OrganizationScopedMixin, AuditedAdmin):
    """Scoped, with read-only history: the base of every admin of a model with history."""


__all__ = [
    "AuditedAdmin",
    "OrganizationScopedAdmin",
    "OrganizationScopedMixin",
    "admin",
    "member_organizations",
]
