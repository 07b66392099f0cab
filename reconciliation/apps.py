from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"
    # Roles (core.roles): actions on every reconciliation model; the accounting period's close
    # and reopen permissions are granted to Accountants by the kernel (a kernel model).
    role_grants = {
        "Operator": ("view", "change"),
        "Accountant": ("view", "add", "change"),
    }

    def ready(self) -> None:
        from core.accounting import register_close_blocker
        from core.duework import register_due_work
        from exceptionqueue.kinds import register_exception_kinds
        from payments import hooks
        from reconciliation import selectors, services
        from reconciliation.exception_kinds import KINDS

        register_exception_kinds(*KINDS)
        hooks.subscribe(services.on_payment_change)
        register_due_work("reconciliation.nightly", services.reconciliation_due_work)
        register_close_blocker("reconciliation.imports", selectors.reports_unfinished_blockers)
