"""Bad input of issue 10: a 4xx with a stable code, and nothing changed."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import BillingEvent, BillingSettings, Customer, Plan, Subscription

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        Customer.objects.count(),
        Plan.objects.count(),
        Subscription.objects.count(),
        BillingEvent.objects.count(),
        list(BillingSettings.objects.values_list("max_attempts", "retry_delays_hours")),
    )


@pytest.fixture
def world(api, other_api, gym, timeline_clock):
    """A plan and a customer of the organisation, and another organisation's; the organisation's
    clock is at the timeline's start (the subscriptions posted start on 1 December 2026)."""
    plan = api.post(
        "/api/v1/plans/",
        {
            "code": "monthly",
            "name": "Monthly",
            "amount": "15000.00",
            "currency": "AMD",
            "interval": "month",
        },
        format="json",
    ).json()
    customer = api.post(
        "/api/v1/customers/", {"external_ref": "c1", "name": "C", "language": "en"}, format="json"
    ).json()
    other = other_api.post(
        "/api/v1/customers/", {"external_ref": "x", "name": "X", "language": "hy"}, format="json"
    ).json()
    other_api.post(
        "/api/v1/plans/",
        {"code": "foreign", "name": "F", "amount": "1.00", "currency": "AMD", "interval": "day"},
        format="json",
    )
    return {"plan": plan, "customer": customer, "other_customer": other}


def subscription_body(world, **changes):
    body = {
        "customer": world["customer"]["id"],
        "plan": "monthly",
        "branch": "gym",
        "start_date": "2026-12-01",
        "collection": "payment_link",
    }
    body.update(changes)
    return body


CASES = [
    ("another organisation's customer", {"customer": "other"}, 404, "customer_not_found"),
    ("another organisation's plan", {"plan": "foreign"}, 404, "plan_not_found"),
    ("unknown plan", {"plan": "nope"}, 404, "plan_not_found"),
    ("unknown branch", {"branch": "nope"}, 404, "branch_not_found"),
    ("a currency other than the plan's", {"currency": "USD"}, 400, "currency_mismatch"),
    (
        "saved card on Idram",
        {"collection": "saved_card", "provider": "idram"},
        422,
        "saved_card_not_supported",
    ),
    (
        "saved card on Telcell",
        {"collection": "saved_card", "provider": "telcell"},
        422,
        "saved_card_not_supported",
    ),
    ("a start in 1970", {"start_date": "1970-01-01"}, 400, "start_date_out_of_range"),
    ("a start past the last period", {"start_date": "9998-12-31"}, 400, "start_date_out_of_range"),
    ("card data", {"card_number": "4083970000000021", "cvv": "123"}, 400, "unknown_field"),
]


