import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from core.models import Branch, Membership, Organization


@pytest.fixture
def staff(db, organization):
    user = get_user_model().objects.create_user("ani", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_branch", "change_branch"])
    )
    Membership.objects.create(user=user, organization=organization)
    return user


def test_staff_see_only_their_organisations_rows(client, staff, organization, other_organization):
    Branch.objects.create(organization=organization, code="mine", name="Mine branch")
    Branch.objects.create(organization=other_organization, code="theirs", name="Theirs branch")
    client.force_login(staff)
    page = client.get("/admin/core/branch/").content.decode()
    assert "Mine branch" in page
    assert "Theirs branch" not in page


def test_history_revert_post_is_refused(admin_client, organization):
    branch = Branch.objects.create(organization=organization, code="old", name="Old")
    branch.name = "New"
    branch.save()
    old = branch.history.order_by("history_id").first()
    url = f"/admin/core/branch/{branch.pk}/history/{old.history_id}/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"code": "old", "name": "Old"})
    assert response.status_code == 403
    branch.refresh_from_db()
    assert branch.name == "New"


def test_revoke_action_goes_through_the_service(admin_client, api, admin_user):
    response = admin_client.post(
        "/admin/core/apiclient/",
        {"action": "revoke", "_selected_action": [api.api_client.pk]},
    )
    assert response.status_code == 302
    api.api_client.refresh_from_db()
    assert api.api_client.revoked_at is not None
    assert api.api_client.history.latest().history_user == admin_user
    assert api.get("/api/v1/branches/").status_code == 401


def test_organisations_are_listed_for_superusers(admin_client, organization):
    assert "Yerevan Cafe" in admin_client.get("/admin/core/organization/").content.decode()
    assert Organization.objects.count() == 1


def test_role_groups_get_their_permissions_after_migrate(db):
    from django.contrib.auth.models import Group

    operator = Group.objects.get(name="Operator")
    accountant = Group.objects.get(name="Accountant")
    clinic = Group.objects.get(name="Clinic staff")
    assert operator.permissions.filter(codename="view_branch").exists()
    assert not operator.permissions.filter(codename="delete_branch").exists()
    assert not clinic.permissions.filter(content_type__app_label="payouts").exists()
    assert accountant.permissions.filter(content_type__app_label="core").exists()


def test_history_pages_of_other_organisations_do_not_exist(client, staff, other_organization):
    theirs = Branch.objects.create(organization=other_organization, code="t", name="SECRET name")
    record = theirs.history.get()
    client.force_login(staff)
    assert client.get(f"/admin/core/branch/{theirs.pk}/history/").status_code == 404
    page = client.get(f"/admin/core/branch/{theirs.pk}/history/{record.history_id}/")
    assert page.status_code == 404
    assert "SECRET" not in page.content.decode()


def test_staff_see_only_their_organisations(client, staff, organization, other_organization):
    staff.user_permissions.add(Permission.objects.get(codename="view_organization"))
    client.force_login(staff)
    page = client.get("/admin/core/organization/").content.decode()
    assert "Yerevan Cafe" in page
    assert "Gyumri Bakery" not in page
    branches = client.get("/admin/core/branch/").content.decode()
    assert "Gyumri Bakery" not in branches  # not even as a filter choice


def test_a_history_url_with_a_malformed_id_is_404(client, staff):
    client.force_login(staff)
    assert client.get("/admin/core/branch/abc/history/").status_code == 404
    assert client.get("/admin/core/branch/abc/history/1/").status_code == 404


def test_an_app_grants_its_own_role_permissions(db):
    """payouts declares role_permissions: Operators get its transitions, not its add/change."""
    from django.contrib.auth.models import Group

    operator = Group.objects.get(name="Operator")
    accountant = Group.objects.get(name="Accountant")
    assert operator.permissions.filter(codename="process_payout").exists()
    assert not operator.permissions.filter(codename="add_recipient").exists()
    assert not operator.permissions.filter(codename="change_feepolicy").exists()
    assert accountant.permissions.filter(codename="add_recipient").exists()
    assert accountant.permissions.filter(codename="close_payoutperiod").exists()


def test_membership_users_are_people_not_system_jobs_or_api_clients(admin_client, organization):
    from core.actors import system_actor
    from core.services import api_client_create

    system_actor("seed-demo")
    client, _ = api_client_create(organization=organization, name="pos", actor=system_actor("t"))
    person = get_user_model().objects.create_user("lilit", password="pw", is_staff=True)
    page = admin_client.get("/admin/core/membership/add/")
    users = list(page.context["adminform"].form.fields["user"].queryset)
    assert person in users
    assert client.user not in users
    assert not [u for u in users if u.username.startswith("system.")]


def test_an_api_client_has_one_name_in_the_admin(admin_client, organization):
    from core.actors import system_actor
    from core.admin_base import actor_label
    from core.services import api_client_create

    client, _ = api_client_create(organization=organization, name="pos", actor=system_actor("t"))
    assert actor_label(client.user) == "API client pos"
    page = admin_client.get(f"/admin/core/apiclient/{client.pk}/change/").content.decode()
    assert "API client pos" in page
    assert client.user.username not in page  # not a second name (api.<org>.<hash>)
    assert 'name="_save"' not in page  # every field read-only: no Save button


def test_admin_pages_show_the_organisations_time_zone(client, organization):
    organization.timezone = "Asia/Tbilisi"
    organization.save()
    user = get_user_model().objects.create_user("ani", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_branch"]))
    Membership.objects.create(user=user, organization=organization)
    client.force_login(user)
    page = client.get("/admin/core/branch/").content.decode()
    assert "Times: Asia/Tbilisi" in page


def test_the_admin_names_api_clients_as_the_readme_does(admin_client):
    """The index said "Api clients" (Django's capitalisation of the class name)."""
    page = admin_client.get("/admin/")
    assert b">API clients<" in page.content
    assert b"Api clients" not in page.content
