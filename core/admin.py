from django.contrib import admin

from core.admin_base import OrganizationScopedAdmin, actor_label
from core.models import ApiClient, Branch, Membership, Organization
from core.services import api_client_revoke

# The lists are the work (payouts, payments, the exception queue): they get the page's width at
# 1400 px; the index page and the breadcrumbs lead everywhere the sidebar did.
admin.site.enable_nav_sidebar = False


class BranchInline(admin.TabularInline):
    model = Branch
    extra = 0
    fields = ["code", "name"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_field = ""
    list_display = ["name", "slug", "timezone", "default_currency", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [BranchInline]


@admin.register(Branch)
class BranchAdmin(OrganizationScopedAdmin):
    list_display = ["name", "code", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "code"]


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    list_display = ["user", "organization", "created_at"]
    list_filter = ["organization"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # People only: never a system job (``system.*``) or an API client's service user.
        if db_field.name == "user":
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(is_active=True, api_client__isnull=True)
                .exclude(username__startswith="system.")
                .order_by("username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ApiClient)
class ApiClientAdmin(OrganizationScopedAdmin):
    """Tokens are created with ``manage.py create_api_token`` (shown once); here: view, revoke."""

    list_display = [
        "name",
        "organization",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [
        "organization",
        ("revoked_at", admin.EmptyFieldListFilter),
    ]
    readonly_fields = [
        "organization",
        "name",
        "audit_name",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="in the audit trail")
    def audit_name(self, client):
        # One name: the trail shows the client's name, not its service user's username.
        return actor_label(client.user)

    @admin.action(description="Revoke the selected API clients", permissions=["change"])
    def revoke(self, request, queryset):
        for client in queryset.filter(revoked_at__isnull=True):
            api_client_revoke(client=client, actor=request.user, reason="revoked in the admin")
        self.message_user(request, "Revoked.")
