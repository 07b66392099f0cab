"""Operators work the exception queue here: filter, acknowledge in bulk, resolve with a note.

The list opens on what needs a person (open and acknowledged cases). A case whose decision lives
elsewhere (its subject's admin says so through ``exception_case_decision(request, case)``, e.g. a
payout's refund drift) links to that decision and offers no bare resolve. Every change goes
through ``exceptionqueue.services``; the admin itself edits nothing.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin_base import OrganizationScopedAdmin, actor_label, admin_refusal
from core.errors import DomainError
from exceptionqueue import services
from exceptionqueue.models import ExceptionCase, ExceptionCaseEvent


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    BUCKETS = {
        "1h": ("less than an hour", None, dt.timedelta(hours=1)),
        "1d": ("less than a day", None, dt.timedelta(days=1)),
        "1d+": ("older than a day", dt.timedelta(days=1), None),
        "7d+": ("older than a week", dt.timedelta(days=7), None),
        "30d+": ("older than 30 days", dt.timedelta(days=30), None),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _, _) in self.BUCKETS.items()]

    def queryset(self, request, queryset):
        bucket = self.BUCKETS.get(self.value() or "")
        if bucket is None:
            return queryset
        _, older_than, younger_than = bucket
        now = timezone.now()
        if older_than is not None:
            queryset = queryset.filter(created_at__lte=now - older_than)
        if younger_than is not None:
            queryset = queryset.filter(created_at__gt=now - younger_than)
        return queryset


class ActiveFilter(admin.SimpleListFilter):
    """Default view: what still needs a person (open and acknowledged); "All" is a choice."""

    title = "state"
    parameter_name = "state"
    DEFAULT = "active"

    def lookups(self, request, model_admin):
        return [
            ("active", "Needs a person (open, acknowledged)"),
            ("closed", "Closed"),
            ("all", "All"),
        ]

    def value(self):
        value = super().value()
        return value if value in ("active", "closed", "all") else self.DEFAULT

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(status__in=ExceptionCase.ACTIVE_STATUSES)
        if self.value() == "closed":
            return queryset.exclude(status__in=ExceptionCase.ACTIVE_STATUSES)
        return queryset


class ResolutionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("resolve", "Resolved: the problem was fixed"), ("dismiss", "Dismissed")],
        widget=forms.RadioSelect,
        initial="resolve",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="What was done (kept in the audit trail).",
    )


class ExceptionCaseEventInline(admin.TabularInline):
    model = ExceptionCaseEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "action", "from_status", "to_status", "who", "comment", "request_id"]
    readonly_fields = fields

    @admin.display(description="actor")
    def who(self, event):
        return actor_label(event.actor)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(OrganizationScopedAdmin):
    list_display = [
        "id",
        "kind",
        "severity",
        "status",
        "organization",
        "branch_code",
        "subject_link",
        "amount_display",
        "blocking",
        "age",
    ]
    list_filter = [
        ActiveFilter,
        "status",
        "kind",
        "severity",
        "blocking",
        AgeFilter,
        ("branch", admin.RelatedOnlyFieldListFilter),
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["dedup_key", "message", "subject_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "branch", "subject_type"]
    actions = ["acknowledge_selected"]
    inlines = [ExceptionCaseEventInline]
    change_form_template = "exceptionqueue/admin/change_form.html"
    fieldsets = [
        (None, {"fields": ["kind", "severity", "status", "blocking", "message"]}),
        (
            "Where",
            {"fields": ["organization", "branch", "subject_link", "period_start", "period_end"]},
        ),
        ("Amounts", {"fields": ["amount", "currency", "details"]}),
        (
            "Lifecycle",
            {
                "fields": [
                    "dedup_key",
                    "occurrences",
                    "raised_by_label",
                    "created_at",
                    "last_seen_at",
                    "acknowledged_by_label",
                    "acknowledged_at",
                    "closed_by_label",
                    "closed_at",
                    "resolution_note",
                    "auto_resolved",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False  # cases are raised by the domains, through exception_raise

    def get_list_display(self, request):
        # The organisation column only for someone who sees several.
        columns = list(super().get_list_display(request))
        if self.get_queryset(request).values("organization").distinct().count() <= 1:
            columns.remove("organization")
        return columns

    @admin.display(description="branch", ordering="branch__code")
    def branch_code(self, obj: ExceptionCase):
        return obj.branch.code if obj.branch_id else "\u2014"

    @admin.display(description="raised by")
    def raised_by_label(self, obj: ExceptionCase):
        return actor_label(obj.raised_by)

    @admin.display(description="acknowledged by")
    def acknowledged_by_label(self, obj: ExceptionCase):
        return actor_label(obj.acknowledged_by) if obj.acknowledged_by_id else "\u2014"

    @admin.display(description="closed by")
    def closed_by_label(self, obj: ExceptionCase):
        return actor_label(obj.closed_by) if obj.closed_by_id else "\u2014"

    def case_decision(self, request, case: ExceptionCase):
        """``(label, url)`` when the subject's admin says the case is decided there, else None."""
        if case.subject_type_id is None:
            return None
        model = case.subject_type.model_class()
        try:
            subject_admin = self.admin_site.get_model_admin(model)
        except NotRegistered:
            return None
        decide = getattr(subject_admin, "exception_case_decision", None)
        return decide(request, case) if decide is not None else None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        case = self.get_object(request, object_id)
        if case is not None and case.is_active:
            extra_context["decision"] = self.case_decision(request, case)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="subject")
    def subject_link(self, obj: ExceptionCase):
        if obj.subject_type_id is None:
            return "—"
        model = obj.subject_type.model_class()
        label = f"{obj.subject_type.name} #{obj.subject_id}"
        if model is None:
            return label
        try:
            url = reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                args=[obj.subject_id],
            )
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="amount")
    def amount_display(self, obj: ExceptionCase):
        return f"{obj.amount} {obj.currency}" if obj.amount is not None else "—"

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: ExceptionCase):
        delta = timezone.now() - obj.created_at
        if delta < dt.timedelta(hours=1):
            return f"{int(delta.total_seconds() // 60)} min"
        if delta < dt.timedelta(days=2):
            return f"{int(delta.total_seconds() // 3600)} h"
        return f"{delta.days} d"

    @admin.action(description="Acknowledge selected open exceptions", permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        done = services.exception_bulk_acknowledge(
            cases=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        skipped = queryset.count() - len(done)
        self.message_user(request, f"Acknowledged {len(done)} exception(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} were not open and were left as they are.", messages.WARNING
            )

    def get_urls(self):
        urls = super().get_urls()
        custom = [
            path(
                "<int:object_id>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="exceptionqueue_exceptioncase_resolve",
            ),
            path(
                "<int:object_id>/acknowledge/",
                self.admin_site.admin_view(self.acknowledge_view),
                name="exceptionqueue_exceptioncase_acknowledge",
            ),
        ]
        return custom + urls

    def _get_case_or_404(self, request, object_id) -> ExceptionCase:
        from django.shortcuts import get_object_or_404

        return get_object_or_404(self.get_queryset(request), pk=object_id)

    def _change_url(self, case: ExceptionCase) -> str:
        return reverse("admin:exceptionqueue_exceptioncase_change", args=[case.pk])

    def acknowledge_view(self, request, object_id):
        case = self._get_case_or_404(request, object_id)
        if request.method != "POST":
            raise PermissionDenied
        if not self.has_change_permission(request, case):
            return admin_refusal(
                request,
                self,
                "You may not acknowledge exception cases: it needs the permission to change "
                "exception cases (the Operator and Accountant roles hold it).",
                title=f"Exception #{case.pk}",
                links=[("Back to the case", self._change_url(case))],
            )
        try:
            services.exception_acknowledge(case=case, actor=request.user)
            self.message_user(request, "Acknowledged.", messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(self._change_url(case))

    def resolve_view(self, request, object_id):
        case = self._get_case_or_404(request, object_id)
        if not self.has_change_permission(request, case):
            return admin_refusal(
                request,
                self,
                "You may not resolve exception cases: it needs the permission to change "
                "exception cases (the Operator and Accountant roles hold it).",
                title=f"Exception #{case.pk}",
                links=[("Back to the case", self._change_url(case))],
            )
        decision = self.case_decision(request, case) if case.is_active else None
        if decision is not None:
            return admin_refusal(
                request,
                self,
                "This case is resolved by its decision, not by a note: "
                f"{case.get_kind_display()} closes when the decision is made.",
                title=f"Exception #{case.pk}",
                status=409,
                links=[decision, ("Back to the case", self._change_url(case))],
            )
        form = ResolutionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            service = (
                services.exception_resolve
                if form.cleaned_data["outcome"] == "resolve"
                else services.exception_dismiss
            )
            try:
                service(case=case, actor=request.user, note=form.cleaned_data["note"])
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Exception #{case.pk} closed.", messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(case))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "case": case,
            "form": form,
            "title": f"Resolve exception #{case.pk}",
        }
        return TemplateResponse(request, "exceptionqueue/admin/resolve.html", context)
