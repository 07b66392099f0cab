"""Access matrix of the admin, generated from the admin site's registry and URLs: every staff
role (operator, accountant, clinic staff, a member with no role, a role with no membership)
against every changelist, every change page, every custom URL (transitions, refunds, drift
decisions, closes, replays) and every admin action, with crafted POSTs.

- no page answers 500; another organisation's object is never shown (302/403/404, not 200);
- a crafted POST about another organisation's object, or by a user without the permission,
  writes nothing (no audit or history row, no row added or removed anywhere);
- simple-history's "revert" POST is refused even to a superuser, and the state stays.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver

from core.audit_guard import audit_models
from core.models import Membership
from core.roles import ACCOUNTANT, CLINIC_STAFF, OPERATOR, roles_sync
from tests.reliability.world import build_world

pytestmark = pytest.mark.django_db

STANDARD = {"changelist", "add", "autocomplete", "history", "delete", "change"}
# Everything a crafted POST might need to get past form checks: the refusal must come first.
CRAFTED = {
    "to": "completed",
    "reason": "crafted",
    "comment": "crafted",
    "amount": "1.00",
    "decision": "carry",
    "post": "yes",
    "confirm": "yes",
    "reference": "crafted",
}


def _fingerprint() -> tuple:
    """Row counts of every model plus audit rows: any write shows here."""
    counts = tuple(m._default_manager.count() for m in apps.get_models() if not m._meta.proxy)
    return counts, sum(m._default_manager.count() for m in audit_models())


def _object_of(model_admin, organization):
    lookup = getattr(model_admin, "organization_field", None)
    manager = model_admin.model._default_manager
    if lookup is None:
        return None
    if lookup == "":
        return manager.filter(pk=organization.pk).first()
    return manager.filter(**{lookup: organization}).order_by("pk").first()


def _admin_urls(model_admin, pk) -> list[tuple[str, str]]:
    """(name, url) of every URL of this model admin about object ``pk``."""
    opts = model_admin.model._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    found = []
    for pattern in model_admin.get_urls():
        if isinstance(pattern, URLResolver):
            continue
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if "object_id" not in route:
            continue
        if "<version_id>" in route or "history_id" in route:
            continue  # the history form: test_history_revert_is_refused
        url = re.sub(r"<(?:\w+:)?object_id>", str(pk), route)
        url = re.sub(r"<(?:\w+:)?to>", "completed", url)
        if "<" in url:
            continue
        found.append((pattern.name or route, base + url))
    return found


def _registry():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if getattr(model_admin, "organization_field", None) is not None
    ]


def _staff(username, *, role=None, organization=None):
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if organization is not None:
        Membership.objects.create(user=user, organization=organization)
    return user


@pytest.fixture
def worlds(db, settings):
    roles_sync()
    return build_world("own-org"), build_world("victim-org")


ROLES = {
    "operator": OPERATOR,
    "accountant": ACCOUNTANT,
    "clinic_staff": CLINIC_STAFF,
    "no_role": None,
    "no_membership": OPERATOR,
}


@pytest.mark.parametrize("who", list(ROLES))
def test_staff_role_matrix(worlds, who):
    own, victim = worlds
    member_of = None if who == "no_membership" else own["organization"]
    user = _staff(who, role=ROLES[who], organization=member_of)
    client = Client()
    client.force_login(user)
    failures: list[str] = []
    # The rows this user may act upon legitimately: none for a user without role or membership.
    powerless = who in {"no_role", "no_membership"}

    for model, model_admin in _registry():
        opts = model._meta
        changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
        response = client.get(changelist)
        if response.status_code not in {200, 403}:
            failures.append(f"GET {changelist}: {response.status_code}")
        targets = [("victim", _object_of(model_admin, victim["organization"]))]
        if powerless:
            targets.append(("own", _object_of(model_admin, own["organization"])))
        for label, obj in targets:
            if obj is None:
                continue
            page = client.get(f"{changelist}{obj.pk}/change/")
            if page.status_code == 200 or page.status_code >= 500:
                failures.append(
                    f"GET {label} {opts.label} #{obj.pk} change page: {page.status_code}"
                )
            before = _fingerprint()
            for name, url in _admin_urls(model_admin, obj.pk):
                response = client.post(url, CRAFTED)
                if response.status_code >= 500:
                    failures.append(f"POST {url} ({name}): {response.status_code}")
            for action in _actions(model_admin):
                response = client.post(
                    changelist, {"action": action, "_selected_action": [obj.pk], **CRAFTED}
                )
                if response.status_code >= 500:
                    failures.append(f"action {action} on {changelist}: {response.status_code}")
            if _fingerprint() != before:
                failures.append(f"{who}: a crafted POST about {label} {opts.label} #{obj.pk} wrote")
    assert not failures, "\n".join(failures)


def _actions(model_admin) -> list[str]:
    superuser = get_user_model()(is_superuser=True, is_staff=True, is_active=True)

    class _Request:
        user = superuser
        GET = {}
        POST = {}
        method = "GET"

    try:
        return [
            name for name in model_admin.get_actions(_Request()) if name != "delete_selected"
        ] + ["delete_selected"]
    except Exception:  # an action list that needs more of a request: the default one
        return ["delete_selected"]


MONEY_URLS = [
    # (role that must be refused, model label, url suffix)
    (ACCOUNTANT, "payouts.payout", "transition/completed/"),
    (CLINIC_STAFF, "payouts.payout", "transition/completed/"),
    (ACCOUNTANT, "payments.payment", "refund/"),
    (CLINIC_STAFF, "payments.payment", "refund/"),
]


@pytest.mark.parametrize(("role", "label", "suffix"), MONEY_URLS)
def test_money_moving_urls_refuse_a_member_without_the_permission(worlds, role, label, suffix):
    own, _ = worlds
    user = _staff(
        f"u-{role}-{suffix}".replace(" ", "").replace("/", ""),
        role=role,
        organization=own["organization"],
    )
    client = Client()
    client.force_login(user)
    model = apps.get_model(label)
    obj = own["payout"] if label == "payouts.payout" else own["payment"]
    assert isinstance(obj, model)
    before = _fingerprint()
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}/{suffix}"
    response = client.post(url, CRAFTED)
    assert response.status_code in {302, 403, 404}, (url, response.status_code)
    assert _fingerprint() == before


def test_history_revert_is_refused_even_to_a_superuser(worlds):
    own, _ = worlds
    superuser = get_user_model().objects.create_superuser("root", password="x")
    client = Client()
    client.force_login(superuser)
    tried = 0
    for model, model_admin in _registry():
        if not hasattr(model, "history"):
            continue
        obj = _object_of(model_admin, own["organization"])
        if obj is None or not obj.history.exists():
            continue
        oldest = obj.history.order_by("history_id").first()
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/history/{oldest.history_id}/"
        before = _fingerprint()
        response = client.post(url, {"_save": "Save", "status": getattr(oldest, "status", "")})
        # 403, or 404 where the admin's queryset leaves the row out (billing's review queue).
        assert response.status_code in {403, 404}, (url, response.status_code)
        assert _fingerprint() == before, url
        tried += 1
    assert tried >= 8
