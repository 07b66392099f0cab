"""Webhooks in the admin: create (secret shown once), rotate, replay; every change via services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tests.factories import emit_payment_verified, make_endpoint

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_create_endpoint_shows_the_secret_once(admin_client, organization, receiver):
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"organization": organization.pk, "url": receiver.url, "event_types": "payout.*, *"},
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["payout.*", "*"]
    assert any(endpoint.secret in m for m in messages_of(response))
    page = admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in page.content.decode()


def test_create_refuses_private_urls(admin_client, organization, settings):
    settings.PAYOPS_WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"organization": organization.pk, "url": "http://127.0.0.1/x", "event_types": "*"},
    )
    assert response.status_code == 200
    assert "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotate_action(admin_client, organization, system_user, receiver):
    endpoint = make_endpoint(organization, receiver.url, system_user)
    old = endpoint.secret
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.previous_secret == old
    assert any(endpoint.secret in m for m in messages_of(response))


def test_replay_actions_and_range_form(admin_client, organization, system_user, receiver):
    make_endpoint(organization, receiver.url, system_user)
    receiver.answer(410)
    event = emit_payment_verified(organization)
    delivery = event.deliveries.get()
    services.delivery_attempt(delivery_id=delivery.pk)
    services.endpoint_update(endpoint=delivery.endpoint, enabled=True, actor=system_user)

    for name in ["webhookevent", "webhookdelivery", "webhookattempt", "webhookendpoint"]:
        assert admin_client.get(reverse(f"admin:webhooks_{name}_changelist")).status_code == 200
    assert (
        admin_client.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk])).status_code
        == 200
    )
    assert (
        admin_client.get(
            reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])
        ).status_code
        == 200
    )

    url = reverse("admin:webhooks_webhookdelivery_replay_failed")
    assert admin_client.get(url).status_code == 200
    now = timezone.localtime()
    response = admin_client.post(
        url,
        {
            "organization": organization.pk,
            "start": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "end": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.replays == 1

    services.delivery_attempt(delivery_id=delivery.pk)
    admin_client.post(
        reverse("admin:webhooks_webhookevent_changelist"),
        {"action": "replay_events", "_selected_action": [event.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.replays == 2


def test_replay_needs_change_rights_on_deliveries(client, django_user_model, organization):
    from django.contrib.auth.models import Permission

    from core.models import Membership

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_webhookdelivery"))
    Membership.objects.create(user=viewer, organization=organization)
    client.force_login(viewer)
    url = reverse("admin:webhooks_webhookdelivery_replay_failed")
    assert client.get(reverse("admin:webhooks_webhookdelivery_changelist")).status_code == 200
    assert client.get(url).status_code == 403
    viewer.user_permissions.add(*Permission.objects.filter(codename="change_webhookdelivery"))
    client.force_login(django_user_model.objects.get(pk=viewer.pk))
    assert client.get(url).status_code == 200


def test_the_endpoint_page_shows_a_fingerprint_not_part_of_the_secret(
    admin_client, organization, system_user, receiver
):
    from webhooks import signing

    endpoint = make_endpoint(organization, receiver.url, system_user)
    page = admin_client.get(
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    ).content.decode()
    assert signing.fingerprint(endpoint.secret) in page
    assert endpoint.secret[:10] not in page  # the old hint: whsec_ and 4 characters
    assert f"…{endpoint.secret[-4:]}" not in page


def test_staff_see_only_their_organisations_events_and_attempts(
    client, django_user_model, organization, other_organization
):
    from django.contrib.auth.models import Permission

    from core.models import Membership

    user = django_user_model.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_webhookevent", "view_webhookattempt"])
    )
    Membership.objects.create(user=user, organization=organization)
    mine = emit_payment_verified(organization, payment_id=11)
    theirs = emit_payment_verified(other_organization, payment_id=22)
    client.force_login(user)
    page = client.get("/admin/webhooks/webhookevent/").content.decode()
    assert mine.pk in page
    assert theirs.pk not in page
    assert "Gyumri Bakery" not in page  # not even as a filter choice
    assert client.get("/admin/webhooks/webhookattempt/").status_code == 200
