"""``/api/v1/exceptions/``: filters, organisation scoping, acknowledge/resolve/dismiss."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from exceptionqueue.services import exception_raise, exception_resolve
from exceptionqueue.tests.kinds import Kind

pytestmark = pytest.mark.django_db


def make(organization, actor, key, kind=Kind.REFUND_DRIFT, **kwargs):
    return exception_raise(
        organization=organization,
        kind=kind,
        dedup_key=key,
        message=f"{kind} {key}",
        actor=actor,
        **kwargs,
    )


@pytest.fixture
def cases(organization, other_organization, branch, system_user):
    drift = make(
        organization,
        system_user,
        "d1",
        branch=branch,
        amount=Decimal("5.00"),
        currency="AMD",
        subject=branch,
    )
    empty = make(organization, system_user, "n1", kind=Kind.NO_VERIFIED_PAYMENTS)
    done = make(organization, system_user, "d2")
    exception_resolve(case=done, actor=system_user, note="fixed")
    foreign = make(other_organization, system_user, "d1")
    return {"drift": drift, "empty": empty, "done": done, "foreign": foreign}


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_list_is_scoped_to_the_organisation(api, cases):
    assert ids(api.get("/api/v1/exceptions/")) == {
        cases["drift"].pk,
        cases["empty"].pk,
        cases["done"].pk,
    }


def test_filters_kind_status_branch_blocking(api, cases):
    assert ids(api.get("/api/v1/exceptions/?kind=sample_drift")) == {
        cases["drift"].pk,
        cases["done"].pk,
    }
    assert ids(api.get("/api/v1/exceptions/?status=open")) == {
        cases["drift"].pk,
        cases["empty"].pk,
    }
    assert ids(api.get("/api/v1/exceptions/?status=open&kind=sample_drift")) == {cases["drift"].pk}
    assert ids(api.get("/api/v1/exceptions/?status=open&status=resolved")) == {
        cases["drift"].pk,
        cases["empty"].pk,
        cases["done"].pk,
    }
    assert ids(api.get("/api/v1/exceptions/?branch=northern")) == {cases["drift"].pk}
    assert ids(api.get("/api/v1/exceptions/?blocking=false")) == {cases["empty"].pk}


def test_an_unknown_filter_value_is_a_400(api, cases):
    response = api.get("/api/v1/exceptions/?status=closed")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_row_shape(api, cases):
    row = api.get(f"/api/v1/exceptions/{cases['drift'].pk}/").json()
    assert row["kind"] == "sample_drift"
    assert row["status"] == "open"
    assert row["severity"] == "high"
    assert row["blocking"] is True
    assert row["branch"] == "northern"
    assert row["amount"] == "5.00"
    assert row["currency"] == "AMD"
    assert row["subject"] == {"type": "branch", "id": str(cases["drift"].branch_id)}
    assert [e["action"] for e in row["events"]] == ["raised"]


def test_other_organisations_cases_do_not_exist(api, other_api, cases):
    foreign = cases["foreign"].pk
    assert api.get(f"/api/v1/exceptions/{foreign}/").status_code == 404
    response = api.post(f"/api/v1/exceptions/{foreign}/resolve/", {"note": "x"}, format="json")
    assert response.status_code == 404
    cases["foreign"].refresh_from_db()
    assert cases["foreign"].status == "open"
    assert other_api.get(f"/api/v1/exceptions/{foreign}/").status_code == 200


def test_resolve_with_a_note(api, cases):
    case = cases["drift"]
    response = api.post(
        f"/api/v1/exceptions/{case.pk}/resolve/", {"note": "deducted"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolution_note"] == "deducted"
    assert [e["action"] for e in body["events"]] == ["raised", "resolved"]
    assert body["events"][-1]["actor"] == api.api_client.user.username


def test_resolve_errors(api, cases):
    url = f"/api/v1/exceptions/{cases['drift'].pk}/resolve/"
    missing = api.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "note" in missing.json()["error"]["fields"]
    unknown = api.post(url, {"note": "x", "status": "resolved"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_field"
    closed = api.post(
        f"/api/v1/exceptions/{cases['done'].pk}/resolve/", {"note": "x"}, format="json"
    )
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "transition_not_allowed"


def test_acknowledge_and_dismiss(api, cases):
    case = cases["empty"]
    response = api.post(f"/api/v1/exceptions/{case.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"
    response = api.post(
        f"/api/v1/exceptions/{case.pk}/dismiss/", {"note": "period had no sales"}, format="json"
    )
    assert response.json()["status"] == "dismissed"


def test_resolve_is_idempotent_with_a_key(api, cases):
    url = f"/api/v1/exceptions/{cases['drift'].pk}/resolve/"
    key = str(uuid.uuid4())
    first = api.post(url, {"note": "n"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = api.post(url, {"note": "n"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert cases["drift"].events.count() == 2


def test_requires_a_token(client, cases):
    assert client.get("/api/v1/exceptions/").status_code == 401


def test_list_rows_are_the_serializers_json(api, cases):
    """The list reads ``.values()`` rows (``core.api.lean``): the serializer's JSON, with the
    subject (a method field) read from the row, in two queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from exceptionqueue.api.serializers import ExceptionCaseSerializer
    from exceptionqueue.models import ExceptionCase

    api.get("/api/v1/exceptions/")  # the client's first use is recorded once
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/v1/exceptions/").json()
    mine = ExceptionCase.objects.filter(organization=cases["drift"].organization).order_by("-id")
    assert body["results"] == ExceptionCaseSerializer(mine, many=True).data
    assert any(row["subject"] for row in body["results"])
    assert any(row["subject"] is None for row in body["results"])
    assert len(queries) <= 2
