"""Staff roles are Django groups, created by a data migration and kept by ``roles_sync``."""

from __future__ import annotations

OPERATOR = "Operator"
ACCOUNTANT = "Accountant"
CLINIC_STAFF = "Clinic staff"
ROLES = (OPERATOR, ACCOUNTANT, CLINIC_STAFF)


def roles_sync(apps=None) -> None:
    """Create the role groups if missing. Each app grants its own permissions to them."""
    from django.contrib.auth.models import Group

    group_model = apps.get_model("auth", "Group") if apps is not None else Group
    for name in ROLES:
        group_model.objects.get_or_create(name=name)
