"""Operators in the admin: filters, bulk acknowledge and the resolution form, all via services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.models import Membership
from exceptionqueue.services import exception_raise
from exceptionqueue.tests.kinds import Kind

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:exceptionqueue_exceptioncase_changelist"


def make(organization, actor, key, **kwargs):
    return exception_raise(
        organization=organization,
        kind=kwargs.pop("kind", Kind.REFUND_DRIFT),
        dedup_key=key,
        message=f"case {key}",
        actor=actor,
        **kwargs,
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?kind__exact=sample_drift",
        "?status__exact=open",
        "?state=active",
        "?age=1d",
        "?age=7d%2B",
        "?blocking__exact=1",
        "?severity__exact=high",
    ],
)
def test_changelist_filters(admin_client, organization, branch, system_user, query):
    make(organization, system_user, "a", branch=branch, subject=branch)
    response = admin_client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200


def test_branch_filter_and_subject_link(admin_client, organization, branch, system_user):
    case = make(organization, system_user, "a", branch=branch, subject=branch)
    make(organization, system_user, "b")
    response = admin_client.get(reverse(CHANGELIST) + f"?branch__id__exact={branch.pk}")
    assert list(response.context["cl"].result_list) == [case]
    assert reverse("admin:core_branch_change", args=[branch.pk]) in response.content.decode()


def test_bulk_acknowledge_goes_through_the_service(
    admin_client, admin_user, organization, system_user
):
    a = make(organization, system_user, "a")
    b = make(organization, system_user, "b")
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "acknowledge_selected", "_selected_action": [a.pk, b.pk]},
        follow=True,
    )
    assert response.status_code == 200
    for case in (a, b):
        case.refresh_from_db()
        assert case.status == "acknowledged"
        assert case.acknowledged_by == admin_user
        event = case.events.last()
        assert (event.action, event.actor) == ("acknowledged", admin_user)


def test_resolution_form(admin_client, admin_user, organization, system_user):
    case = make(organization, system_user, "a")
    url = reverse("admin:exceptionqueue_exceptioncase_resolve", args=[case.pk])
    assert admin_client.get(url).status_code == 200
    assert (
        url
        in admin_client.get(
            reverse("admin:exceptionqueue_exceptioncase_change", args=[case.pk])
        ).content.decode()
    )
    response = admin_client.post(url, {"outcome": "resolve", "note": ""})
    assert response.status_code == 200  # the form again, with the error
    case.refresh_from_db()
    assert case.status == "open"
    response = admin_client.post(url, {"outcome": "resolve", "note": "paid back by the team"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.closed_by == admin_user
    assert case.resolution_note == "paid back by the team"
    # a second close shows the refusal instead of changing anything
    response = admin_client.post(url, {"outcome": "dismiss", "note": "again"})
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == "resolved"


def test_acknowledge_button(admin_client, organization, system_user):
    case = make(organization, system_user, "a")
    url = reverse("admin:exceptionqueue_exceptioncase_acknowledge", args=[case.pk])
    assert admin_client.post(url).status_code == 302
    case.refresh_from_db()
    assert case.status == "acknowledged"


def test_no_add_no_delete_no_history_revert(admin_client, organization, system_user):
    case = make(organization, system_user, "a")
    assert admin_client.get(reverse("admin:exceptionqueue_exceptioncase_add")).status_code == 403
    history = case.history.first()
    url = reverse(
        "admin:exceptionqueue_exceptioncase_simple_history",
        args=[case.pk, history.history_id],
    )
    assert admin_client.post(url, {}).status_code == 403
    # the change form saves nothing either: every field is read-only
    change = reverse("admin:exceptionqueue_exceptioncase_change", args=[case.pk])
    admin_client.post(change, {"status": "resolved", "message": "x"})
    case.refresh_from_db()
    assert (case.status, case.message) == ("open", "case a")


def test_staff_see_only_their_organisations(
    client, django_user_model, organization, other_organization, system_user
):
    mine = make(organization, system_user, "a")
    make(other_organization, system_user, "b")
    operator = django_user_model.objects.create_user("op", is_staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_exceptioncase", "change_exceptioncase"])
    )
    Membership.objects.create(user=operator, organization=organization)
    client.force_login(operator)
    response = client.get(reverse(CHANGELIST))
    assert list(response.context["cl"].result_list) == [mine]


def test_the_queue_opens_on_what_needs_a_person(admin_client, organization, system_user):
    from exceptionqueue.services import exception_acknowledge, exception_resolve

    open_case = make(organization, system_user, "open")
    seen = exception_acknowledge(case=make(organization, system_user, "seen"), actor=system_user)
    done = exception_resolve(
        case=make(organization, system_user, "done"), actor=system_user, note="ok"
    )
    first = admin_client.get(reverse(CHANGELIST))
    assert {c.pk for c in first.context["cl"].result_list} == {open_case.pk, seen.pk}
    every = admin_client.get(reverse(CHANGELIST) + "?state=all")
    assert {c.pk for c in every.context["cl"].result_list} == {open_case.pk, seen.pk, done.pk}
    closed = admin_client.get(reverse(CHANGELIST) + "?state=closed")
    assert [c.pk for c in closed.context["cl"].result_list] == [done.pk]


def test_a_read_only_case_page_offers_no_save(admin_client, organization, system_user):
    case = make(organization, system_user, "a")
    page = admin_client.get(reverse("admin:exceptionqueue_exceptioncase_change", args=[case.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="_continue"' not in page.content


def test_resolve_without_the_permission_is_explained(client, organization, system_user):
    from django.contrib.auth.models import User

    case = make(organization, system_user, "a")
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    user.user_permissions.add(Permission.objects.get(codename="view_exceptioncase"))
    client.force_login(user)
    url = reverse("admin:exceptionqueue_exceptioncase_resolve", args=[case.pk])
    response = client.post(url, {"outcome": "resolve", "note": "x"})
    assert response.status_code == 403
    assert b"permission to change exception cases" in response.content
    case.refresh_from_db()
    assert case.status == "open"
