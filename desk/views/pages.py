"""Reading pages: home, the periods list, the period page, the exports."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET

from desk.exports import period_csv, period_xlsx
from desk.registry import period_sections
from desk.selectors import (
    HEADLINE,
    desk_period,
    period_blockers,
    period_bounds,
    period_overview,
    periods_of,
)
from desk.views.access import CLOSE, CREATE, REOPEN, RESOLVE, desk_view, home_redirect
from exceptionqueue.models import ExceptionCase
from reconciliation.services import NOT_ENDED, accounting_period_closable_from

FIGURE_LABELS = {
    "verified": gettext_noop("Verified"),
    "refunded": gettext_noop("Refunded"),
    "fees": gettext_noop("Fees"),
    "paid_out": gettext_noop("Paid out"),
    "in_flight": gettext_noop("In flight"),
    "adjustments": gettext_noop("Adjustments"),
}


def figure_labels() -> list[tuple[str, str]]:
    return [(name, _(FIGURE_LABELS[name])) for name in HEADLINE]


@login_required(login_url="desk:login")
@require_GET
def home(request):
    target = home_redirect(request)
    if target is not None:
        return target
    return render(request, "desk/no_organization.html", status=403)


@desk_view
@require_GET
def periods(request, organization):
    rows = [period_overview(p) for p in periods_of(organization)]
    return render(
        request,
        "desk/periods.html",
        {
            "organization": organization,
            "overviews": rows,
            "nav": "periods",
            "labels": figure_labels(),
            "can_create": request.user.has_perm(CREATE),
        },
    )


@desk_view
@require_GET
def period(request, organization, period_id: int):
    period = desk_period(organization=organization, period_id=period_id)
    lo, hi = period_bounds(period)
    sections = []
    for section in period_sections():
        context = section.context(
            period=period, organization=organization, lo=lo, hi=hi, user=request.user
        )
        if context is None:
            continue
        context.update(period=period, organization=organization, title=_(section.title))
        sections.append(
            {
                "name": section.name,
                "title": _(section.title),
                "html": render_to_string(section.template, context, request=request),
            }
        )
    blockers = period_blockers(period)
    # "Not ended yet" is said apart from the cases (it goes away by itself at midnight).
    not_ended = any(b["kind"] == NOT_ENDED for b in blockers)
    blockers = [b for b in blockers if b["kind"] != NOT_ENDED]
    for blocker in blockers:
        if blocker.get("case") is not None:
            blocker["decision"] = case_decision(request, blocker["case"])
    return render(
        request,
        "desk/period.html",
        {
            "organization": organization,
            "period": period,
            "nav": "periods",
            "overview": period_overview(period),
            "labels": figure_labels(),
            "blockers": blockers,
            "not_ended": not_ended,
            "closable_from": accounting_period_closable_from(period=period),
            "sections": sections,
            "can_close": request.user.has_perm(CLOSE),
            "can_reopen": request.user.has_perm(REOPEN),
            "can_resolve": request.user.has_perm(RESOLVE),
        },
    )


def case_decision(request, case):
    """``(label, url)`` when the case is decided elsewhere (a payout's refund drift is decided on
    the payout), as the exception queue's admin asks the subject's admin; else None."""
    try:
        case_admin = admin.site.get_model_admin(ExceptionCase)
    except NotRegistered:
        return None
    return case_admin.case_decision(request, case)


def _filename(period, ext: str) -> str:
    return f"payops-{period.organization.slug}-{period.start:%Y-%m-%d}-{period.end:%Y-%m-%d}.{ext}"


@desk_view
@require_GET
def export_csv(request, organization, period_id: int):
    period = desk_period(organization=organization, period_id=period_id)
    response = StreamingHttpResponse(period_csv(period), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(period, "csv")}"'
    return response


@desk_view
@require_GET
def export_xlsx(request, organization, period_id: int):
    period = desk_period(organization=organization, period_id=period_id)
    return FileResponse(
        period_xlsx(period),
        as_attachment=True,
        filename=_filename(period, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
