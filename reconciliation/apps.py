from django.apps import AppConfig

# Role -> permissions of this app and of the kernel's accounting period, granted after every
# migrate by core.roles (the reconciliation models' view/add/change come from ROLE_GRANTS).
ROLE_PERMISSIONS = {
    "Operator": ["view_accountingperiod"],
    "Accountant": [
        "view_accountingperiod",
        "add_accountingperiod",
        "close_accountingperiod",
        "reopen_accountingperiod",
    ],
}


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"
    role_permissions = ROLE_PERMISSIONS

    def ready(self) -> None:
        from core.accounting import register_close_blocker
        from core.duework import register_due_work
        from exceptionqueue.kinds import register_exception_kinds
        from payments import hooks
        from reconciliation import selectors, services
        from reconciliation.exception_kinds import KINDS
        from webhooks.registry import register_event_types

        register_exception_kinds(*KINDS)
        hooks.subscribe(services.on_payment_change)
        register_due_work("reconciliation.nightly", services.reconciliation_due_work)
        register_close_blocker("reconciliation.imports", selectors.reports_unfinished_blockers)
        register_event_types("accounting_period.closed")
