"""Base admin classes every app uses.

- ``AuditedAdmin``: history views, but simple-history's "revert" never saves: its form view refuses
  POST outright (it would save the whole old row, state included, even with revert disabled).
- ``OrganizationScopedAdmin``: staff who are not superusers see only the rows of the
  organisations they are members of.
- Every model admin page renders in the organisation's local time zone (``admin_timezone``), and
  the header names it; a page whose fields are all read-only shows no Save buttons.
- ``ReadOnlyAdminMixin``: rows that only services write (events, runs, lines): no add, change or
  delete in the admin.
- ``admin_refusal``: a refusal (403, 409 ...) explained in the admin's layout, never a bare
  "403 Forbidden".
- ``ServiceRefusalFormMixin``: a service's refusal (``DomainError``) while the add or change
  form saves is shown on that form again, like any validation error (``domain_error_on_form``).
"""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import URLPattern
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from core.errors import DomainError


def admin_timezone(user) -> zoneinfo.ZoneInfo:
    """The time zone the admin shows ``user``: their organisations' zone (the first by name when
    they differ), else the project's ``TIME_ZONE``."""
    if user is not None and user.is_authenticated:
        zones = sorted({o.timezone for o in member_organizations(user).only("timezone")})
        if zones:
            try:
                return zoneinfo.ZoneInfo(zones[0])
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def in_admin_timezone(view):
    """Run ``view`` and render its template in the user's organisation time zone (rendered here,
    inside the override, so no date slips out in another zone)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(admin_timezone(getattr(request, "user", None))):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    return wrapper


def admin_refusal(
    request, model_admin, reason: str, *, title: str = "Not allowed", status=403, links=()
):
    """A refusal in the admin's layout: what was refused and why (and where to go instead)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "reason": reason,
        "links": list(links),
    }
    return TemplateResponse(request, "admin/payops_refused.html", context, status=status)


def actor_label(user) -> str:
    """One name per actor: an API client's service user is shown as the client's name."""
    if user is None:
        return "—"
    # The reverse one-to-one raises RelatedObjectDoesNotExist (an AttributeError) when absent.
    client = getattr(user, "api_client", None)
    if client is not None:
        return f"API client {client.name}"
    return user.get_username()


class ReadOnlyAdminMixin:
    """Rows only services write: the admin shows them and never adds, changes or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(SimpleHistoryAdmin):
    # URLs typed without a scheme are https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def _visible_or_404(self, request, object_id) -> None:
        # simple-history's views look rows up without the admin's queryset (and fall back to
        # the history of a row the user may not see): check against get_queryset first.
        try:
            visible = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, ValidationError):  # not even a valid primary key
            visible = False
        if not visible:
            raise Http404("No such object.")

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        if request.method == "POST":
            raise PermissionDenied("History is read-only: corrections go through services.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    @property
    def urls(self):
        # Every page of this model admin (custom views included) in the organisation's zone.
        patterns = self.get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = in_admin_timezone(pattern.callback)
        return patterns

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # A page whose fields are all read-only (and no editable inline) offers no Save.
        adminform = context.get("adminform")
        editable_inlines = any(
            formset.has_change_permission or formset.has_add_permission
            for formset in context.get("inline_admin_formsets", [])
        )
        if change and adminform is not None and not adminform.form.fields and not editable_inlines:
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def member_organizations(user):
    """The organisations a staff user may see: all for superusers, else their memberships."""
    from core.models import Organization

    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(members__user=user).distinct()


class OrganizationScopedMixin:
    """For any ModelAdmin: rows of the user's organisations only, organisation filters and
    foreign-key choices limited to them. ``organization_field`` is the path to the organisation
    ("organization", or e.g. "delivery__organization"); "" for Organization itself."""

    organization_field = "organization"

    def organization_lookup(self) -> str:
        prefix = f"{self.organization_field}__" if self.organization_field else ""
        return f"{prefix}members__user"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.organization_lookup(): request.user}).distinct()

    def get_list_filter(self, request):
        # A filter by organisation, branch or any other foreign key offers only the values of
        # the rows the user sees: Django's default lists every row of the related table, so an
        # operator would read other organisations' branch names in the sidebar.
        return [
            (name, admin.RelatedOnlyFieldListFilter) if self._is_foreign_key(name) else name
            for name in super().get_list_filter(request)
        ]

    def _is_foreign_key(self, name) -> bool:
        if not isinstance(name, str) or "__" in name:
            return False
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        return bool(field.many_to_one or field.one_to_one)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices limited to the user's organisations (and their rows), never all of them.
        related = db_field.related_model
        if not request.user.is_superuser and related is not None:
            if related._meta.label == "core.Organization":
                kwargs["queryset"] = related.objects.filter(members__user=request.user)
            elif any(f.name == "organization" for f in related._meta.get_fields()):
                kwargs["queryset"] = related.objects.filter(
                    organization__members__user=request.user
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OrganizationScopedAdmin(OrganizationScopedMixin, AuditedAdmin):
    """Scoped, with read-only history: the base of every admin of a model with history."""


def domain_error_on_form(form, exc: DomainError) -> None:
    """A service's refusal on a form, in the service's (the API's) words: its sentence as a
    non-field error, and each message of its ``fields`` on that field (with the sentence when
    the form has no such field)."""
    form.add_error(None, exc.message)
    for field, field_messages in (exc.fields or {}).items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


_REFUSAL = "_payops_service_refusal"


class ServiceRefusalFormMixin:
    """For a ModelAdmin whose ``save_model`` (or ``save_related``) calls a service: when the
    service refuses (``DomainError``), the add or change form is shown again (200) with the
    refusal as form errors (``domain_error_on_form``) and the user's input kept, like any
    validation error; never a 403 page, a 500 or a redirect to an empty form.

    Nothing is saved: the refusal leaves ``changeform_view``'s transaction, which rolls back.
    The view then runs once more on the same POST with a form whose validation carries the
    refusal, so Django's own code renders the form, its inlines and its errors.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            if request.method != "POST" or getattr(request, _REFUSAL, None) is not None:
                raise
            setattr(request, _REFUSAL, exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, _REFUSAL, None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                cleaned = super().clean()
                domain_error_on_form(self, refusal)
                return cleaned

        RefusedForm.__name__ = form.__name__
        return RefusedForm


__all__ = [
    "AuditedAdmin",
    "OrganizationScopedAdmin",
    "OrganizationScopedMixin",
    "ServiceRefusalFormMixin",
    "actor_label",
    "admin",
    "admin_refusal",
    "admin_timezone",
    "domain_error_on_form",
    "in_admin_timezone",
    "member_organizations",
]
