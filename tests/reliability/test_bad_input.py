"""Bad input, as explicit tables (issue 15): what the apps' own tests do not cover yet.

- **Importers**: malformed files of every format the reconciliation importers accept (payops CSV,
  the BPC/ArCa order list, the Ameriabank vPOS list; Idram and Telcell have no report format of
  their own and come as payops CSV; MT940 and camt.053 bank statements): wrong or missing
  columns, bad amounts and dates, wrong encoding, XML entities, empty, truncated, a huge line.
  Each is refused by the service naming the line and the problem with nothing written, by the
  management command with a non-zero exit and a sentence, and (provider reports, the only upload
  the API takes) by the API with 400.
- **Callbacks**: for every provider callback endpoint, wrong and missing checksums, a replayed
  confirmation, and confirmations dated before the payment or in the future.
- **Amounts**: at and beyond every bound on every write endpoint that takes an amount.

The apps' tests already cover (and are not repeated here): the payops CSV's bad values per column,
missing and unknown columns, field counts and Latin-1 text (``reconciliation/tests/services/
test_reports.py``), camt.053 amounts that are not money and entities (``test_bank.py``), each
adapter's checksum scheme (``payments/tests/providers``), the sandbox callback's signature
(``payments/tests/test_callbacks.py``), and amounts beyond the bound on the sandbox QR payment,
the QR checkout and the payment refund (``tests/test_api_input_validation.py``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from core.actors import system_actor
from core.errors import DomainError
from reconciliation.models import (
    BankStatement,
    BankStatementLine,
    ProviderReport,
    ProviderReportRow,
)
from reconciliation.services import bank_statement_import, provider_report_import

pytestmark = pytest.mark.postgres

CAMT = (
    (Path(__file__).resolve().parents[2] / "reconciliation" / "tests" / "fixtures")
    .joinpath("camt053_example.xml")
    .read_bytes()
)
CSV_HEADER = "order_number,provider_reference,amount,currency,status,paid_at,refunded_amount,fee"
CSV_ROW = "PO-1,REF-1,{amount},AMD,paid,{paid_at},0.00,0.00"
PAID_AT = "2026-10-05T12:00:00+04:00"
HUGE_LINE = "x" * 2_000_000


def payops_csv(amount="1000.00", paid_at=PAID_AT, extra: str = "") -> bytes:
    return f"{CSV_HEADER}\n{CSV_ROW.format(amount=amount, paid_at=paid_at)}\n{extra}".encode()


def bpc(order: dict | None = None, **changes) -> bytes:
    row = {
        "orderNumber": "PO-1",
        "orderStatus": 2,
        "amount": 150000,
        "currency": "051",
        "date": 1791187200000,
        "authDateTime": 1791187200000,
    }
    row.update(order or {})
    row.update(changes)
    return json.dumps({"errorCode": "0", "orderStatuses": [row], "totalCount": 1}).encode()


def ameria(amount="2500.00", when="05/10/2026 14:30:00", payment_id=None) -> bytes:
    payment_id = payment_id or "ab12cd34-0000-4000-8000-000000000001"
    return f"""<?xml version="1.0"?>
