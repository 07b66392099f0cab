"""The API conventions every endpoint inherits: auth, scoping, errors, unknown fields, pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Branch
from core.services import api_client_revoke


def test_missing_token_is_401_in_the_error_format(client, db):
    response = client.get("/api/v1/branches/")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }
    assert response["WWW-Authenticate"] == "Token"


def test_bad_and_revoked_tokens_are_refused(api, client, system_user):
    bad = client.get("/api/v1/branches/", HTTP_AUTHORIZATION="Token pk_nope")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "authentication_failed"
    assert api.get("/api/v1/branches/").status_code == 200
    api_client_revoke(client=api.api_client, actor=system_user, reason="leaked")
    assert api.get("/api/v1/branches/").json()["error"]["code"] == "authentication_failed"


def test_a_token_sees_only_its_organisation(api, other_api, organization, other_organization):
    Branch.objects.create(organization=organization, code="mine", name="Mine")
    theirs = Branch.objects.create(organization=other_organization, code="theirs", name="Theirs")
    listed = api.get("/api/v1/branches/").json()["results"]
    assert [b["code"] for b in listed] == ["mine"]
    response = api.get(f"/api/v1/branches/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert other_api.get(f"/api/v1/branches/{theirs.pk}/").status_code == 200


def test_same_branch_code_in_two_organisations_is_fine(api, other_api):
    body = {"code": "center", "name": "Center"}
    assert api.post("/api/v1/branches/", body, format="json").status_code == 201
    assert other_api.post("/api/v1/branches/", body, format="json").status_code == 201


def test_create_branch_and_history_names_the_api_client(api, organization):
    response = api.post("/api/v1/branches/", {"code": "opera", "name": "Opera"}, format="json")
    assert response.status_code == 201
    assert response.json()["code"] == "opera"
    branch = Branch.objects.get(pk=response.json()["id"])
    assert branch.organization == organization
    record = branch.history.get()
    assert record.history_user == api.api_client.user
    assert record.history_change_reason == "branch created"


def test_unknown_fields_are_rejected_before_anything_else(api):
    response = api.post(
        "/api/v1/branches/", {"code": "bad code", "name": "x", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "unknown_field",
            "message": "Unknown field(s) in the request body: colour.",
            "fields": {"colour": ["Unknown field."]},
        }
    }
    assert not Branch.objects.exists()


def test_validation_errors_list_every_field(api):
    response = api.post("/api/v1/branches/", {"code": "bad code"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"code", "name"}
    assert error["fields"]["name"] == ["This field is required."]


def test_domain_errors_carry_their_code_and_status(api):
    api.post("/api/v1/branches/", {"code": "opera", "name": "Opera"}, format="json")
    response = api.post("/api/v1/branches/", {"code": "opera", "name": "Again"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_branch"
    assert response.json()["error"]["fields"] == {
        "code": ["A branch with this code already exists."]
    }


@pytest.mark.parametrize(
    ("body", "content_type", "code", "status"),
    [
        ("{bad json", "application/json", "malformed_request", 400),
        ("[1, 2]", "application/json", "invalid", 400),
        ("code=a&name=b", "application/x-www-form-urlencoded", "unsupported_media_type", 415),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(api, body, content_type, code, status):
    response = api.generic("POST", "/api/v1/branches/", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_method_not_allowed_is_in_the_error_format(api, branch):
    response = api.delete(f"/api/v1/branches/{branch.pk}/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_cursor_pages_are_stable_and_bounded(api, organization):
    Branch.objects.bulk_create(
        Branch(organization=organization, code=f"b{i:03}", name=f"B{i}") for i in range(7)
    )
    seen = []
    url = "/api/v1/branches/?page_size=3"
    while url:
        page = api.get(url).json()
        assert len(page["results"]) <= 3
        seen += [b["code"] for b in page["results"]]
        url = page["next"]
    assert seen == [f"b{i:03}" for i in reversed(range(7))]


def test_filters_apply(api, organization):
    Branch.objects.create(organization=organization, code="a", name="A")
    Branch.objects.create(organization=organization, code="b", name="B")
    assert [b["code"] for b in api.get("/api/v1/branches/?code=b").json()["results"]] == ["b"]


def test_throttling_is_per_client(api, other_api, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_client": "3/minute"})
    try:
        codes = [api.get("/api/v1/branches/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        throttled = api.get("/api/v1/branches/")
        assert throttled.json()["error"]["code"] == "throttled"
        assert int(throttled["Retry-After"]) > 0
        assert other_api.get("/api/v1/branches/").status_code == 200
    finally:
        cache.clear()


def test_request_id_is_echoed_or_made(client, db):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="not safe\nvalue")
    assert made["X-Request-ID"] != "not safe\nvalue"
    assert len(made["X-Request-ID"]) == 32


def test_api_client_last_used_is_recorded(api):
    assert api.api_client.last_used_at is None
    api.get("/api/v1/branches/")
    api.api_client.refresh_from_db()
    assert timezone.now() - api.api_client.last_used_at < timedelta(minutes=1)


def test_schema_and_docs_are_public(client, db):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    post = document["paths"]["/api/v1/branches/"]["post"]
    assert {"201", "400", "401", "409", "422"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert client.get("/api/docs/").status_code == 200


def test_the_whole_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "openapi: 3" in target.read_text()


def test_unknown_api_paths_are_json_404(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_post_without_its_trailing_slash_is_served_not_redirected(api):
    response = api.post("/api/v1/branches", {"code": "opera", "name": "Opera"}, format="json")
    assert response.status_code == 201
    assert Branch.objects.filter(code="opera").exists()


def test_healthz_answers_head(client, db):
    assert client.head("/healthz").status_code == 200


def test_the_root_leads_to_the_admin(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_every_unknown_path_under_api_is_json_404(client, db):
    for path in ("/api/", "/api/nope/", "/api/v2/x/", "/api/schema/nope/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path


def test_a_malformed_cursor_is_400(api):
    response = api.get("/api/v1/branches/?cursor=garbage")
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["fields"]


def test_django_request_log_lines_carry_the_request_id(client, db):
    import logging

    from core.context import get_request_id

    seen = []

    class Spy(logging.Handler):
        def emit(self, record):
            seen.append(get_request_id())  # what the JSON formatter writes for this line

    logger = logging.getLogger("django.request")
    spy = Spy(level=logging.WARNING)
    logger.addHandler(spy)
    try:
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-404")
    finally:
        logger.removeHandler(spy)
    assert seen == ["trace-404"]
    assert get_request_id() == ""  # cleared once the request finished
