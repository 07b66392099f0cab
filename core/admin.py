from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.models import ApiClient, Branch, Membership, Organization


class BranchInline(admin.TabularInline):
    model = Branch
    extra = 0
    fields = ["code", "name"]


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "timezone", "default_currency", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [BranchInline]


@admin.register(Branch)
class BranchAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "code"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "organization", "created_at"]
    list_filter = ["organization"]


@admin.register(ApiClient)
class ApiClientAdmin(SimpleHistoryAdmin):
    """Tokens are created with ``manage.py create_api_token`` (shown once); here: view, revoke."""

    list_display = [
        "name",
        "organization",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["organization"]
    readonly_fields = ["organization", "name", "user", "key_prefix", "key_hash", "created_at"]
    fields = [*readonly_fields, "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False