<GetTransactionListResponse><GetTransactionListResult>
<PaymentDetails><PaymentID>{payment_id}</PaymentID><Opaque>PO123</Opaque><OrderID>123</OrderID>
<Amount>{amount}</Amount><ApprovedAmount>{amount}</ApprovedAmount><Currency>051</Currency>
<OrderStatus>2</OrderStatus><RefundedAmount>0</RefundedAmount><DateTime>{when}</DateTime>
</PaymentDetails></GetTransactionListResult></GetTransactionListResponse>""".encode()


def mt940(amount="45000,00", date="261102", account=":25:AM00123456789012345678\n") -> bytes:
    return (
        ":20:PAYOPS-1\n"
        f"{account}"
        ":28C:1/1\n"
        ":60F:C261101AMD1000000,00\n"
        f":61:{date}D{amount}NTRFPAYOUT-1//BANK-1\n"
        ":86:PAYOUT-1\n"
        ":62F:C261102AMD955000,00\n"
    ).encode()


# -- provider reports -------------------------------------------------------------------------
# (case, provider, bytes, words the refusal says, the line it names or None)
REPORTS = [
    # payops CSV (also Idram's and Telcell's, which have no report format of their own)
    ("csv NaN amount", "arca", payops_csv("NaN"), "bad amount", 2),
    ("csv Infinity amount", "idram", payops_csv("Infinity"), "bad amount", 2),
    ("csv exponent amount", "telcell", payops_csv("1E+3"), "bad amount", 2),
    ("csv three decimals", "arca", payops_csv("10.001"), "bad amount", 2),
    ("csv amount beyond the bound", "arca", payops_csv("10000000000.00"), "bad amount", 2),
    ("csv impossible date", "arca", payops_csv(paid_at="2026-13-01T10:00:00+04:00"), "paid_at", 2),
    ("csv date without offset", "arca", payops_csv(paid_at="2026-10-05T10:00:00"), "paid_at", 2),
    ("csv NUL byte", "arca", payops_csv("1000.00\x00"), "line 2", 2),
    ("csv truncated quote", "arca", payops_csv(extra='"PO-2,REF-2,10'), "line 3", 3),
    ("csv huge line", "arca", payops_csv(extra=HUGE_LINE + "\n"), "line 3", 3),
    ("csv UTF-16", "arca", payops_csv().decode().encode("utf-16"), "unknown report format", None),
    ("csv unknown columns", "arca", b"order,amount\nPO-1,10.00\n", "unknown column(s) order", 1),
    # BPC / ArCa order list (JSON)
    ("bpc truncated JSON", "arca", bpc()[:-20], "JSON", None),
    ("bpc amount with a fraction", "arca", bpc(amount=1500.5), "bad amount", None),
    ("bpc negative amount", "arca", bpc(amount=-100), "bad amount", None),
    ("bpc NaN amount", "arca", bpc().replace(b"150000", b"NaN"), "order 1", None),
    ("bpc amount beyond the bound", "arca", bpc(amount=10**13), "bad amount", None),
    ("bpc date as text", "arca", bpc(date="yesterday", authDateTime="yesterday"), "order 1", None),
    ("bpc unknown currency", "arca", bpc(currency="999"), "order 1", None),
    ("bpc orders not a list", "arca", b'{"errorCode":"0","orderStatuses":{"a":1}}', "", None),
    (
        "bpc deep nesting",
        "arca",
        b'{"errorCode":"0","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "",
        None,
    ),
    ("bpc UTF-16", "arca", bpc().decode().encode("utf-16"), "", None),
    # Ameriabank vPOS list (XML)
    ("ameria truncated XML", "ameria", ameria()[:-40], "XML", None),
    ("ameria amount with a comma", "ameria", ameria("2,500.00"), "transaction 1", 3),
    ("ameria NaN amount", "ameria", ameria("NaN"), "amount", None),
    ("ameria negative amount", "ameria", ameria("-2500.00"), "amount", None),
    ("ameria three decimals", "ameria", ameria("2500.001"), "amount", None),
    ("ameria amount with an exponent", "ameria", ameria("1E+3"), "'1E+3'", 3),
    ("ameria amount with a lower-case exponent", "ameria", ameria("1e5"), "'1e5'", 3),
    ("ameria impossible date", "ameria", ameria(when="31/02/2026 10:00:00"), "bad DateTime", 3),
    ("ameria date as text", "ameria", ameria(when="yesterday"), "bad DateTime", 3),
]


def _report_import(organization, provider, data):
    return provider_report_import(
        organization=organization,
        provider=provider,
        file=io.BytesIO(data),
        actor=system_actor("tests"),
        file_name="report",
    )


def _nothing_written():
    assert not ProviderReport.objects.exists()
    assert not ProviderReportRow.objects.exists()


@pytest.mark.parametrize(
    ("provider", "data", "words", "line"),
    [pytest.param(*case[1:], id=case[0]) for case in REPORTS],
)
def test_a_malformed_report_is_refused_by_service_command_and_api(
    tmp_path, api, organization, provider, data, words, line
):
    with pytest.raises(DomainError) as caught:
        _report_import(organization, provider, data)
    error = caught.value
    assert error.code == "malformed_file", error.message
    assert words in error.message, error.message
    if line is not None:
        assert f"line {line}" in error.message, error.message
    assert len(error.message) < 1000, "the refusal quotes too much of the file"
    _nothing_written()

    path = tmp_path / "report"
    path.write_bytes(data)
    with pytest.raises(CommandError) as command:
        call_command(
            "import_provider_report",
            "--org",
            organization.slug,
            "--provider",
            provider,
            str(path),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert "malformed_file" in str(command.value)
    assert error.message in str(command.value)
    _nothing_written()

    answer = api.post(
        "/api/v1/provider-reports/",
        {"file": SimpleUploadedFile("report", data), "provider": provider},
        format="multipart",
    )
    assert answer.status_code == 400, answer.content[:500]
    body = answer.json()["error"]
    assert body["code"] == "malformed_file"
    assert body["message"] == error.message
    _nothing_written()


# -- bank statements --------------------------------------------------------------------------
STATEMENTS = [
    ("mt940 bad amount", mt940(amount="45x00,00"), "bad :61: transaction", 5),
    ("mt940 impossible date", mt940(date="261340"), "bad :61: value date", 5),
    ("mt940 three decimals", mt940(amount="45000,001"), "bad :61: transaction", 5),
    ("mt940 no account", mt940(account=""), ":25:", 4),
    ("mt940 truncated", mt940()[:60], "", None),
    ("mt940 UTF-16", mt940().decode().encode("utf-16"), "", None),
    ("camt truncated", CAMT[: len(CAMT) // 2], "broken XML", None),
    (
        "camt impossible date",
        CAMT.replace(b"<Dt>2026-11-02</Dt></BookgDt>", b"<Dt>2026-13-40</Dt></BookgDt>", 1),
        "date",
        None,
    ),
    ("camt no amount", CAMT.replace(b'<Amt Ccy="AMD">45000.00</Amt>', b"", 1), "no Amt", 22),
    ("camt exponent amount", CAMT.replace(b">45000.00<", b">4.5E4<", 1), "bad amount", None),
    ("camt UTF-16", CAMT.decode().encode("utf-16"), "", None),
    (
        "camt billion laughs",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
        b'&a;&a;&a;&a;&a;">]><Document><BkToCstmrStmt>&b;</BkToCstmrStmt></Document>',
        "DOCTYPE",
        None,
    ),
]


@pytest.mark.parametrize(
    ("data", "words", "line"), [pytest.param(*case[1:], id=case[0]) for case in STATEMENTS]
)
def test_a_malformed_statement_is_refused_by_service_and_command(
    tmp_path, organization, data, words, line
):
    with pytest.raises(DomainError) as caught:
        bank_statement_import(
            organization=organization, data=data, actor=system_actor("tests"), file_name="s"
        )
    error = caught.value
    assert error.code == "malformed_file", error.message
    assert words in error.message, error.message
    if line is not None:
        assert f"line {line}" in error.message, error.message
    assert len(error.message) < 1000, "the refusal quotes too much of the file"
    assert not BankStatement.objects.exists()
    assert not BankStatementLine.objects.exists()

    path = tmp_path / "statement"
    path.write_bytes(data)
    with pytest.raises(CommandError) as command:
        call_command(
            "import_bank_statement",
            "--org",
            organization.slug,
            str(path),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert "malformed_file" in str(command.value)
    assert not BankStatement.objects.exists()


def test_the_well_formed_bases_of_these_tables_import(organization, branch):
    """The tables above break files that are otherwise good: their bases import."""
    actor = system_actor("tests")
    for provider, data in (("arca", payops_csv()), ("arca", bpc()), ("ameria", ameria())):
        report = _report_import(organization, provider, data)
        assert report.rows_total == 1, provider
    statement = bank_statement_import(
        organization=organization, data=mt940(), actor=actor, file_name="s"
    )
    assert statement.lines.get().amount == Decimal("-45000.00")
    assert statement.lines.get().booked_on == dt.date(2026, 11, 2)


# -- amounts at and beyond every bound, on every write endpoint taking an amount ---------------
BAD_AMOUNTS = [
    "10000000000.00",  # one luma... one AMD beyond core.money.max_amount
    "9999999999.995",
    "0",
    "0.00",
    "-1.00",
    "1.001",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e3",
    "1E+2",
    "1e-2",
    "",
    "1,00",
    "0x10",
    1.5,  # a JSON float: never money
    None,
    True,
]
BOUND = "9999999999.99"


@pytest.fixture
def amount_endpoints(api, organization, branch):
    """Each write endpoint that takes an amount: (name, url, body without the amount, the rows
    that must not change)."""
    from appointments import services as appointments
    from billing import services as billing
    from billing.models import BillingPeriod
    from core.duework import due_work_run
    from core.models import TestClock
    from payments.models import Payment, Refund
    from payments.services import payment_verify_manually
    from payments.tests.factories import make_payment
    from payouts import services as payouts

    actor = system_actor("tests")
    recipient = payouts.recipient_create(
        organization=organization, scope="employee", name="A", branch=branch, actor=actor
    )
    qr = payouts.qr_code_create(recipient=recipient, actor=actor)
    payment = make_payment(organization=organization, branch=branch, verified=True)
    policy = appointments.policy_create(
        organization=organization,
        code="std",
        window_hours=24,
        refund_percent_before=Decimal("100"),
        refund_percent_after=Decimal("50"),
        no_show_refund_percent=Decimal("0"),
        actor=actor,
    )
    starts = dt.datetime(2030, 1, 10, 10, tzinfo=dt.UTC)
    appointment = appointments.appointment_book(
        organization=organization,
        branch=branch,
        external_ref="crm-1",
        service_id="svc",
        specialist_id="dr",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        policy_code=policy.code,
        actor=actor,
    )
    request = appointments.payment_request_create(
        appointment=appointment,
        kind="deposit",
        amount=Decimal("100.00"),
        currency="AMD",
        expires_in_minutes=60,
        actor=actor,
    )
    payment_verify_manually(payment=request.payment, actor=actor, comment="seen", reference="B")
    plan = billing.plan_create(
        organization=organization,
        code="m",
        name="M",
        amount=Decimal("100.00"),
        currency="AMD",
        interval="month",
        actor=actor,
    )
    customer = billing.customer_create(
        organization=organization, external_ref="c-1", name="C", language="hy", actor=actor
    )
    start = dt.datetime(2026, 12, 1, 8, tzinfo=organization.tz)
    # Set directly: the sandbox refuses to start a clock before real time, which passes 2026.
    TestClock.objects.create(organization=organization, now=start)
    billing.subscription_create(
        organization=organization,
        customer=customer,
        plan=plan,
        branch=branch,
        start_date=start.date(),
        collection="payment_link",
        actor=actor,
    )
    due_work_run(organization=organization, now=start + dt.timedelta(hours=2))
    period = BillingPeriod.objects.get()

    def counts():
        from appointments.models import PaymentRequest
        from billing.models import Plan

        return (
            Payment.objects.count(),
            Refund.objects.count(),
            Plan.objects.count(),
            PaymentRequest.objects.count(),
        )

    return counts, [
        ("sandbox QR payment", "/api/v1/sandbox/qr-payments/",
         {"qr_code": qr.code, "currency": "AMD", "outcome": "approved"}),
        ("QR checkout", f"/api/v1/qr-codes/{qr.pk}/payments/", {"currency": "AMD"}),
        ("payment refund", f"/api/v1/payments/{payment.pk}/refunds/", {"reason": "x"}),
        ("plan", "/api/v1/plans/",
         {"code": "p2", "name": "P", "currency": "AMD", "interval": "month"}),
        ("billing period refund", f"/api/v1/billing-periods/{period.pk}/refunds/",
         {"reason": "x"}),
        ("appointment payment request", f"/api/v1/appointments/{appointment.pk}/payment-requests/",
         {"kind": "deposit", "currency": "AMD", "expires_in_minutes": 60}),
        ("appointment refund", f"/api/v1/appointments/{appointment.pk}/refunds/", {"reason": "x"}),
    ]  # fmt: skip


def test_amounts_beyond_every_bound_are_400_with_a_field_error(api, amount_endpoints):
    counts, endpoints = amount_endpoints
    before = counts()
    refused = 0
    for name, url, body in endpoints:
        for amount in BAD_AMOUNTS:
            answer = api.post(url, {**body, "amount": amount}, format="json")
            assert answer.status_code == 400, (name, amount, answer.content[:300])
            error = answer.json()["error"]
            assert "amount" in error.get("fields", {}), (name, amount, error)
            refused += 1
    assert counts() == before, "a refused amount wrote something"
    assert refused == len(endpoints) * len(BAD_AMOUNTS)


def test_the_bound_itself_passes_every_amount_check(api, amount_endpoints):
    """At ``max_amount`` exactly no endpoint refuses the amount as such; what follows is the
    domain's word (a refund above the payment is 422, never a 400 on the field)."""
    _, endpoints = amount_endpoints
    for name, url, body in endpoints:
        answer = api.post(url, {**body, "amount": BOUND}, format="json")
        error = answer.json().get("error", {}) if answer.status_code >= 400 else {}
        assert "amount" not in error.get("fields", {}) or answer.status_code != 400, (
            name,
            answer.content[:300],
        )
        assert answer.status_code < 500, (name, answer.content[:300])


