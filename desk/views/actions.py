"""Writes from the desk, each through its owner's service, each permission checked here."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.errors import DomainError
from desk.selectors import desk_organizations, desk_period
from desk.views.access import CLOSE, CREATE, REOPEN, RESOLVE, desk_view, refusal, require
from exceptionqueue.kinds import exception_kind
from exceptionqueue.selectors import exception_list
from exceptionqueue.services import exception_resolve
from reconciliation.services import (
    NOT_ENDED,
    accounting_period_blockers,
    accounting_period_close,
    accounting_period_month,
    accounting_period_reopen,
)
from reconciliation.texts import period_not_ended_sentence


def _blocker_reason(blocker: dict) -> str:
    """``<kind's label> #<id>: <message>`` (the service's refusal names the kind's code)."""
    try:
        kind = str(exception_kind(blocker["kind"]).label)
    except LookupError:  # a domain's own blocker (not an exception case)
        kind = blocker["kind"]
    return f"{kind} #{blocker['id']}: {blocker['message']}"


def _period_label(period) -> str:
    start, end = (date_format(d, "SHORT_DATE_FORMAT") for d in (period.start, period.end))
    return f"{start} \N{EN DASH} {end}"


@desk_view
@require_POST
def close(request, organization, period_id: int):
    require(request, CLOSE, _("Only accountants close accounting periods."))
    period = desk_period(organization=organization, period_id=period_id)
    try:
        accounting_period_close(period=period, actor=request.user)
    except DomainError as exc:
        if exc.code in (NOT_ENDED, "period_blocked"):
            # The blockers as the refusal found them, named by their kinds' labels.
            blockers = accounting_period_blockers(period=period)
            reasons = [_blocker_reason(b) for b in blockers if b["kind"] != NOT_ENDED]
            if exc.code == NOT_ENDED:
                messages.error(
                    request, period_not_ended_sentence(period), extra_tags=f"code-{exc.code}"
                )
            else:
                reasons = reasons or (exc.fields or {}).get("blocking_cases", [])
                messages.error(
                    request,
                    ngettext(
                        "The period was not closed: %(n)s blocking case is still open. "
                        "Resolve it below, then close again.",
                        "The period was not closed: %(n)s blocking cases are still open. "
                        "Resolve them below, then close again.",
                        len(reasons),
                    )
                    % {"n": len(reasons)},
                )
            for reason in reasons:
                messages.warning(request, reason)
        else:
            refusal(request, exc)
    else:
        messages.success(
            request, _("Period %(period)s is closed.") % {"period": _period_label(period)}
        )
    return redirect("desk:period", slug=organization.slug, period_id=period.pk)


@desk_view
@require_POST
def reopen(request, organization, period_id: int):
    require(request, REOPEN, _("Only accountants reopen accounting periods."))
    period = desk_period(organization=organization, period_id=period_id)
    try:
        accounting_period_reopen(
            period=period, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        refusal(request, exc)
    else:
        messages.success(
            request, _("Period %(period)s is open again.") % {"period": _period_label(period)}
        )
    return redirect("desk:period", slug=organization.slug, period_id=period.pk)


@desk_view
@require_POST
def resolve_case(request, organization, case_id: int):
    require(request, RESOLVE, _("You may not resolve exception cases."))
    case = exception_list(organization=organization).filter(pk=case_id).first()
    if case is None:
        raise Http404("No such case.")
    try:
        exception_resolve(case=case, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as exc:
        refusal(request, exc)
    else:
        messages.success(request, _("Case #%(id)s is resolved.") % {"id": case.pk})
    period_id = request.POST.get("period")
    if period_id and period_id.isdigit():
        return redirect("desk:period", slug=organization.slug, period_id=int(period_id))
    return redirect("desk:periods", slug=organization.slug)


@desk_view
@require_POST
def create_period(request, organization):
    require(request, CREATE, _("You may not open accounting periods."))
    try:
        month = dt.date.fromisoformat(f"{request.POST.get('month', '')}-01")
    except ValueError:
        messages.error(request, _("Choose a month."))
        return redirect("desk:periods", slug=organization.slug)
    try:
        period = accounting_period_month(organization=organization, day=month, actor=request.user)
    except DomainError as exc:
        refusal(request, exc)
        return redirect("desk:periods", slug=organization.slug)
    return redirect("desk:period", slug=organization.slug, period_id=period.pk)


@login_required(login_url="desk:login")
@require_POST
def switch(request):
    """The organisation switcher: only to an organisation the person is a member of."""
    slug = request.POST.get("organization", "")
    if not desk_organizations(user=request.user).filter(slug=slug).exists():
        raise Http404("No such organisation.")
    request.session["desk_organization"] = slug
    return redirect("desk:periods", slug=slug)
