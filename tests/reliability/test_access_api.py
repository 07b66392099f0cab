"""Access matrix of the API, generated from the URL conf: every endpoint and method against a
caller with no token, a wrong token, and the token of another organisation.

- no token, or an unknown one: 401 in the error format, for every endpoint and method;
- another organisation's object: 404 on every detail endpoint and every action on it (never a
  400 or 409 that would tell the object exists), and nothing written;
- another organisation's lists: empty.

A new endpoint is in this matrix the moment its URL is routed. Its lists must return the victim
organisation's rows, built by ``tests/reliability/world.py`` (a new domain adds its builder there).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from conftest import make_api
from core.audit_guard import audit_models
from tests.reliability.urlconf import api_endpoints
from tests.reliability.world import build_world

pytestmark = pytest.mark.django_db

ENDPOINTS = api_endpoints()
# Detail endpoints outside a viewset with a list: the list that gives their ids.
PK_SOURCES = {"/api/v1/sandbox/payments/{pk}/outcome/": "/api/v1/payments/"}
# A body for the methods that take one: empty (the check is who may call, not what).
BODY = {"POST": {}, "PATCH": {}, "PUT": {}}


def _call(api: APIClient, endpoint, pk=None):
    method = getattr(api, endpoint.method.lower())
    url = endpoint.url(pk if pk is not None else 1)
    if endpoint.method in BODY:
        return method(url, BODY[endpoint.method], format="json")
    return method(url)


def test_the_matrix_sees_every_domain_endpoint():
    templates = {e.template for e in ENDPOINTS}
    for expected in ("/api/v1/payments/{pk}/refunds/", "/api/v1/payouts/{pk}/transitions/"):
        assert expected in templates
    assert len(ENDPOINTS) >= 40


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize(
    "token", [None, "Token not-a-real-token", "Bearer x"], ids=["none", "unknown", "bearer"]
)
def test_no_valid_token_is_401_in_the_error_format(endpoint, token):
    api = APIClient()
    if token:
        api.credentials(HTTP_AUTHORIZATION=token)
    response = _call(api, endpoint)
    assert response.status_code == 401, (
        str(endpoint),
        response.status_code,
        response.content[:300],
    )
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


def _audit_rows() -> int:
    return sum(model._default_manager.count() for model in audit_models())


def _list_ids(api: APIClient, endpoint) -> list:
    response = api.get(endpoint.template)
    assert response.status_code == 200, (str(endpoint), response.content[:300])
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return [row["id"] for row in rows if isinstance(row, dict) and "id" in row]


def test_another_organisations_objects_do_not_exist(settings):
    victim = build_world("victim-org")
    owner = make_api(victim["organization"], name="owner")
    attacker = make_api(build_world("attacker-org")["organization"], name="attacker")
    # The attacker's own rows are gone, so any id it can read is the victim's.
    attacker_org = attacker.api_client.organization
    lists = [e for e in ENDPOINTS if e.action == "list"]
    failures: list[str] = []

    victim_ids: dict = {}
    for endpoint in lists:
        ids = _list_ids(owner, endpoint)
        if not ids:
            failures.append(f"{endpoint}: no row of the victim (add a builder in world.py)")
        victim_ids[endpoint.view] = victim_ids[endpoint.template] = ids
        leaked = set(ids) & set(_list_ids(attacker, endpoint))
        if leaked:
            failures.append(f"{endpoint}: the attacker lists the victim's {sorted(leaked)}")

    before = _audit_rows()
    checked = 0
    for endpoint in (e for e in ENDPOINTS if e.has_pk):
        ids = victim_ids.get(endpoint.view) or victim_ids.get(PK_SOURCES.get(endpoint.template))
        if ids is None:
            failures.append(f"{endpoint}: no list endpoint gives its ids")
            continue
        for pk in ids[:1]:
            response = _call(attacker, endpoint, pk)
            checked += 1
            if response.status_code != 404:
                failures.append(
                    f"{endpoint} pk={pk}: {response.status_code} {response.content[:200]!r}"
                )
            if endpoint.action == "retrieve" and owner.get(endpoint.url(pk)).status_code != 200:
                failures.append(f"{endpoint} pk={pk}: the owner cannot read it (id not its own?)")
    assert _audit_rows() == before, "an attacker's request wrote audit rows"
    assert not failures, "\n".join(failures)
    assert checked >= 20
    assert attacker_org.pk != victim["organization"].pk
    assert apps.is_installed("payouts")
