"""Base admin classes every app uses.

- ``AuditedAdmin``: history views, but simple-history's "revert" never saves: its form view refuses
  POST outright (it would save the whole old row, state included, even with revert disabled).
- ``OrganizationScopedAdmin``: staff who are not superusers see only the rows of the
  organisations they are members of.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


class AuditedAdmin(SimpleHistoryAdmin):
    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("History is read-only: corrections go through services.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True


class OrganizationScopedAdmin(AuditedAdmin):
    organization_field = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.organization_field}__members__user": request.user}
        ).distinct()


__all__ = ["AuditedAdmin", "OrganizationScopedAdmin", "admin"]
