from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OpsConfig(AppConfig):
    """What the people who run payops need: the admin's second factor, metrics."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from celery.signals import task_failure

        from ops.metrics import record_task_failure

        task_failure.connect(record_task_failure, weak=False, dispatch_uid="payops.metrics")


class PayopsAdminConfig(AdminConfig):
    """``django.contrib.admin`` with payops' admin site (a second factor for money movers)."""

    default_site = "ops.admin_site.PayopsAdminSite"
