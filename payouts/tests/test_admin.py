from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from core.models import Membership
from payouts import services
from payouts.models import Payout
from payouts.tests.factories import paid, today


@pytest.fixture
def payout(organization, recipient, qr, actor):
    paid(qr, "700.00")
    day = today(organization)
    return services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )


def staff(organization, *codenames, name="clerk"):
    user = User.objects.create_user(name, password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="payouts", codename__in=["view_payout", *codenames]
        )
    )
    return user


def transition_url(payout, to):
    return reverse("admin:payouts_payout_transition", args=[payout.pk, to])


def test_crafted_post_without_permission_is_refused(client, organization, payout):
    client.force_login(staff(organization))  # may view payouts, not move them
    page = client.get(reverse("admin:payouts_payout_change", args=[payout.pk]))
    assert page.status_code == 200
    assert b"Start processing" not in page.content
    response = client.post(transition_url(payout, "processing"), {"comment": "crafted"})
    assert response.status_code == 403
    # The stock change form POST cannot move the protected state either.
    client.post(
        reverse("admin:payouts_payout_change", args=[payout.pk]),
        {"status": "completed", "_fsm_transition_to": "complete"},
    )
    payout.refresh_from_db()
    assert payout.status == "requested"
    assert payout.events.count() == 1


def test_operator_moves_a_payout_with_method_and_reference(client, organization, payout):
    client.force_login(staff(organization, "process_payout", "complete_payout"))
    page = client.get(reverse("admin:payouts_payout_change", args=[payout.pk]))
    assert b"Start processing" in page.content
    assert client.post(transition_url(payout, "processing"), {}).status_code == 302
    form = client.post(transition_url(payout, "completed"), {"method": "cash"})
    assert form.status_code == 200  # the service refuses, in the API's words
    assert b"Completing a payout needs the method and the reference." in form.content
    assert b"Required to complete." in form.content
    payout.refresh_from_db()
    assert payout.status == "processing"
    done = client.post(
        transition_url(payout, "completed"), {"method": "cash", "reference": "CASH-12"}
    )
    assert done.status_code == 302
    payout.refresh_from_db()
    assert (payout.status, payout.method, payout.reference) == ("completed", "cash", "CASH-12")
    event = payout.events.last()
    assert event.actor.username == "clerk"
    assert event.reference == "CASH-12"


def test_permission_for_one_transition_is_not_another(client, organization, payout):
    client.force_login(staff(organization, "process_payout"))
    assert client.post(transition_url(payout, "cancelled"), {}).status_code == 403
    assert Payout.objects.get().status == "requested"


def test_other_organisations_payouts_are_invisible(client, other_organization, payout):
    client.force_login(staff(other_organization, "process_payout"))
    response = client.post(transition_url(payout, "processing"), {})
    assert response.status_code == 404
    assert Payout.objects.get().status == "requested"


def test_history_revert_post_is_refused(admin_client, payout):
    version = payout.history.first()
    url = reverse("admin:payouts_payout_simple_history", args=[payout.pk, version.history_id])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"status": "cancelled"}).status_code == 403


def test_operator_role_gets_the_transition_permissions(organization):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # post_migrate grants the roles' permissions
    operator = Group.objects.get(name="Operator")
    codenames = set(operator.permissions.values_list("codename", flat=True))
    assert {"process_payout", "complete_payout", "cancel_payout"} <= codenames


def test_admin_pages_render(admin_client, payout):
    for name in ("recipient", "qrcode", "payout", "payoutperiod", "feepolicy", "payoutadjustment"):
        assert admin_client.get(reverse(f"admin:payouts_{name}_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:payouts_payout_change", args=[payout.pk]))
    assert page.status_code == 200
    assert b"Start processing</a>" in page.content
    assert b">Complete</a>" not in page.content  # not from requested
    form = admin_client.get(transition_url(payout, "processing"))
    assert form.status_code == 200
    assert b"reference" in form.content
    history = admin_client.get(reverse("admin:payouts_payout_history", args=[payout.pk]))
    assert history.status_code == 200


def test_recipient_admin_saves_through_the_service(admin_client, recipient):
    url = reverse("admin:payouts_recipient_change", args=[recipient.pk])
    response = admin_client.post(url, {"name": "Anna P.", "external_ref": "W-9", "is_active": ""})
    assert response.status_code == 302
    recipient.refresh_from_db()
    assert (recipient.name, recipient.external_ref, recipient.is_active) == (
        "Anna P.",
        "W-9",
        False,
    )
    assert recipient.history.first().history_change_reason == "changed in the admin"


def test_recipient_admin_duplicate_reference_is_an_error_not_a_500(
    admin_client, organization, branch, recipient, actor
):
    other = services.recipient_create(
        organization=organization, scope="team", name="Kitchen", branch=branch, actor=actor
    )
    url = reverse("admin:payouts_recipient_change", args=[other.pk])
    response = admin_client.post(url, {"name": "Kitchen", "external_ref": "W-1", "is_active": "on"})
    assert response.status_code == 302
    assert "already exists" in str(list(response.wsgi_request._messages))
    other.refresh_from_db()
    assert other.external_ref == ""


def test_fee_policy_can_be_added_in_the_admin(admin_client, organization):
    from payouts.models import FeePolicy

    url = reverse("admin:payouts_feepolicy_add")
    assert admin_client.get(url).status_code == 200
    body = {"organization": organization.pk, "currency": "AMD", "percentage": "2.5", "fixed": "0"}
    response = admin_client.post(url, body)
    assert response.status_code == 302, response.content[:2000]
    policy = FeePolicy.objects.get()
    assert (policy.percentage, policy.history.first().history_change_reason) == (
        2.5,
        "fee policy set",
    )
    refused = admin_client.post(url, {**body, "percentage": "120"})
    assert refused.status_code == 200  # the form again, with the error
    assert "0 to 100." in refused.content.decode()


def test_fee_policy_domain_error_in_save_is_not_a_500(admin_client, organization):
    from unittest import mock

    from core.errors import DomainError

    url = reverse("admin:payouts_feepolicy_add")
    body = {"organization": organization.pk, "currency": "AMD", "percentage": "1", "fixed": "0"}
    with mock.patch.object(
        services, "fee_policy_set", side_effect=DomainError("x", "Refused.", status_code=400)
    ):
        response = admin_client.post(url, body)
    assert response.status_code == 302
    assert "Refused." in str(list(response.wsgi_request._messages))