# -- callback checksums of the gateways whose callback is the proof (Idram, Telcell) ----------
# ArCa/BPC and the sandbox verify by lookup after the checksum (payments/tests/test_callbacks.py
# covers the sandbox's over HTTP); Ameria's callback is an unsigned hint, verified by lookup.
IDRAM_ACCOUNT, IDRAM_SECRET = "100000114", "idram-secret:key"
TELCELL_SHOP, TELCELL_KEY = "shop@payops.example", "telcell-secret"


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the gateways' documented formula


def idram_confirmation(payment, *, when: dt.date, **changes) -> dict:
    fields = {
        "EDP_BILL_NO": payment.order_number,
        "EDP_REC_ACCOUNT": IDRAM_ACCOUNT,
        "EDP_PAYER_ACCOUNT": "100012345",
        "EDP_AMOUNT": f"{payment.amount:.2f}",
        "EDP_TRANS_ID": "00012345678901",
        "EDP_TRANS_DATE": when.strftime("%d/%m/%Y"),
    }
    fields.update({k: v for k, v in changes.items() if k != "EDP_CHECKSUM"})
    fields["EDP_CHECKSUM"] = _md5(
        ":".join(
            [
                fields["EDP_REC_ACCOUNT"],
                fields["EDP_AMOUNT"],
                IDRAM_SECRET,
                fields["EDP_BILL_NO"],
                fields["EDP_PAYER_ACCOUNT"],
                fields["EDP_TRANS_ID"],
                fields["EDP_TRANS_DATE"],
            ]
        )
    )
    if "EDP_CHECKSUM" in changes:
        fields["EDP_CHECKSUM"] = changes["EDP_CHECKSUM"]
    return {k: v for k, v in fields.items() if v is not None}


