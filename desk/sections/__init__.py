"""The desk's own period sections and export sheets (payments, payouts, exceptions,
reconciliation), registered like any domain's in ``DeskConfig.ready()``."""

from django.utils.translation import gettext_noop

from desk.registry import register_export_sheet, register_period_section
from desk.sections import exceptions, payments, payouts, reconciliation


def register_builtin() -> None:
    register_period_section(
        "payments",
        title=gettext_noop("Payments and refunds"),
        template="desk/sections/payments.html",
        context=payments.section,
        order=10,
    )
    register_period_section(
        "payouts",
        title=gettext_noop("Payouts"),
        template="desk/sections/payouts.html",
        context=payouts.section,
        order=20,
    )
    register_period_section(
        "exceptions",
        title=gettext_noop("Exception cases"),
        template="desk/sections/exceptions.html",
        context=exceptions.section,
        order=60,
    )
    register_period_section(
        "reconciliation",
        title=gettext_noop("Reconciliation"),
        template="desk/sections/reconciliation.html",
        context=reconciliation.section,
        order=70,
    )
    for sheet in (*payments.SHEETS, *payouts.SHEETS, *reconciliation.SHEETS):
        register_export_sheet(**sheet)
