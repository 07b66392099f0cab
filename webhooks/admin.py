"""Webhook endpoints, the event outbox, deliveries and the attempt log, for operators.

Every change goes through ``webhooks.services``: create (secret shown once), edit, rotate,
disable/enable, replay one event, replay the failed deliveries of a time range.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin_base import OrganizationScopedAdmin, OrganizationScopedMixin, member_organizations
from core.errors import DomainError
from core.models import Organization
from webhooks import services, signing
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


class EventTypesField(forms.CharField):
    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = EventTypesField(
        help_text='Comma-separated: "payout.completed", "payment.*" or "*".'
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "event_types", "description", "enabled"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    form = EndpointForm
    list_display = [
        "url",
        "organization",
        "event_types",
        "enabled",
        "disabled_reason",
        "created_at",
    ]
    list_filter = ["enabled", "organization"]
    search_fields = ["url", "description"]
    actions = ["rotate_secret", "disable_endpoints", "enable_endpoints"]
    readonly_fields = [
        "secret_hint",
        "disabled_reason",
        "disabled_at",
        "secret_rotated_at",
        "previous_secret_expires_at",
        "created_at",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "url", "event_types", "description"]
        return ["url", "event_types", "description", "enabled", *self.readonly_fields]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            kwargs["queryset"] = member_organizations(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # disable instead: deliveries keep their endpoint

    @admin.display(description="secret")
    def secret_hint(self, obj: WebhookEndpoint):
        # Not a single character of the secret: its fingerprint, to tell two secrets apart.
        return (
            f"{signing.fingerprint(obj.secret)} (the secret is shown once, at creation or rotation)"
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if not change:
                created = services.endpoint_create(
                    organization=data["organization"],
                    url=data["url"],
                    event_types=data["event_types"],
                    description=data.get("description", ""),
                    actor=request.user,
                )
                obj.pk = created.pk
                self.message_user(
                    request,
                    f"Signing secret (copy it now, it is not shown again): {created.secret}",
                    messages.WARNING,
                )
            else:
                services.endpoint_update(
                    endpoint=obj,
                    url=data["url"],
                    event_types=data["event_types"],
                    description=data.get("description", ""),
                    enabled=data.get("enabled"),
                    actor=request.user,
                )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc

    def save_related(self, request, form, formsets, change):
        pass  # no related rows; the service saved everything

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        original_clean = form.clean

        def clean(self_form):
            cleaned = original_clean(self_form)
            url = cleaned.get("url")
            if url and (obj is None or url != obj.url):
                try:
                    from webhooks import ssrf

                    ssrf.check_url(url)
                except DomainError as exc:
                    self_form.add_error("url", exc.message)
            try:
                services.event_types_clean(cleaned.get("event_types") or [])
            except DomainError as exc:
                self_form.add_error("event_types", exc.message)
            return cleaned

        form.clean = clean
        return form

    @admin.action(
        description="Rotate the signing secret (old one valid 24 h)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            rotated = services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
            self.message_user(
                request,
                f"New secret for {rotated.url} (copy it now, it is not shown again): "
                f"{rotated.secret}",
                messages.WARNING,
            )

    @admin.action(description="Disable selected endpoints", permissions=["change"])
    def disable_endpoints(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_disable(
                endpoint=endpoint, reason=f"disabled by {request.user}", actor=request.user
            )
        self.message_user(request, "Disabled.", messages.SUCCESS)

    @admin.action(description="Enable selected endpoints", permissions=["change"])
    def enable_endpoints(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_update(endpoint=endpoint, enabled=True, actor=request.user)
        self.message_user(request, "Enabled.", messages.SUCCESS)


class ReadOnlyAdminMixin:
    def has_replay_permission(self, request):
        """Replays change deliveries: operators with change rights on deliveries."""
        return request.user.has_perm("webhooks.change_webhookdelivery")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ["delivery_link", "endpoint", "status", "attempts", "next_attempt_at", "last_error"]
    readonly_fields = fields

    @admin.display(description="delivery")
    def delivery_link(self, obj):
        url = reverse("admin:webhooks_webhookdelivery_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["id", "event_type", "organization", "subject_type", "subject_id", "created_at"]
    list_filter = ["event_type", "organization"]
    search_fields = ["id", "subject_id"]
    date_hierarchy = "created_at"
    fields = ["id", "organization", "event_type", "subject_type", "subject_id", "dedup", "body"]
    readonly_fields = fields
    inlines = [DeliveryInline]
    actions = ["replay_events"]

    @admin.action(description="Replay selected events (same webhook-id)", permissions=["replay"])
    def replay_events(self, request, queryset):
        count = 0
        for event in queryset:
            count += len(services.event_replay(event=event, actor=request.user))
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = [
        "attempt",
        "started_at",
        "status_code",
        "duration_ms",
        "error",
        "retry_after_seconds",
        "next_attempt_at",
    ]
    readonly_fields = fields


class ReplayFailedForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    start = forms.DateTimeField(help_text="Events from (inclusive), e.g. 2025-01-31 00:00.")
    end = forms.DateTimeField(help_text="Events before (exclusive).")
    endpoint = forms.ModelChoiceField(
        queryset=WebhookEndpoint.objects.none(), required=False, help_text="All when empty."
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        organizations = member_organizations(request.user)
        self.fields["organization"].queryset = organizations
        self.fields["endpoint"].queryset = WebhookEndpoint.objects.filter(
            organization__in=organizations
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] <= cleaned["start"]:
            self.add_error("end", "Must be after start.")
        endpoint = cleaned.get("endpoint")
        if (
            endpoint
            and cleaned.get("organization")
            and endpoint.organization != cleaned["organization"]
        ):
            self.add_error("endpoint", "This endpoint belongs to another organisation.")
        return cleaned


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "id",
        "event_link",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = [
        "status",
        "event__event_type",
        ("endpoint", admin.RelatedOnlyFieldListFilter),
        "organization",
    ]
    search_fields = ["event__id"]
    date_hierarchy = "created_at"
    list_select_related = ["event", "endpoint"]
    fields = [
        "event_link",
        "endpoint",
        "status",
        "attempts",
        "round_attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "succeeded_at",
        "failed_at",
        "replays",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["replay_deliveries"]
    change_list_template = "webhooks/admin/delivery_change_list.html"

    @admin.display(description="event")
    def event_link(self, obj):
        url = reverse("admin:webhooks_webhookevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event_id)

    @admin.display(description="type", ordering="event__event_type")
    def event_type(self, obj):
        return obj.event.event_type

    @admin.action(description="Replay selected deliveries", permissions=["replay"])
    def replay_deliveries(self, request, queryset):
        count = 0
        for delivery in queryset.select_related("event", "endpoint"):
            if not delivery.endpoint.enabled:
                continue
            count += len(
                services.event_replay(
                    event=delivery.event, endpoint=delivery.endpoint, actor=request.user
                )
            )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "replay-failed/",
                self.admin_site.admin_view(self.replay_failed_view),
                name="webhooks_webhookdelivery_replay_failed",
            ),
            *super().get_urls(),
        ]

    def replay_failed_view(self, request):
        if not self.has_replay_permission(request):
            raise PermissionDenied
        form = ReplayFailedForm(request.POST or None, request=request)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            replayed = services.deliveries_replay_failed(
                organization=data["organization"],
                start=data["start"],
                end=data["end"],
                endpoint=data.get("endpoint"),
                actor=request.user,
            )
            self.message_user(
                request, f"{len(replayed)} failed deliveries queued again.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:webhooks_webhookdelivery_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Replay failed deliveries in a time range",
        }
        return TemplateResponse(request, "webhooks/admin/replay_failed.html", context)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdminMixin, OrganizationScopedMixin, admin.ModelAdmin):
    """The delivery log."""

    organization_field = "delivery__organization"

    list_display = [
        "started_at",
        "delivery",
        "attempt",
        "status_code",
        "duration_ms",
        "error",
    ]
    list_filter = ["status_code", ("delivery__endpoint", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["delivery__event__id"]
    date_hierarchy = "started_at"
    list_select_related = ["delivery"]
