"""Who may open what on the desk: staff logins, their organisations, their permissions."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from core.errors import DomainError
from desk.refusals import refusal_texts
from desk.selectors import desk_default_organization, desk_organization, desk_organizations

VIEW = "core.view_accountingperiod"
CLOSE = "core.close_accountingperiod"
REOPEN = "core.reopen_accountingperiod"
CREATE = "core.add_accountingperiod"
RESOLVE = "exceptionqueue.change_exceptioncase"
IMPORT = "reconciliation.add_providerreport"


def desk_view(view):
    """Login (a staff account), the organisation of the URL (a membership, else 404), and the
    permission to look at accounting periods (else 403)."""

    @wraps(view)
    def wrapper(request, slug, *args, **kwargs):
        user = request.user
        if not user.is_authenticated or not user.is_active or not user.is_staff:
            return redirect_to_login(request.get_full_path(), "desk:login")
        organization = desk_organization(user=user, slug=slug)
        if not user.has_perm(VIEW):
            raise PermissionDenied(_("You may not look at accounting periods."))
        request.desk_organization = organization
        request.session["desk_organization"] = organization.slug
        return view(request, organization, *args, **kwargs)

    return wrapper


def require(request, permission: str, sentence: str) -> None:
    """Refuse (403) a POST by someone without ``permission``: never trust a hidden button."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(sentence)


def refusal(request, exc: DomainError) -> None:
    """A service said no: show its sentence and every reason it listed, in the person's
    language (``desk.refusals``)."""
    sentence, reasons = refusal_texts(exc.code, exc.message, exc.fields)
    messages.error(request, sentence, extra_tags=f"code-{exc.code}")
    for reason in reasons:
        messages.warning(request, reason)


def organizations_for(user):
    return list(desk_organizations(user=user)) if user.is_authenticated else []


def home_redirect(request):
    organizations = organizations_for(request.user)
    wanted = request.session.get("desk_organization")
    chosen = next((o for o in organizations if o.slug == wanted), None) or (
        desk_default_organization(user=request.user)
    )
    if chosen is None:
        return None
    return redirect("desk:periods", slug=chosen.slug)
