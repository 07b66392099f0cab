"""Staff roles are Django groups, kept in step with ``ROLE_GRANTS`` after every migrate.

The grants name apps by label (strings), so the kernel imports no domain. An app that does not
exist (yet) is skipped. Custom permissions (e.g. a payout transition) are listed by codename.
"""

from __future__ import annotations

OPERATOR = "Operator"
ACCOUNTANT = "Accountant"
CLINIC_STAFF = "Clinic staff"
ROLES = (OPERATOR, ACCOUNTANT, CLINIC_STAFF)

# role -> {app_label: actions}; actions are the default model permissions ("view", "add",
# "change", "delete") granted on every model of the app, plus any extra codenames listed.
# An app that needs finer grants declares them itself instead, as ``role_permissions =
# {role: [codenames]}`` on its AppConfig (payouts does), or grants whole actions on its own
# models with ``role_grants = {role: ("view", "change", ...)}`` (reconciliation does). The
# kernel's table names only kernel apps.
ROLE_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    OPERATOR: {
        "core": ("view",),
        "payments": (
            "view",
            "change",
            "lookup_payment",
            "verify_payment_manually",
            "refund_payment",
        ),
        "exceptionqueue": ("view", "change"),
        "webhooks": ("view", "change"),
    },
    ACCOUNTANT: {
        # The accounting period is a kernel row; its close flow is reconciliation's.
        "core": (
            "view",
            "add_accountingperiod",
            "close_accountingperiod",
            "reopen_accountingperiod",
        ),
        "payments": ("view",),
        "exceptionqueue": ("view", "change"),
        "webhooks": ("view",),
    },
    CLINIC_STAFF: {
        "core": ("view",),
        "payments": ("view",),
    },
}
DEFAULT_ACTIONS = {"view", "add", "change", "delete"}


def roles_sync(apps=None) -> None:
    """Create the role groups if missing and grant them what ``ROLE_GRANTS`` and the apps'
    ``role_permissions`` say (additive)."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name in ROLES:
        group, _ = group_model.objects.get_or_create(name=name)
        grants = dict(ROLE_GRANTS.get(name, {}))
        for config in apps.get_app_configs():
            actions = (getattr(config, "role_grants", None) or {}).get(name)
            if actions:
                grants[config.label] = actions
        for app_label, actions in grants.items():
            defaults = [a for a in actions if a in DEFAULT_ACTIONS]
            extra = [a for a in actions if a not in DEFAULT_ACTIONS]
            permissions = permission_model.objects.filter(content_type__app_label=app_label)
            wanted = [
                p
                for p in permissions
                if p.codename.split("_", 1)[0] in defaults or p.codename in extra
            ]
            group.permissions.add(*wanted)
        for config in apps.get_app_configs():
            codenames = (getattr(config, "role_permissions", None) or {}).get(name)
            if codenames:
                group.permissions.add(
                    *permission_model.objects.filter(
                        content_type__app_label=config.label, codename__in=codenames
                    )
                )


def sync_after_migrate(sender, **kwargs) -> None:
    """post_migrate is sent once per app, in INSTALLED_APPS order, and auth creates each app's
    permissions in its own receiver: only when the last app's signal comes do all exist. (Apps
    without models get no signal.)"""
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender is with_models[-1]:
        roles_sync()
