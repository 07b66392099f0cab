from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Organisations and access"

    def ready(self) -> None:
        from core import (
            checks,  # noqa: F401  (registers the deploy checks)
            lookups,  # noqa: F401  (registers ``__any_of``)
        )
        from core.audit_guard import guard_after_migrate
        from core.roles import sync_after_migrate

        post_migrate.connect(sync_after_migrate, dispatch_uid="payops.roles")
        post_migrate.connect(guard_after_migrate, dispatch_uid="payops.audit_guard")
        from django.core.signals import request_finished

        from core.middleware import clear_request_id

        request_finished.connect(clear_request_id, dispatch_uid="payops.request_id")
