from django.apps import AppConfig, apps

# Role -> permissions of this app, granted after every migrate by core.roles.
ROLE_PERMISSIONS = {
    "Operator": [
        "view_customer",
        "change_customer",
        "pause_dunning",
        "view_plan",
        "view_subscription",
        "override_entitlement",
        "view_billingperiod",
        "view_manualreviewperiod",
        "decide_billing_period",
        "view_attempt",
        "view_notification",
        "view_billingevent",
        "view_billingsettings",
    ],
    "Accountant": [
        "view_customer",
        "view_plan",
        "view_subscription",
        "view_billingperiod",
        "view_attempt",
        "view_notification",
        "view_billingevent",
        "view_billingsettings",
        "change_billingsettings",
    ],
}


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Subscriptions"
    role_permissions = ROLE_PERMISSIONS

    def ready(self) -> None:
        from billing import errors  # noqa: F401  (the catalogue, for the schema)
        from billing.events import EVENT_TYPES
        from billing.exception_kinds import KINDS, RETRY_LIMIT_REACHED
        from billing.services import billing_due_work, on_payment_change
        from billing.services.horizon import billing_clock_horizon
        from billing.services.review import review_case_close_guard
        from core.clock import register_clock_horizon
        from core.duework import register_due_work
        from exceptionqueue.kinds import register_close_guard, register_exception_kinds
        from payments import hooks
        from webhooks.registry import register_event_types

        register_exception_kinds(*KINDS)
        register_close_guard(RETRY_LIMIT_REACHED, review_case_close_guard)
        register_event_types(*EVENT_TYPES)
        hooks.subscribe(on_payment_change)
        if apps.is_installed("desk"):  # its period section and export sheet on the desk
            from billing.desk import register as desk_register

            desk_register()
        register_due_work("billing.due", billing_due_work)
        register_clock_horizon("billing.plans", billing_clock_horizon)

    def seed_demo(self, stdout) -> None:
        from billing.demo import seed_demo

        seed_demo(stdout=stdout)
