from django.apps import AppConfig


class ExceptionqueueConfig(AppConfig):
    name = "exceptionqueue"
    verbose_name = "Exception queue"
