"""The test clock and the due-work registry: one place for time, one runner for due work."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from core import duework
from core.clock import clock_now
from core.models import TestClock


@pytest.fixture
def recorder():
    seen = []

    def runner(*, organization, now, actor):
        seen.append((organization.slug, now, actor.username))
        return {"recorded": 1}

    duework.register_due_work("tests.recorder", runner)
    yield seen
    duework._runners.pop("tests.recorder", None)


def test_without_a_clock_time_is_real(organization):
    before = timezone.now()
    assert before <= clock_now(organization) <= timezone.now()


def test_the_api_moves_the_clock_forward_and_runs_the_due_work_as_of_it(
    api, organization, recorder
):
    later = timezone.now() + dt.timedelta(days=31)
    answer = api.post("/api/v1/sandbox/clock/", {"now": later.isoformat()}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["ran"]["recorded"] == 1
    assert recorder[-1][:2] == ("yerevan-cafe", later)
    assert clock_now(organization) == later
    assert api.get("/api/v1/sandbox/clock/").json()["frozen"] is True

    back = api.post(
        "/api/v1/sandbox/clock/", {"now": (later - dt.timedelta(hours=1)).isoformat()}, "json"
    )
    assert back.status_code == 409
    assert back.json()["error"]["code"] == "clock_backwards"
    assert clock_now(organization) == later

    naive = api.post("/api/v1/sandbox/clock/", {"now": "2030-01-01T10:00:00"}, format="json")
    assert naive.status_code == 400
    assert "now" in naive.json()["error"]["fields"]

    assert api.delete("/api/v1/sandbox/clock/").status_code == 204
    assert not TestClock.objects.exists()
    assert clock_now(organization) < later
    history = TestClock.history.order_by("history_id")
    assert [row.history_type for row in history] == ["+", "-"]


def test_the_clock_of_one_organisation_is_not_another_s(api, other_organization, organization):
    later = timezone.now() + dt.timedelta(days=3)
    api.post("/api/v1/sandbox/clock/", {"now": later.isoformat()}, format="json")
    assert clock_now(organization) == later
    assert clock_now(other_organization) < later


def test_with_the_sandbox_off_the_clock_is_404_and_ignored(api, organization, settings):
    TestClock.objects.create(organization=organization, now=timezone.now() + dt.timedelta(days=9))
    settings.PAYOPS_SANDBOX = False
    assert api.get("/api/v1/sandbox/clock/").status_code == 404
    assert clock_now(organization) < timezone.now() + dt.timedelta(minutes=1)


def test_run_due_work_runs_every_registered_runner(organization, other_organization, recorder):
    call_command("run_due_work", "--org", organization.slug)
    assert [slug for slug, *_ in recorder] == ["yerevan-cafe"]
    call_command("run_due_work")
    assert sorted(slug for slug, *_ in recorder[1:]) == ["gyumri-bakery", "yerevan-cafe"]


def test_run_due_work_refuses_an_unknown_organisation(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no organisation 'nope'"):
        call_command("run_due_work", "--org", "nope")


@pytest.fixture
def horizon():
    """A domain's limit on one move: a week from the clock's current time."""
    from core.clock import ClockHorizon, _horizons, register_clock_horizon

    def limit(*, organization, now):
        return ClockHorizon(until=now + dt.timedelta(days=7), why="a week, for the test")

    register_clock_horizon("tests.week", limit)
    yield
    _horizons.pop("tests.week", None)


def test_a_move_beyond_the_horizon_is_refused_with_nothing_changed(
    api, organization, recorder, horizon
):
    start = timezone.now() + dt.timedelta(hours=1)
    assert api.post("/api/v1/sandbox/clock/", {"now": start.isoformat()}, "json").status_code == 200
    runs = len(recorder)
    furthest = timezone.localtime(start + dt.timedelta(days=7), organization.tz)
    answer = api.post(
        "/api/v1/sandbox/clock/", {"now": (furthest + dt.timedelta(seconds=1)).isoformat()}, "json"
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "clock_too_far"
    assert error["fields"]["now"] == [
        f"At most {furthest.isoformat()} in one move (a week, for the test)."
    ]
    assert clock_now(organization) == start
    assert len(recorder) == runs  # no due work ran
    assert TestClock.history.count() == 1  # only the first set

    moved = api.post("/api/v1/sandbox/clock/", {"now": furthest.isoformat()}, "json")
    assert moved.status_code == 200, moved.content
    assert clock_now(organization) == furthest
    assert len(recorder) == runs + 1


def test_the_refusal_is_documented_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/v1/sandbox/clock/"]["post"]
    assert "clock_too_far" in str(post["responses"]["400"])
