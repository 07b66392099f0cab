"""Two requests with one Idempotency-Key at the same moment, on PostgreSQL with real threads."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from conftest import run_together
from core import services
from core.models import Branch, IdempotencyKey

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/branches/"
BODY = {"code": "opera", "name": "Opera"}


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_second_request_while_first_runs_gets_409_then_the_replay(api, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real_create = services.branch_create

    def slow_create(**kwargs):
        entered.set()
        assert release.wait(10)
        return real_create(**kwargs)

    monkeypatch.setattr(services, "branch_create", slow_create)
    results = {}

    def first():
        try:
            results["first"] = _client(api.token).post(
                URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="same"
            )
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    second = _client(api.token).post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_in_progress"
    release.set()
    thread.join(10)
    assert results["first"].status_code == 201
    third = _client(api.token).post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert third.status_code == 201
    assert third["Idempotent-Replayed"] == "true"
    assert third.json() == results["first"].json()
    assert Branch.objects.count() == 1


def test_many_simultaneous_requests_with_one_key_create_one_branch(api):
    workers = 8
    responses = run_together(
        *[lambda: _client(api.token).post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="race")]
        * workers
    )
    assert [r for r in responses if isinstance(r, BaseException)] == []
    originals = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    replays = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" in r]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(originals) == 1
    assert len(replays) + len(in_progress) == workers - 1
    assert all(r.json()["error"]["code"] == "idempotency_in_progress" for r in in_progress)
    assert all(r.json() == originals[0].json() for r in replays)
    assert Branch.objects.count() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.COMPLETED
