from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "desk"
    verbose_name = "Accountants' desk"

    def ready(self) -> None:
        from desk.sections import register_builtin

        register_builtin()

    def seed_demo(self, stdout) -> None:
        from desk.demo import seed_demo

        seed_demo(stdout=stdout)
