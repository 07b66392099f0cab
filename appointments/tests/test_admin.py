from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from appointments.models import Appointment
from core.models import Membership
from core.roles import roles_sync

pytestmark = pytest.mark.django_db


def member(organization, role: str, name: str) -> User:
    roles_sync()
    user = User.objects.create_user(name, password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    user.groups.add(Group.objects.get(name=role))
    return user


def change_url(appointment):
    return reverse("admin:appointments_appointment_change", args=[appointment.pk])


def act_url(appointment, name):
    return reverse("admin:appointments_appointment_act", args=[appointment.pk, name])


def test_customer_context_shown_to_clinic_staff_only(client, organization, book):
    appointment = book(customer={"name": "Lilit Unique-Name", "phone": "+37455111222"})
    client.force_login(member(organization, "Clinic staff", "nurse"))
    page = client.get(change_url(appointment))
    assert page.status_code == 200
    assert b"Lilit Unique-Name" in page.content
    client.force_login(member(organization, "Operator", "operator"))
    page = client.get(change_url(appointment))
    assert page.status_code == 200
    assert b"Lilit Unique-Name" not in page.content
    assert b"+37455111222" not in page.content
    client.force_login(member(organization, "Accountant", "accountant"))
    assert b"Lilit Unique-Name" not in client.get(change_url(appointment)).content


def test_crafted_post_without_permission_is_refused(client, organization, book):
    appointment = book()
    client.force_login(member(organization, "Accountant", "accountant"))  # views only
    page = client.get(change_url(appointment))
    assert page.status_code == 200
    assert b"appointment-action" not in page.content
    response = client.post(act_url(appointment, "cancel"), {"reason": "x", "by": "clinic"})
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert appointment.events.count() == 1


def test_operator_cancels_and_sees_the_refund_path(client, organization, paid_request):
    appointment, _request = paid_request(days=3)
    client.force_login(member(organization, "Operator", "operator"))
    response = client.post(
        act_url(appointment, "cancel"), {"reason": "clinic closed", "by": "clinic"}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    event = appointment.events.get(kind="cancelled")
    assert event.actor.username == "operator"
    page = client.get(act_url(appointment, "refund"))
    assert page.status_code == 200
    assert b"Refund path the policy allows" in page.content
    assert b"10000.00" in page.content
    assert b"standard v1" in page.content


def test_clinic_staff_may_not_override_the_policy(client, organization, paid_request):
    appointment, request = paid_request(days=3)
    client.force_login(member(organization, "Clinic staff", "nurse"))
    client.post(act_url(appointment, "no_show"), {"comment": "did not come"})
    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    response = client.post(
        act_url(appointment, "refund"),
        {"amount": "100.00", "reason": "goodwill", "override_reason": "kind"},
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("refund_outside_policy") for m in shown), shown
    request.refresh_from_db()
    assert request.status == "paid"