def telcell_result(payment, *, when: dt.datetime, **changes) -> dict:
    import base64

    fields = {
        "invoice": "TC-INV-1",
        "issuer_id": base64.b64encode(payment.order_number.encode()).decode(),
        "payment_id": "TC-PAY-1",
        "currency": "AMD",
        "sum": f"{payment.amount:.0f}",
        "time": when.strftime("%Y-%m-%d %H:%M:%S"),
        "status": "PAID",
    }
    fields.update({k: v for k, v in changes.items() if k != "checksum"})
    fields["checksum"] = _md5(
        TELCELL_KEY
        + fields["invoice"]
        + fields["issuer_id"]
        + fields["payment_id"]
        + fields["currency"]
        + fields["sum"]
        + fields["time"]
        + fields["status"]
    )
    if "checksum" in changes:
        fields["checksum"] = changes["checksum"]
    return {k: v for k, v in fields.items() if v is not None}


def _callback_world(organization, branch, provider):
    from payments.models import ProviderAccount
    from payments.tests.factories import make_payment

    merchant, key = {
        "idram": (IDRAM_ACCOUNT, IDRAM_SECRET),
        "telcell": (TELCELL_SHOP, TELCELL_KEY),
    }[provider]
    ProviderAccount.objects.create(
        organization=organization, provider=provider, merchant_id=merchant, secret_key=key
    )
    return make_payment(
        organization=organization, branch=branch, amount="1900.00", provider=provider
    )