@pytest.mark.parametrize(("label", "changes", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_subscription_create_refusals(api, world, label, changes, status, code):
    if changes.get("customer") == "other":
        changes = {"customer": world["other_customer"]["id"]}
    before = snapshot()
    response = api.post(
        "/api/v1/subscriptions/", subscription_body(world, **changes), format="json"
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert snapshot() == before


def test_saved_card_where_the_gateway_has_tokens_is_accepted(api, world):
    response = api.post(
        "/api/v1/subscriptions/", subscription_body(world, collection="saved_card"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["collection"] == "saved_card"


def test_customer_card_fields_are_unknown_and_nothing_is_stored(api):
    body = {
        "external_ref": "c9",
        "name": "N",
        "language": "hy",
        "pan": "4083970000000021",
        "cvv": "123",
        "expiry": "12/30",
    }
    response = api.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert set(error["fields"]) == {"pan", "cvv", "expiry"}
    assert not Customer.objects.exists()


def test_override_without_reason_and_changes_after_cancel(api, world):
    subscription = api.post("/api/v1/subscriptions/", subscription_body(world), format="json")
    sid = subscription.json()["id"]
    before = snapshot()
    response = api.post(
        f"/api/v1/subscriptions/{sid}/entitlement-overrides/",
        {"until": "2027-01-31", "reason": " "},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reason_required"
    assert snapshot() == before
    body = {"until": "2027-01-31", "reason": "gym closed 2 weeks"}
    response = api.post(f"/api/v1/subscriptions/{sid}/entitlement-overrides/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["entitlement"]["source"] == "override"
    assert response.json()["entitlement"]["until"] == "2027-01-31"


def test_billing_settings_refuse_more_delays_than_retries(api):
    assert api.get("/api/v1/billing-settings/").json()["max_attempts"] == 3
    before = snapshot()
    body = {"max_attempts": 2, "retry_delays_hours": [24, 48]}
    response = api.patch("/api/v1/billing-settings/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "retry_delays_too_long"
    assert snapshot() == before
    for body in ({"max_attempts": 0}, {"retry_reasons": ["fraud"]}, {"grace": 3}):
        assert api.patch("/api/v1/billing-settings/", body, format="json").status_code == 400
    assert snapshot() == before
    ok = api.patch(
        "/api/v1/billing-settings/",
        {"max_attempts": 4, "retry_delays_hours": [1, 2, 3]},
        format="json",
    )
    assert ok.status_code == 200
    assert ok.json()["retry_delays_hours"] == [1, 2, 3]


def test_plan_input(api):
    bad = [
        {"code": "p", "name": "P", "amount": "0", "currency": "AMD", "interval": "month"},
        {
            "code": "p",
            "name": "P",
            "amount": "99999999999.00",
            "currency": "AMD",
            "interval": "month",
        },
        {"code": "p", "name": "P", "amount": "1.00", "currency": "AMD", "interval": "fortnight"},
        {"code": "p", "name": "P", "amount": 1.5, "currency": "AMD", "interval": "month"},
    ]
    for body in bad:
        response = api.post("/api/v1/plans/", body, format="json")
        assert response.status_code == 400, body
    assert not Plan.objects.exists()
    body = {"code": "p", "name": "P", "amount": "1.00", "currency": "AMD", "interval": "month"}
    assert api.post("/api/v1/plans/", body, format="json").status_code == 201
    again = api.post("/api/v1/plans/", body, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_plan"


def test_other_organisations_objects_do_not_exist(api, other_api, world):
    sid = api.post("/api/v1/subscriptions/", subscription_body(world), format="json").json()["id"]
    assert other_api.get(f"/api/v1/subscriptions/{sid}/").status_code == 404
    assert (
        other_api.post(f"/api/v1/subscriptions/{sid}/pause/", {}, format="json").status_code == 404
    )
    assert other_api.get("/api/v1/billing-periods/").json()["results"] == []


def test_start_date_outside_the_window_names_the_accepted_dates(api, world, organization):
    from conftest import clock_at

    daily = {"code": "daily", "name": "D", "amount": "100.00", "currency": "AMD", "interval": "day"}
    assert api.post("/api/v1/plans/", daily, format="json").status_code == 201
    biennial = {**daily, "code": "biennial", "interval": "year", "interval_count": 2}
    assert api.post("/api/v1/plans/", biennial, format="json").status_code == 201
    moment = dt.datetime(2026, 11, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=4)))
    with clock_at(organization, moment):
        before = snapshot()
        refused = {
            (plan, start): api.post(
                "/api/v1/subscriptions/",
                subscription_body(world, plan=plan, start_date=start),
                format="json",
            )
            for plan, start in (("daily", "1970-01-01"), ("biennial", "9998-12-31"))
        }
        for response in refused.values():
            assert response.status_code == 400, response.content
            assert response.json()["error"]["code"] == "start_date_out_of_range"
            assert list(response.json()["error"]["fields"]) == ["start_date"]
        [daily_error] = refused["daily", "1970-01-01"].json()["error"]["fields"]["start_date"]
        assert daily_error.startswith("Must be from 2026-11-14 ")
        [biennial_error] = refused["biennial", "9998-12-31"].json()["error"]["fields"]["start_date"]
        assert biennial_error.endswith(" to 9997-01-01.")
        assert snapshot() == before
        body = subscription_body(world, plan="daily", start_date="2026-11-14")
        response = api.post("/api/v1/subscriptions/", body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["start_date"] == "2026-11-14"
