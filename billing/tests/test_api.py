"""The subscription walk of issue 10, through the API and the sandbox test clock."""

from __future__ import annotations

import pytest
from django.core import mail

from billing.models import Attempt, BillingEvent, BillingPeriod, Notification, Subscription
from exceptionqueue.models import ExceptionCase
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def post(api, path, body, status=201):
    response = api.post(f"/api/v1/{path}", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def tick(api, now: str) -> dict:
    return post(api, "sandbox/clock/", {"now": now}, status=200)["ran"]


def period_of(api, subscription_id) -> dict:
    page = api.get(f"/api/v1/billing-periods/?subscription={subscription_id}").json()
    (period,) = page["results"]
    return period


def outcome(api, payment_id, value):
    return post(api, f"sandbox/payments/{payment_id}/outcome/", {"outcome": value}, status=200)


@pytest.fixture
def setup(api, gym, timeline_clock):
    response = api.patch(
        "/api/v1/billing-settings/",
        {"max_attempts": 3, "retry_delays_hours": [24, 96], "grace_days": 3, "max_reminders": 2},
        format="json",
    )
    assert response.status_code == 200, response.content
    post(
        api,
        "plans/",
        {
            "code": "monthly",
            "name": "Monthly",
            "amount": "15000.00",
            "currency": "AMD",
            "interval": "month",
        },
    )

    def subscribe(ref: str, language: str = "ru") -> dict:
        body = {
            "external_ref": ref,
            "name": "Aram",
            "language": language,
            "email": f"{ref}@example.am",
        }
        customer = post(api, "customers/", body)
        body = {
            "customer": customer["id"],
            "plan": "monthly",
            "branch": "gym",
            "start_date": "2026-12-01",
            "collection": "payment_link",
        }
        return post(api, "subscriptions/", body)

    return subscribe


def test_walk_due_failures_retries_grace_suspension_payment_recovery(api, setup, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    subscription = setup("member-1")
    assert subscription["status"] == "active"
    assert subscription["entitlement"] == {
        "active": False,
        "until": None,
        "source": None,
        "block_date": None,
    }
    assert period_of(api, subscription["id"])["status"] == "scheduled"

    # Due: invoiced, and the first attempt's link is out.
    assert tick(api, "2026-12-01T10:00:00+04:00")["billing_attempts_created"] == 1
    period = period_of(api, subscription["id"])
    assert period["status"] == "pending"
    assert period["block_date"] == "2026-12-04"
    first = period["attempts"][0]
    assert first["payment_url"]

    # Insufficient funds: retried after 24 h; reminder 1 (in Russian).
    outcome(api, first["payment"], "insufficient_funds")
    period = period_of(api, subscription["id"])
    assert period["status"] == "retrying"
    assert period["next_retry_at"] == "2026-12-02T10:00:00+04:00"
    assert period["last_failure_reason"] == {"code": "insufficient_funds", "action_code": "116"}
    assert api.get(f"/api/v1/subscriptions/{subscription['id']}/").json()["status"] == "past_due"

    # Not yet: nothing is tried before the retry time.
    assert tick(api, "2026-12-02T09:00:00+04:00")["billing_attempts_created"] == 0
    ran = tick(api, "2026-12-02T10:00:00+04:00")
    assert ran["billing_attempts_created"] == 1
    second = period_of(api, subscription["id"])["attempts"][1]
    assert second["number"] == 2
    outcome(api, second["payment"], "technical_error")
    period = period_of(api, subscription["id"])
    assert period["status"] == "retrying"
    assert period["last_failure_reason"] == {"code": "technical_error", "action_code": "909"}
    assert period["next_retry_at"] == "2026-12-06T10:00:00+04:00"  # 96 h later

    # Grace over at the block date: suspended (no entitlement was ever granted).
    ran = tick(api, "2026-12-04T00:30:00+04:00")
    assert ran["billing_suspended"] == 1
    assert api.get(f"/api/v1/subscriptions/{subscription['id']}/").json()["status"] == "suspended"

    # The last allowed attempt is paid: the period is paid, the subscription recovers.
    assert tick(api, "2026-12-06T10:00:00+04:00")["billing_attempts_created"] == 1
    third = period_of(api, subscription["id"])["attempts"][2]
    outcome(api, third["payment"], "approved")
    period = period_of(api, subscription["id"])
    assert period["status"] == "paid"
    assert period["verified_amount"] == "15000.00"
    assert period["verified_at"]
    detail = api.get(f"/api/v1/subscriptions/{subscription['id']}/").json()
    assert detail["status"] == "active"
    assert detail["entitlement"] == {
        "active": True,
        "until": "2026-12-31",
        "source": "payment",
        "block_date": "2027-01-04",
    }

    # Exactly the configured attempts and reminders.
    assert Attempt.objects.count() == 3
    assert [a["status"] for a in period["attempts"]] == ["failed", "failed", "paid"]
    notifications = api.get("/api/v1/notifications/").json()["results"]
    assert len(notifications) == 2
    assert {n["language"] for n in notifications} == {"ru"}
    assert len(mail.outbox) == 2
    assert "Оплата" in mail.outbox[0].subject
    # No third attempt or reminder later on, and the next period comes at its date.
    ran = tick(api, "2027-01-01T10:00:00+04:00")
    assert ran["billing_periods_created"] == 1
    assert ran["billing_attempts_created"] == 1
    assert Notification.objects.count() == 2
    kinds = set(WebhookEvent.objects.values_list("event_type", flat=True))
    assert {
        "subscription.past_due",
        "subscription.suspended",
        "subscription.active",
        "billing_period.retrying",
        "billing_period.paid",
        "entitlement.changed",
    } <= kinds


def test_hard_decline_goes_straight_to_manual_review(api, setup):
    subscription = setup("member-2")
    tick(api, "2026-12-01T10:00:00+04:00")
    first = period_of(api, subscription["id"])["attempts"][0]
    outcome(api, first["payment"], "declined")
    period = period_of(api, subscription["id"])
    assert period["status"] == "manual_review"
    assert period["next_retry_at"] is None
    assert period["last_failure_reason"] == {"code": "declined", "action_code": "100"}
    case = ExceptionCase.objects.get(kind="retry_limit_reached")
    assert case.subject_id == str(period["id"])
    # Nothing more is tried by the schedule; a person decides (not with a bare note).
    assert tick(api, "2026-12-03T10:00:00+04:00")["billing_attempts_created"] == 0
    bare = api.post(f"/api/v1/exceptions/{case.pk}/resolve/", {"note": "ok"}, format="json")
    assert bare.status_code == 409, bare.json()
    assert bare.json()["error"]["code"] == "decided_by_review_decision"
    from desk.views.pages import case_decision  # the desk and the queue link to the decision

    assert case_decision(None, case) == (
        f"Decide billing period #{period['id']} (retry or waive)",
        f"/admin/billing/manualreviewperiod/{period['id']}/decide/",
    )
    decided = post(
        api,
        f"billing-periods/{period['id']}/decision/",
        {"decision": "retry", "comment": "customer asked"},
        status=200,
    )
    assert decided["status"] == "pending"
    assert len(decided["attempts"]) == 2
    outcome(api, decided["attempts"][1]["payment"], "approved")
    assert period_of(api, subscription["id"])["status"] == "paid"
    case.refresh_from_db()
    assert case.status == "resolved"


def test_retry_limit_reached_after_the_last_allowed_attempt(api, setup):
    subscription = setup("member-3")
    times = ["2026-12-01T10:00:00+04:00", "2026-12-02T10:00:00+04:00", "2026-12-06T10:00:00+04:00"]
    for number, now in enumerate(times, start=1):
        assert tick(api, now)["billing_attempts_created"] == 1
        attempt = period_of(api, subscription["id"])["attempts"][number - 1]
        outcome(api, attempt["payment"], "insufficient_funds")
    period = period_of(api, subscription["id"])
    assert period["status"] == "manual_review"
    assert ExceptionCase.objects.filter(kind="retry_limit_reached").count() == 1
    assert tick(api, "2026-12-20T10:00:00+04:00")["billing_attempts_created"] == 0
    assert Attempt.objects.count() == 3
    assert Notification.objects.count() == 2  # max_reminders


def test_an_expired_link_is_retried_and_a_late_payment_on_it_is_listed(api, setup):
    subscription = setup("member-4")
    tick(api, "2026-12-01T10:00:00+04:00")
    first = period_of(api, subscription["id"])["attempts"][0]
    ran = tick(api, "2026-12-04T10:00:00+04:00")  # the link is valid 72 h
    assert ran["billing_links_expired"] == 1
    period = period_of(api, subscription["id"])
    assert period["last_failure_reason"]["code"] == "link_expired"
    # The customer pays the expired link at the gateway: accepted, listed, not counted.
    payment = outcome(api, first["payment"], "approved")
    assert payment["status"] == "expired"
    assert ExceptionCase.objects.filter(kind="late_payment").count() == 1
    assert period_of(api, subscription["id"])["verified_amount"] == "0.00"


def test_pause_resume_cancel_and_changes_after_cancel(api, setup):
    subscription = setup("member-5")
    sid = subscription["id"]
    assert post(api, f"subscriptions/{sid}/pause/", {"comment": "travel"}, 200)["status"] == (
        "paused"
    )
    refused = api.post(f"/api/v1/subscriptions/{sid}/pause/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "transition_not_allowed"
    assert post(api, f"subscriptions/{sid}/resume/", {}, 200)["status"] == "active"
    cancelled = post(api, f"subscriptions/{sid}/cancel/", {"at": "now", "comment": "moved"}, 200)
    assert cancelled["status"] == "cancelled"
    assert cancelled["periods"][0]["status"] == "waived"
    before = BillingEvent.objects.count()
    for path, body in [
        ("pause/", {}),
        ("plan-changes/", {"plan": "monthly", "effective": "now"}),
        ("entitlement-overrides/", {"until": "2027-01-01", "reason": "gift"}),
    ]:
        response = api.post(f"/api/v1/subscriptions/{sid}/{path}", body, format="json")
        assert response.status_code == 409, (path, response.content)
        assert response.json()["error"]["code"] == "subscription_cancelled"
    assert BillingEvent.objects.count() == before
    assert Subscription.objects.get().status == "cancelled"
    assert BillingPeriod.objects.get().status == "waived"