def _today(organization) -> dt.date:
    from django.utils import timezone

    return timezone.localtime(timezone.now(), organization.tz).date()


CALLBACKS = [
    # (case, provider, changes to the genuine callback, days from today it is dated)
    ("idram wrong checksum", "idram", {"EDP_CHECKSUM": "0" * 32}, 0),
    ("idram checksum of another amount", "idram", {"EDP_AMOUNT": "19000.00"}, 0),
    ("idram missing checksum", "idram", {"EDP_CHECKSUM": None}, 0),
    ("idram malformed checksum", "idram", {"EDP_CHECKSUM": "not-hex"}, 0),
    ("idram another merchant", "idram", {"EDP_REC_ACCOUNT": "100000999"}, 0),
    ("idram dated two years before the payment", "idram", {}, -730),
    ("idram dated in the future", "idram", {}, 30),
    ("telcell wrong checksum", "telcell", {"checksum": "f" * 32}, 0),
    ("telcell missing checksum", "telcell", {"checksum": None}, 0),
    ("telcell checksum of another sum", "telcell", {"sum": "19000"}, 0),
    ("telcell dated two years before the payment", "telcell", {}, -730),
    ("telcell dated in the future", "telcell", {}, 30),
]


def _send(client, provider, payment, changes, days):
    day = _today(payment.organization) + dt.timedelta(days=days)
    if provider == "idram":
        form = idram_confirmation(payment, when=day, **changes)
    else:
        moment = dt.datetime.combine(day, dt.time(12, 30))
        form = telcell_result(payment, when=moment, **changes)
    return client.post(f"/callbacks/{provider}/", form)


