"""The operators' admin: the manual review queue and its decision form, overrides, dunning."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from billing.models import BillingPeriod, Customer
from core.duework import due_work_run
from core.models import Membership
from core.roles import roles_sync
from payments import sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def staff(organization, role=None, name="clerk"):
    user = User.objects.create_user(name, password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    if role:
        roles_sync()
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def in_review(organization, clock, subscribe, system_user):
    clock("2026-12-01", 8)
    subscription = subscribe("2026-12-01")
    due_work_run(organization=organization, now=clock("2026-12-01", 10))
    period = subscription.periods.get()
    sandbox.outcome_apply(
        payment=period.attempts.get().payment, outcome="declined", actor=system_user
    )
    period.refresh_from_db()
    assert period.status == BillingPeriod.Status.MANUAL_REVIEW
    return period


def test_operator_sees_the_queue_and_decides_with_a_comment(client, organization, in_review):
    client.force_login(staff(organization, "Operator"))
    queue = client.get(reverse("admin:billing_manualreviewperiod_changelist"))
    assert queue.status_code == 200
    assert f">{in_review.pk}<" in queue.content.decode()
    url = reverse("admin:billing_manualreviewperiod_decide", args=[in_review.pk])
    assert client.get(url).status_code == 200
    refused = client.post(url, {"decision": "waive", "comment": ""})
    assert refused.status_code == 200  # the form asks for the comment
    in_review.refresh_from_db()
    assert in_review.status == BillingPeriod.Status.MANUAL_REVIEW
    done = client.post(url, {"decision": "waive", "comment": "member moved abroad"})
    assert done.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == BillingPeriod.Status.WAIVED
    assert in_review.history.first().history_change_reason == "waived: member moved abroad"


def test_a_crafted_post_without_the_permission_changes_nothing(client, organization, in_review):
    client.force_login(staff(organization, "Accountant"))
    for url, body in [
        (reverse("admin:billing_manualreviewperiod_decide", args=[in_review.pk]),
         {"decision": "waive", "comment": "x"}),
        (reverse("admin:billing_subscription_override", args=[in_review.subscription_id]),
         {"until": "2027-01-31", "reason": "x"}),
        (reverse("admin:billing_customer_dunning", args=[in_review.subscription.customer_id]),
         {"paused": "on", "reason": "x"}),
    ]:  # fmt: skip
        assert client.post(url, body).status_code == 403, url
    in_review.refresh_from_db()
    assert in_review.status == BillingPeriod.Status.MANUAL_REVIEW
    assert in_review.subscription.entitlement_until is None
    assert not Customer.objects.get().dunning_paused


def test_operator_overrides_entitlement_and_pauses_dunning(client, organization, in_review):
    client.force_login(staff(organization, "Operator"))
    subscription = in_review.subscription
    url = reverse("admin:billing_subscription_override", args=[subscription.pk])
    assert client.post(url, {"until": "2027-01-31", "reason": "goodwill"}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.entitlement_until == dt.date(2027, 1, 31)
    assert subscription.entitlement_source == "override"
    assert subscription.entitlement_active
    url = reverse("admin:billing_customer_dunning", args=[subscription.customer_id])
    assert client.post(url, {"paused": "on", "reason": "in hospital"}).status_code == 302
    assert Customer.objects.get().dunning_paused


def test_another_organisations_operator_sees_nothing(client, other_organization, in_review):
    client.force_login(staff(other_organization, "Operator", name="other"))
    url = reverse("admin:billing_manualreviewperiod_decide", args=[in_review.pk])
    assert client.post(url, {"decision": "waive", "comment": "x"}).status_code == 404
