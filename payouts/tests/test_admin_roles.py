"""Issue 9 in the admin: each task possible for the role that does it (Operator, Accountant) and
refused, with the reason, for the others; the figures operators and accountants need."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from core.models import Membership
from core.roles import roles_sync
from exceptionqueue.models import ExceptionCase
from payouts import services
from payouts.models import Payout, PayoutPeriod, PayoutReversal, Recipient
from payouts.tests.factories import paid, refund, today


def person(organization, role: str, name: str) -> User:
    roles_sync()
    user = User.objects.create_user(name, password="x", is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def operator(organization):
    return person(organization, "Operator", "olga")


@pytest.fixture
def accountant(organization):
    return person(organization, "Accountant", "arsen")


@pytest.fixture
def payout(organization, recipient, qr, actor):
    paid(qr, "700.00")
    day = today(organization)
    return services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )


@pytest.fixture
def completed(payout, actor):
    services.payout_process(payout=payout, actor=actor)
    return services.payout_complete(
        payout=payout, actor=actor, method="bank_transfer", reference="TRX-1"
    )


def transition_url(payout, to):
    return reverse("admin:payouts_payout_transition", args=[payout.pk, to])


# --- accountants add recipients and periods -----------------------------------------------------


def test_accountant_adds_a_recipient_through_the_service(client, organization, branch, accountant):
    client.force_login(accountant)
    url = reverse("admin:payouts_recipient_add")
    assert client.get(url).status_code == 200  # was 403 although the role holds add_recipient
    response = client.post(
        url,
        {
            "organization": organization.pk,
            "branch": branch.pk,
            "scope": "employee",
            "name": "Lilit",
            "external_ref": "W-9",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    recipient = Recipient.objects.get(external_ref="W-9")
    assert recipient.history.first().history_user == accountant


def test_operator_cannot_add_recipients_or_periods(client, operator):
    client.force_login(operator)
    refused = client.get(reverse("admin:payouts_recipient_add"))
    assert refused.status_code == 403
    assert b"Your role does not hold the permission this page needs." in refused.content
    assert b'id="header"' in refused.content  # the admin's layout, not a bare "403 Forbidden"
    assert client.get(reverse("admin:payouts_payoutperiod_add")).status_code == 403


def test_accountant_adds_a_period_and_overlaps_are_the_services_message(
    client, organization, accountant
):
    client.force_login(accountant)
    url = reverse("admin:payouts_payoutperiod_add")
    assert client.get(url).status_code == 200  # was 403 although the role holds the permission
    data = {
        "organization": organization.pk,
        "kind": "week",
        "name": "Week 1",
        "start_date": "2026-11-02",
        "end_date": "2026-11-08",
    }
    assert client.post(url, data).status_code == 302
    period = PayoutPeriod.objects.get()
    assert period.history.first().history_user == accountant
    overlap = client.post(url, {**data, "name": "again"}, follow=True)
    assert b"The period overlaps another accounting period." in overlap.content
    assert PayoutPeriod.objects.count() == 1


def test_a_period_the_service_refuses_is_shown_on_the_form_again(client, organization, accountant):
    """Before: the refusal was a message above an empty add form (a redirect): the dates typed
    were lost. Now the form is shown again (200) with the service's sentence as a form error
    and its field messages on the fields; nothing saved."""
    client.force_login(accountant)
    url = reverse("admin:payouts_payoutperiod_add")
    data = {
        "organization": organization.pk,
        "kind": "week",
        "name": "Week 1",
        "start_date": "2026-11-02",
        "end_date": "2026-11-08",
    }
    assert client.post(url, data).status_code == 302
    overlap = client.post(url, {**data, "name": "again", "start_date": "2026-11-05"})
    assert overlap.status_code == 200
    form = overlap.context["adminform"].form
    assert form.non_field_errors() == ["The period overlaps another accounting period."]
    assert 'value="2026-11-05"' in overlap.content.decode()
    inverted = client.post(url, {**data, "start_date": "2026-12-08", "end_date": "2026-12-02"})
    assert inverted.status_code == 200
    assert inverted.context["adminform"].form.errors  # the model's constraint, on the form
    assert PayoutPeriod.objects.count() == 1


# --- period figures, the close ------------------------------------------------------------------


@pytest.fixture
def period_with_payouts(organization, recipient, qr, actor):
    day = today(organization) - dt.timedelta(days=3)
    paid(qr, "1000.00", day=day)
    paid(qr, "500.00", day=day)
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    return period


def test_period_close_asks_then_reports_what_it_built(client, accountant, period_with_payouts):
    client.force_login(accountant)
    period = period_with_payouts
    changelist = reverse("admin:payouts_payoutperiod_changelist")
    action = {"action": "close", "_selected_action": [period.pk]}
    ask = client.post(changelist, action)
    assert ask.status_code == 200
    assert b"Close 1 period and build the payouts" in ask.content
    assert b"Not ended" not in ask.content  # it ended three days ago
    done = client.post(changelist, {**action, "apply": "1"}, follow=True)
    period.refresh_from_db()
    assert period.status == "closed"
    assert b"the close built 1 payout(s) (net 1500.00 AMD)" in done.content
    page = client.get(reverse("admin:payouts_payoutperiod_change", args=[period.pk]))
    totals = page.context["figures"]["totals"]
    assert [
        (t["currency"], t["payouts"], t["payments"], t["gross"], t["fee"], t["net"]) for t in totals
    ] == [("AMD", 1, 2, Decimal("1500.00"), Decimal("0.00"), Decimal("1500.00"))]
    assert page.context["figures"]["status_counts"]["requested"] == 1
    listing = client.get(
        reverse("admin:payouts_payout_changelist"), {"accounting_period__id__exact": period.pk}
    )
    assert [t["net"] for t in listing.context_data["payout_totals"]] == [Decimal("1500.00")]
    assert b"Totals of this list" in listing.content
    # Two places, as the rows (SQLite's SUM dropped them: "1500" under rows of "750.00").
    assert b"<strong>1500.00</strong>" in listing.content


def test_closing_a_period_that_has_not_ended_warns_first(client, organization, accountant, actor):
    day = today(organization)
    period = services.period_create(
        organization=organization,
        kind="week",
        start_date=day,
        end_date=day + dt.timedelta(days=6),
        actor=actor,
    )
    client.force_login(accountant)
    ask = client.get(reverse("admin:payouts_payoutperiod_close", args=[period.pk]))
    assert ask.status_code == 200
    assert b"Not ended" in ask.content
    period.refresh_from_db()
    assert period.status == "open"  # asking closes nothing


def test_operator_may_not_close_and_is_told_why(client, operator, period_with_payouts):
    client.force_login(operator)
    response = client.post(
        reverse("admin:payouts_payoutperiod_close", args=[period_with_payouts.pk]), {"apply": "1"}
    )
    assert response.status_code == 403
    assert b"payouts.close_payoutperiod" in response.content
    period_with_payouts.refresh_from_db()
    assert period_with_payouts.status == "open"


# --- reversal -----------------------------------------------------------------------------------


def test_accountant_reverses_a_completed_payout_with_a_reason(client, accountant, completed):
    client.force_login(accountant)
    page = client.get(reverse("admin:payouts_payout_change", args=[completed.pk]))
    assert transition_url(completed, "reversed").encode() in page.content
    no_reason = client.post(transition_url(completed, "reversed"), {"reference": "RET-1"})
    assert no_reason.status_code == 200
    assert b"A reversal needs a comment saying why" in no_reason.content
    done = client.post(
        transition_url(completed, "reversed"),
        {"reference": "RET-1", "comment": "the transfer bounced"},
    )
    assert done.status_code == 302
    completed.refresh_from_db()
    assert completed.status == "reversed"
    reversal = PayoutReversal.objects.get(payout=completed)
    assert (reversal.reference, reversal.actor) == ("RET-1", accountant)


def test_operator_may_not_reverse_and_is_told_why(client, operator, completed):
    client.force_login(operator)
    page = client.get(reverse("admin:payouts_payout_change", args=[completed.pk]))
    assert transition_url(completed, "reversed").encode() not in page.content
    response = client.post(
        transition_url(completed, "reversed"), {"reference": "X", "comment": "crafted"}
    )
    assert response.status_code == 403
    assert b"payouts.reverse_payout" in response.content
    assert b'id="header"' in response.content  # the admin's layout, not a bare 403
    completed.refresh_from_db()
    assert completed.status == "completed"


# --- transitions: the server's rule and words, typed URLs explained ------------------------------


def test_blank_reference_is_refused_by_the_server_with_the_apis_words(client, operator, payout):
    client.force_login(operator)
    client.post(transition_url(payout, "processing"), {})
    response = client.post(
        transition_url(payout, "completed"), {"method": "cash", "reference": "   "}
    )
    assert response.status_code == 200
    assert b"Completing a payout needs the method and the reference." in response.content
    payout.refresh_from_db()
    assert payout.status == "processing"
    assert ExceptionCase.objects.filter(kind="completed_without_reference").exists()  # as the API


def test_payout_method_is_a_choice(client, operator, payout):
    client.force_login(operator)
    client.post(transition_url(payout, "processing"), {})
    response = client.post(
        transition_url(payout, "completed"), {"method": "pigeon", "reference": "R-1"}
    )
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert dict(Payout._meta.get_field("method").choices)["bank_transfer"] == "Bank transfer"


def test_a_typed_transition_url_explains_the_refusal(client, operator, accountant, payout):
    client.force_login(operator)
    early = client.get(transition_url(payout, "completed"))
    assert early.status_code == 409
    assert b"Start processing first" in early.content
    unknown = client.get(transition_url(payout, "paid"))
    assert unknown.status_code == 404
    assert b"processing, completed, cancelled, reversed" in unknown.content
    client.force_login(accountant)
    refused = client.get(transition_url(payout, "cancelled"))
    assert refused.status_code == 403
    assert b"payouts.cancel_payout" in refused.content
    assert b'id="header"' in refused.content


# --- refund drift: the decision form and the queue -----------------------------------------------


@pytest.fixture
def held(organization, recipient, qr, actor):
    payment = paid(qr, "1000.00")
    day = today(organization)
    payout = services.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    services.payout_process(payout=payout, actor=actor)
    refund(payment, "400.00")
    payout.refresh_from_db()
    assert payout.drift_hold
    return payout


def test_drift_form_shows_the_refund_and_the_resulting_net(client, operator, held):
    client.force_login(operator)
    page = client.get(reverse("admin:payouts_payout_drift", args=[held.pk]))
    assert page.status_code == 200
    preview = page.context["preview"]
    assert preview["total"] == Decimal("400.00")
    assert preview["recalculate"] == {
        "gross": Decimal("600.00"),
        "fee": Decimal("0.00"),
        "net": Decimal("600.00"),
    }
    assert preview["carry"]["net"] == held.net
    assert b"400.00 AMD" in page.content


def test_a_drift_case_links_to_its_decision_and_offers_no_bare_resolve(client, operator, held):
    case = ExceptionCase.objects.get(kind="refund_drift")
    assert case.subject == held
    client.force_login(operator)
    page = client.get(reverse("admin:exceptionqueue_exceptioncase_change", args=[case.pk]))
    drift_url = reverse("admin:payouts_payout_drift", args=[held.pk])
    assert drift_url.encode() in page.content
    assert b"Resolve or dismiss" not in page.content
    resolve = client.post(
        reverse("admin:exceptionqueue_exceptioncase_resolve", args=[case.pk]),
        {"outcome": "resolve", "note": "looked at it"},
    )
    assert resolve.status_code == 409
    case.refresh_from_db()
    assert case.status == "open"
    held.refresh_from_db()
    assert held.drift_hold
    decided = client.post(drift_url, {"decision": "carry", "comment": "paid already"})
    assert decided.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved"


# --- the payment page and list -------------------------------------------------------------------


def test_payment_page_names_its_recipient_and_payout(client, operator, recipient, qr, payout):
    payment = payout.lines.get().payment
    other = paid(qr, "300.00")
    client.force_login(operator)
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    rows = page.context["payment_relations"]
    assert rows[0][:2] == ("Recipient", str(recipient))
    assert rows[1][0] == "Payout"
    assert rows[1][1].startswith(f"#{payout.pk} ")
    listing = client.get(reverse("admin:payments_payment_changelist"), {"recipient": recipient.pk})
    assert {p.pk for p in listing.context_data["cl"].queryset} == {payment.pk, other.pk}
    assert b"payout recipient" in listing.content.lower()


@pytest.mark.parametrize("role", ["Operator", "Accountant"])
def test_a_payouts_page_shows_its_lines_and_audit_trail_to_both_roles(
    client, organization, role, completed
):
    """The operator decides and completes payouts, the accountant checks them: both see the
    lines and the audit trail on the payout's page (they saw only its fields)."""
    client.force_login(person(organization, role, f"{role.lower()}-1"))
    page = client.get(reverse("admin:payouts_payout_change", args=[completed.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Payout lines" in html
    assert "Audit trail" in html
    assert "TRX-1" in html  # the completion's reference, from the trail
