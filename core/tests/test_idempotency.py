"""Idempotency-Key with Stripe's semantics, on whatever database the suite runs on."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core import services
from core.api import idempotency
from core.models import Branch, IdempotencyKey

URL = "/api/v1/branches/"
BODY = {"code": "opera", "name": "Opera"}


def post(api, body=BODY, key="key-1", url=URL):
    return api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_same_body_replays_the_first_response(api):
    first = post(api)
    assert first.status_code == 201
    again = post(api)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Branch.objects.count() == 1


def test_body_compared_by_content_not_bytes(api):
    assert post(api).status_code == 201
    reordered = api.generic(
        "POST",
        URL,
        '{ "name": "Opera",   "code": "opera" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert reordered.status_code == 201
    assert reordered["Idempotent-Replayed"] == "true"


def test_same_key_other_body_is_422(api):
    assert post(api).status_code == 201
    response = post(api, body={"code": "cascade", "name": "Cascade"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Branch.objects.values_list("code", flat=True)) == ["opera"]


def test_same_key_other_endpoint_is_422(api, branch):
    assert post(api).status_code == 201
    response = post(api, url=f"{URL}{branch.pk}/")  # not a POST route: still a key reuse
    assert response.status_code == 422


def test_a_refusal_by_a_rule_is_stored_and_replayed(api, organization):
    Branch.objects.create(organization=organization, code="opera", name="Opera")
    refused = post(api)
    assert refused.status_code == 409
    replay = post(api)
    assert replay.status_code == 409
    assert replay.content == refused.content
    assert replay["Idempotent-Replayed"] == "true"


def test_a_400_is_not_stored_so_the_corrected_body_may_reuse_the_key(api):
    """Stripe: a request that failed validation never ran; nothing is kept for it."""
    bad = post(api, body={"code": "no good"})
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    fixed = post(api)
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed


def test_a_replay_gives_back_the_same_bytes(api):
    first = post(api)
    assert post(api).content == first.content  # also on PostgreSQL, whose jsonb reorders keys


def test_an_oversized_body_is_413_in_the_error_format(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = post(api, body={"code": "opera", "name": "x" * 500})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_keys_belong_to_one_client(api, organization):
    from conftest import make_api

    second = make_api(organization, name="second")
    assert post(api).status_code == 201
    response = post(second)  # same key, other client: its own request, a real duplicate
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_branch"


def test_request_still_running_is_409(api):
    IdempotencyKey.objects.create(
        api_client=api.api_client,
        key="key-1",
        method="POST",
        path=URL,
        fingerprint=idempotency.fingerprint("POST", URL, b'{"code":"opera","name":"Opera"}'),
        created_at=timezone.now(),
    )
    response = post(api)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert not Branch.objects.exists()


def test_a_stale_claim_is_taken_over(api):
    IdempotencyKey.objects.create(
        api_client=api.api_client,
        key="key-1",
        method="POST",
        path=URL,
        fingerprint="whatever",
        created_at=timezone.now() - timedelta(minutes=10),
    )
    assert post(api).status_code == 201
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.COMPLETED


def test_keys_are_kept_24_hours_then_purged(api):
    assert post(api).status_code == 201
    record = IdempotencyKey.objects.get()
    IdempotencyKey.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(hours=23, minutes=59)
    )
    assert idempotency.purge_expired() == 0
    assert post(api)["Idempotent-Replayed"] == "true"
    IdempotencyKey.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    assert idempotency.purge_expired() == 1
    assert not IdempotencyKey.objects.exists()


def test_an_expired_key_not_yet_purged_starts_afresh(api):
    assert post(api, body={"code": "one", "name": "One"}).status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = post(api, body={"code": "two", "name": "Two"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_a_server_error_frees_the_key_and_commits_nothing(api, monkeypatch):
    def explode(**kwargs):
        Branch.objects.create(organization=kwargs["organization"], code="half", name="Half")
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "branch_create", explode)
    failing = APIClient(raise_request_exception=False)
    failing.credentials(HTTP_AUTHORIZATION=f"Token {api.token}")
    response = post(failing)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert not Branch.objects.filter(code="half").exists()  # rolled back with the handler
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()
    assert post(api).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_invalid_keys_are_400(api, key):
    response = post(api, key=key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


def test_post_without_a_key_is_not_deduplicated(api):
    assert api.post(URL, BODY, format="json").status_code == 201
    assert api.post(URL, BODY, format="json").status_code == 409
    assert not IdempotencyKey.objects.exists()


def test_with_or_without_the_trailing_slash_is_the_same_request(api):
    first = post(api)
    again = api.post(URL.rstrip("/"), BODY, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
