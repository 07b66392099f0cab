"""Sentences about accounting periods that people read, in their language (the desk's
catalogue holds their ru and hy): the desk's close button and the admin's close action say the
same thing from here."""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.models import AccountingPeriod
from reconciliation.services import accounting_period_closable_from


def period_not_ended_sentence(period: AccountingPeriod) -> str:
    """The refusal ``period_not_ended``: when the period ends and from which day it may be
    closed (never, for a period whose last day is the calendar's)."""
    end = date_format(period.end, "SHORT_DATE_FORMAT")
    day = accounting_period_closable_from(period=period)
    if day is None:
        return _(
            "The period was not closed: it ends on %(end)s, the calendar's last day, so it "
            "can never be closed."
        ) % {"end": end}
    return _(
        "The period was not closed: it has not ended yet. It ends on %(end)s; "
        "close it from %(day)s."
    ) % {"end": end, "day": date_format(day, "SHORT_DATE_FORMAT")}