@pytest.mark.parametrize(
    ("provider", "changes", "days"), [pytest.param(*c[1:], id=c[0]) for c in CALLBACKS]
)
def test_a_bad_or_implausible_callback_is_refused_and_changes_nothing(
    client, organization, branch, provider, changes, days
):
    from payments.models import PaymentEvent, ProviderCallback

    payment = _callback_world(organization, branch, provider)
    answer = _send(client, provider, payment, changes, days)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.content[:300])
    assert answer.content.strip() != b"OK"
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert not PaymentEvent.objects.filter(payment=payment, kind="verified").exists()
    assert not ProviderCallback.objects.filter(status="processed").exists()


@pytest.mark.parametrize("provider", ["idram", "telcell"])
def test_the_genuine_callback_verifies_once_and_a_replay_changes_nothing(
    client, organization, branch, provider
):
    from payments.models import PaymentEvent

    payment = _callback_world(organization, branch, provider)
    first = _send(client, provider, payment, {}, 0)
    assert first.status_code == 200, first.content[:300]
    payment.refresh_from_db()
    assert payment.status == "verified"
    verified_at = payment.verified_at
    for _ in range(3):
        again = _send(client, provider, payment, {}, 0)
        assert again.status_code == 200, again.content[:300]  # the gateway may stop retrying
    payment.refresh_from_db()
    assert (payment.status, payment.verified_at) == ("verified", verified_at)
    assert PaymentEvent.objects.filter(payment=payment, kind="verified").count() == 1
