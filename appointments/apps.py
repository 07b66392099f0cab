from django.apps import AppConfig, apps

# Role -> permissions of this app, granted after every migrate by core.roles. The customer
# context (name, phone) is seen only through view_customer_context: clinic staff alone.
ROLE_PERMISSIONS = {
    "Clinic staff": [
        "view_appointment",
        "view_appointmentslot",
        "view_appointmentevent",
        "view_paymentrequest",
        "view_cancellationpolicy",
        "add_cancellationpolicy",
        "view_appointmentreconciliation",
        "view_customer_context",
        "transfer_appointment",
        "cancel_appointment",
        "mark_appointment_no_show",
        "complete_appointment",
        "refund_appointment",
        "forfeit_paymentrequest",
    ],
    "Operator": [
        "view_appointment",
        "view_appointmentslot",
        "view_appointmentevent",
        "view_paymentrequest",
        "view_cancellationpolicy",
        "view_appointmentreconciliation",
        "cancel_appointment",
        "mark_appointment_no_show",
        "complete_appointment",
        "refund_appointment",
        "override_refund_policy",
        "forfeit_paymentrequest",
        "accept_paymentrequest",
    ],
    "Accountant": [
        "view_appointment",
        "view_paymentrequest",
        "view_appointmentevent",
        "view_cancellationpolicy",
        "view_appointmentreconciliation",
    ],
}


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointment payments"
    role_permissions = ROLE_PERMISSIONS

    def ready(self) -> None:
        from appointments import (
            errors,  # noqa: F401  (the catalogue, for the schema)
            services,
        )
        from appointments.events import EVENT_TYPES
        from appointments.exception_kinds import (
            CANCELLED_PAID_UNDECIDED,
            KINDS,
            LATE_APPOINTMENT_PAYMENT,
            NO_SHOW_PAID_UNDECIDED,
        )
        from appointments.services.payment_requests import undecided_case_close_guard
        from core.duework import register_due_work
        from exceptionqueue.kinds import register_close_guard, register_exception_kinds
        from payments import hooks
        from webhooks.registry import register_event_types

        register_exception_kinds(*KINDS)
        for kind in (LATE_APPOINTMENT_PAYMENT, CANCELLED_PAID_UNDECIDED, NO_SHOW_PAID_UNDECIDED):
            register_close_guard(kind, undecided_case_close_guard)
        hooks.subscribe(services.on_payment_change)
        register_event_types(*EVENT_TYPES)
        if apps.is_installed("desk"):  # its period section and export sheet on the desk
            from appointments.desk import register as desk_register

            desk_register()
        register_due_work("appointments.expire", services.payment_requests_expire_due)

    def seed_demo(self, stdout) -> None:
        from appointments.demo import seed_demo

        seed_demo(stdout=stdout)
