from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from exceptionqueue.kinds import register_exception_kinds
        from webhooks.exception_kinds import KINDS

        register_exception_kinds(*KINDS)
