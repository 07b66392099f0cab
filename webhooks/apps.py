from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Role -> permissions of this app (granted after every migrate; see core.roles).
ROLE_PERMISSIONS = {
    "Operator": [
        "view_webhookendpoint",
        "change_webhookendpoint",
        "add_webhookendpoint",
        "view_webhookevent",
        "view_webhookdelivery",
        "view_webhookattempt",
    ],
}


def grant_role_permissions(sender, **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="webhooks", codename__in=codenames)
        )


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        post_migrate.connect(grant_role_permissions, sender=self)
