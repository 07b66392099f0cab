import pytest
from django.db import connection

from core.models import Branch, IdempotencyKey
from core.tests import urls_idempotency

pytestmark = pytest.mark.urls("core.tests.urls_idempotency")


@pytest.fixture(autouse=True)
def _reset_calls():
    urls_idempotency.calls.clear()


def post(api, url, key="k1", **body):
    return api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_handler_sees_the_claimed_key(api):
    assert post(api, "/atomic/").status_code == 201
    api.post("/atomic/", {}, format="json")
    assert urls_idempotency.calls == ["k1", None]


def test_a_returned_5xx_commits_nothing_and_frees_the_key(api):
    assert post(api, "/atomic/", status=503).status_code == 503
    assert not Branch.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_the_non_atomic_mode_stores_the_answer_after_the_handler(api):
    first = post(api, "/not-atomic/")
    assert first.status_code == 201
    assert post(api, "/not-atomic/").content == first.content
    assert len(urls_idempotency.calls) == 1


@pytest.mark.django_db(transaction=True)  # no test transaction around the views
def test_the_non_atomic_mode_runs_outside_any_transaction(api, monkeypatch):
    seen = []
    original = urls_idempotency._Base.post

    def spy(self, request):
        seen.append(connection.in_atomic_block)
        return original(self, request)

    monkeypatch.setattr(urls_idempotency._Base, "post", spy)
    post(api, "/atomic/", key="a")
    post(api, "/not-atomic/", key="b")
    assert seen == [True, False]  # a gateway call in the second holds no transaction open


def test_a_secret_shown_once_is_not_stored_nor_replayed(api):
    first = post(api, "/not-replayable/")
    assert first.status_code == 201
    assert first.json()["secret"] == "whsec_shown_once"
    record = IdempotencyKey.objects.get()
    assert record.response_body is None
    assert not record.replayable
    again = post(api, "/not-replayable/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "idempotency_not_replayable"
    assert "whsec" not in again.content.decode()
    assert Branch.objects.count() == 1


def test_a_refusal_of_a_non_replayable_view_replays_as_it_was(api):
    refused = post(api, "/not-replayable/", status=409)
    assert refused.status_code == 409
    again = post(api, "/not-replayable/", status=409)
    assert again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == refused.content
