"""Ameria vPOS 3.1 adapter against recorded protocol bodies (fixtures/ameria). No database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from payments.providers.ameria import AmeriaAdapter, ameria_order_id
from payments.providers.base import (
    CallbackRejected,
    CallbackRequest,
    OrderRequest,
    ProviderError,
    ProviderState,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ameria"
BASE = "https://servicestest.ameriabank.am/VPOS"
PAYMENT_ID = "15C8E0DE-F082-4785-883E-A5FADB093BE2"
CONFIG = {"client_id": "c771a553-test", "username": "3d19541048", "password": "lazY2k"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Gateway:
    """A MockTransport answering each vPOS operation with a recorded body; records requests."""

    def __init__(self, answers: dict[str, tuple[int, bytes] | Exception]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        operation = request.url.path.rsplit("/", 1)[-1]
        answer = self.answers[operation]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    def body(self, index: int = -1) -> dict:
        return json.loads(self.requests[index].content)


def adapter(answers: dict, config: dict | None = None) -> tuple[AmeriaAdapter, Gateway]:
    gateway = Gateway(answers)
    client = httpx.Client(transport=httpx.MockTransport(gateway))
    return AmeriaAdapter(config=config or CONFIG, http=client), gateway


def order(**overrides) -> OrderRequest:
    values = {
        "order_number": "AM-30164001",
        "amount": Decimal("10.00"),
        "currency": "AMD",
        "description": "Order AM-30164001",
        "return_url": "https://payops.example/payments/callback/ameria/",
    }
    values.update(overrides)
    return OrderRequest(**values)


# -- capabilities and configuration -------------------------------------------------------------


def test_capabilities_are_truthful():
    assert AmeriaAdapter.name == "ameria"
    caps = AmeriaAdapter.capabilities
    assert caps.status_lookup
    assert caps.refunds
    assert caps.partial_refunds
    assert caps.tokenized_recurring
    assert set(caps.currencies) == {"AMD", "EUR", "USD", "RUB"}


def test_default_client_times_out_after_10_seconds_and_uses_the_test_host():
    ameria = AmeriaAdapter(config=CONFIG)
    timeout = ameria._http.timeout
    assert (timeout.connect, timeout.read) == (10.0, 10.0)
    assert ameria.base_url == BASE


def test_missing_credentials_are_refused():
    with pytest.raises(ValueError, match="password"):
        AmeriaAdapter(config={"client_id": "x", "username": "y"})


# -- InitPayment --------------------------------------------------------------------------------


def test_create_order_sends_decimal_amount_and_numeric_currency_and_returns_pay_url():
    ameria, gateway = adapter({"InitPayment": (200, fixture("init_payment_ok.json"))})

    created = ameria.create_order(order(amount=Decimal("1500.00"), language="hy"))

    request = gateway.requests[0]
    assert str(request.url) == f"{BASE}/api/VPOS/InitPayment"
    assert request.headers["Content-Type"].startswith("application/json")
    body = gateway.body()
    assert body == {
        "ClientID": "c771a553-test",
        "Username": "3d19541048",
        "Password": "lazY2k",
        "OrderID": 30164001,
        "Amount": "1500.00",  # a decimal, never minor units and never a float
        "Currency": "051",
        "Description": "Order AM-30164001",
        "BackURL": "https://payops.example/payments/callback/ameria/",
        "Opaque": "AM-30164001",
        "Timeout": 1200,
    }
    assert b"1500.00" in request.content
    assert b"150000" not in request.content
    assert created.provider_reference == PAYMENT_ID
    assert created.payment_url == f"{BASE}/Payments/Pay?id={PAYMENT_ID}&lang=am"
    assert created.raw["ResponseCode"] == 1


def test_every_call_carries_a_10_second_timeout():
    ameria, gateway = adapter({"InitPayment": (200, fixture("init_payment_ok.json"))})
    ameria.create_order(order())
    timeout = gateway.requests[0].extensions["timeout"]
    assert timeout["connect"] == 10.0
    assert timeout["read"] == 10.0


@pytest.mark.parametrize(("language", "lang"), [("hy", "am"), ("ru", "ru"), ("en", "en")])
def test_payment_page_language(language, lang):
    ameria, _ = adapter({"InitPayment": (200, fixture("init_payment_ok.json"))})
    created = ameria.create_order(order(language=language))
    assert parse_qs(urlsplit(created.payment_url).query)["lang"] == [lang]


@pytest.mark.parametrize(
    ("currency", "numeric"), [("AMD", "051"), ("EUR", "978"), ("USD", "840"), ("RUB", "643")]
)
def test_currency_is_sent_as_its_numeric_code(currency, numeric):
    ameria, gateway = adapter({"InitPayment": (200, fixture("init_payment_ok.json"))})
    ameria.create_order(order(currency=currency, amount=Decimal("25.50")))
    assert gateway.body()["Currency"] == numeric
    assert gateway.body()["Amount"] == "25.50"


def test_unsupported_currency_is_refused_before_any_call():
    ameria, gateway = adapter({})
    with pytest.raises(ProviderError) as exc:
        ameria.create_order(order(currency="GBP"))
    assert exc.value.code in {"invalid_currency", "invalid_amount"}
    assert gateway.requests == []


@pytest.mark.parametrize("amount", [Decimal("10.001"), Decimal("0.005"), 10.5, Decimal("0")])
def test_amount_with_more_precision_than_the_currency_or_a_float_is_refused(amount):
    ameria, gateway = adapter({})
    with pytest.raises(ProviderError) as exc:
        ameria.create_order(order(amount=amount))
    assert exc.value.code == "invalid_amount"
    assert not exc.value.retryable
    assert gateway.requests == []


def test_save_card_sends_the_card_holder_id():
    ameria, gateway = adapter({"InitPayment": (200, fixture("init_payment_ok.json"))})
    ameria.create_order(order(save_card=True, client_id="cust-42"))
    assert gateway.body()["CardHolderID"] == "cust-42"
    with pytest.raises(ProviderError, match="CardHolderID"):
        ameria.create_order(order(save_card=True))


def test_order_id_is_the_trailing_digits_of_our_order_number():
    assert ameria_order_id("30164001") == 30164001
    assert ameria_order_id("AM-30164001") == 30164001
    for bad in ("", "AM-", "6f1c9d1e-aaaa", "AM-99999999999", "0"):
        with pytest.raises(ProviderError) as exc:
            ameria_order_id(bad)
        assert exc.value.code == "invalid_order_number"


def test_page_timeout_above_1200_seconds_is_refused():
    ameria, _ = adapter({})
    with pytest.raises(ProviderError) as exc:
        ameria.create_order(order(timeout_seconds=1201))
    assert exc.value.code == "invalid_request"


def test_init_payment_error_code_is_a_provider_error():
    ameria, _ = adapter({"InitPayment": (200, fixture("init_payment_bad_credentials.json"))})
    with pytest.raises(ProviderError) as exc:
        ameria.create_order(order())
    assert exc.value.code == "20"
    assert not exc.value.retryable
    assert "Incorrect Username and Password" in str(exc.value)


# -- GetPaymentDetails --------------------------------------------------------------------------


def status(name: str, *, order_number: str = "AM-30164001", http_status: int = 200):
    ameria, gateway = adapter({"GetPaymentDetails": (http_status, fixture(name))})
    result = ameria.status(provider_reference=PAYMENT_ID, order_number=order_number)
    return result, gateway


def test_deposited_payment_is_paid_with_exact_amounts_and_masked_card_only():
    result, gateway = status("details_deposited.json")

    assert gateway.body() == {
        "PaymentID": PAYMENT_ID,
        "Username": "3d19541048",
        "Password": "lazY2k",
    }
    assert result.state == ProviderState.PAID
    assert result.provider_reference == PAYMENT_ID
    assert result.order_number == "AM-30164001"
    assert result.amount == Decimal("10.00")
    assert isinstance(result.amount, Decimal)
    assert result.currency == "AMD"
    assert result.approved_amount == Decimal("10.00")
    assert result.deposited_amount == Decimal("10.00")
    assert result.refunded_amount == Decimal("0.00")
    assert result.masked_pan == "408306**3143"
    assert result.approval_code == "422841"
    assert result.rrn == "607812345678"
    assert result.action_code == ""
    assert result.paid_at == "2026-03-18T00:53:25"
    # No personal data in raw; no float anywhere.
    assert "ClientName" not in result.raw
    assert "ClientEmail" not in result.raw
    assert "ExpDate" not in result.raw
    assert not any(isinstance(value, float) for value in result.raw.values())


def test_partial_refund_keeps_status_4_but_is_partially_refunded():
    result, _ = status("details_partially_refunded.json")
    assert result.state == ProviderState.PARTIALLY_REFUNDED
    assert result.approved_amount == Decimal("10.00")
    assert result.deposited_amount == Decimal("6.00")
    assert result.refunded_amount == Decimal("4.00")


def test_full_refund_is_refunded():
    result, _ = status("details_refunded.json")
    assert result.state == ProviderState.REFUNDED
    assert result.refunded_amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("details_started.json", ProviderState.PENDING),
        ("details_approved.json", ProviderState.AUTHORIZED),
        ("details_void.json", ProviderState.REVERSED),
    ],
)
def test_order_status_mapping(name, state):
    result, _ = status(name)
    assert result.state == state


def test_declined_payment_carries_the_decline_code():
    result, _ = status("details_declined_funds.json")
    assert result.state == ProviderState.DECLINED
    assert result.action_code == "116"
    assert result.action_description == "Decline. Not enough money"


def test_payment_time_limit_is_an_expiry_not_a_decline():
    result, _ = status("details_declined_timeout.json")
    assert result.state == ProviderState.EXPIRED


def test_declined_code_without_action_code_falls_back_to_response_code():
    body = json.loads(fixture("details_declined_funds.json"))
    body["ActionCode"] = ""
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    result = ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert result.action_code == "0116"


def test_foreign_currency_answer_is_mapped_back_to_alpha():
    result, _ = status("details_eur.json")
    assert result.currency == "EUR"
    assert result.amount == Decimal("25.50")


def test_system_error_550_is_a_retryable_provider_error():
    with pytest.raises(ProviderError) as exc:
        status("details_system_error_550.json")
    assert exc.value.code == "550"
    assert exc.value.retryable


def test_http_500_envelope_is_a_retryable_gateway_fault():
    with pytest.raises(ProviderError) as exc:
        status("gateway_fault.json", http_status=500)
    assert exc.value.code == "gateway_fault"
    assert exc.value.retryable


def test_answer_that_is_not_json_is_a_retryable_malformed_response():
    ameria, _ = adapter({"GetPaymentDetails": (200, b"<html>maintenance</html>")})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.code == "malformed_response"
    assert exc.value.retryable


def test_payment_of_another_order_is_refused():
    # A genuine PaymentID of someone else's paid order, looked up for our order.
    with pytest.raises(ProviderError) as exc:
        status("details_deposited.json", order_number="AM-30164999")
    assert exc.value.code == "order_mismatch"


def test_opaque_of_another_order_is_refused():
    body = json.loads(fixture("details_deposited.json"))
    body["Opaque"] = "AM-30164001-other"
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.code == "order_mismatch"


def test_contradicting_order_status_and_payment_state_are_refused():
    body = json.loads(fixture("details_deposited.json"))
    body["PaymentState"] = "payment_declined"
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.code == "inconsistent_status"


def test_deposited_status_without_success_code_is_not_paid():
    body = json.loads(fixture("details_deposited.json"))
    body["ResponseCode"] = "05"
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.code == "inconsistent_status"


def test_unknown_payment_state_fails_closed():
    body = json.loads(fixture("details_deposited.json"))
    body["OrderStatus"] = "9"
    body["PaymentState"] = ""
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.code == "unknown_order_status"


def test_a_full_card_number_is_masked_should_one_ever_come():
    body = json.loads(fixture("details_deposited.json"))
    body["CardNumber"] = "4083060013681818"
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    result = ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert result.masked_pan == "408306******1818"
    assert "4083060013681818" not in json.dumps(result.raw)


def test_answer_with_more_precision_than_the_currency_is_malformed():
    body = json.loads(fixture("details_deposited.json"))
    body["Amount"] = 10.001
    ameria, _ = adapter({"GetPaymentDetails": (200, json.dumps(body).encode())})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.code == "malformed_response"


# -- RefundPayment / CancelPayment --------------------------------------------------------------


def test_partial_refund_sends_the_decimal_amount():
    ameria, gateway = adapter({"RefundPayment": (200, fixture("refund_ok.json"))})

    result = ameria.refund(
        provider_reference=PAYMENT_ID, amount=Decimal("4.00"), currency="AMD", refund_id="r-1"
    )

    assert str(gateway.requests[0].url) == f"{BASE}/api/VPOS/RefundPayment"
    assert gateway.body() == {
        "PaymentID": PAYMENT_ID,
        "Username": "3d19541048",
        "Password": "lazY2k",
        "Amount": "4.00",
    }
    assert result.succeeded
    assert result.code == "00"
    assert result.message == "Success"
    assert result.provider_reference == PAYMENT_ID
    assert result.raw["refund_id"] == "r-1"


@pytest.mark.parametrize(
    ("name", "code"),
    [("refund_exceeds_deposited.json", "07"), ("refund_above_hold_0125.json", "0125")],
)
def test_refused_refund_is_not_succeeded_and_carries_the_code(name, code):
    ameria, _ = adapter({"RefundPayment": (200, fixture(name))})
    result = ameria.refund(
        provider_reference=PAYMENT_ID, amount=Decimal("11.00"), currency="AMD", refund_id="r-2"
    )
    assert not result.succeeded
    assert result.code == code
    assert result.message


def test_refund_with_a_transient_code_is_a_retryable_provider_error():
    ameria, _ = adapter({"RefundPayment": (200, b'{"ResponseCode": "550"}')})
    with pytest.raises(ProviderError) as exc:
        ameria.refund(
            provider_reference=PAYMENT_ID, amount=Decimal("1.00"), currency="AMD", refund_id="r"
        )
    assert exc.value.code == "550"
    assert exc.value.retryable


def test_refund_amount_precision_is_refused():
    ameria, gateway = adapter({})
    with pytest.raises(ProviderError) as exc:
        ameria.refund(
            provider_reference=PAYMENT_ID, amount=Decimal("1.234"), currency="AMD", refund_id="r"
        )
    assert exc.value.code == "invalid_amount"
    assert gateway.requests == []


def test_reverse_cancels_the_payment():
    ameria, gateway = adapter({"CancelPayment": (200, fixture("cancel_ok.json"))})
    result = ameria.reverse(provider_reference=PAYMENT_ID)
    assert str(gateway.requests[0].url) == f"{BASE}/api/VPOS/CancelPayment"
    assert gateway.body() == {
        "PaymentID": PAYMENT_ID,
        "Username": "3d19541048",
        "Password": "lazY2k",
    }
    assert result.succeeded
    assert result.code == "00"


def test_reverse_refused_in_the_current_state():
    ameria, _ = adapter({"CancelPayment": (200, fixture("cancel_impossible.json"))})
    result = ameria.reverse(provider_reference=PAYMENT_ID)
    assert not result.succeeded
    assert result.code == "07"
    assert "Reversal is impossible" in result.message


# -- MakeBindingPayment -------------------------------------------------------------------------


def test_binding_payment_charges_the_card_holder_id():
    ameria, gateway = adapter({"MakeBindingPayment": (200, fixture("binding_payment_ok.json"))})

    result = ameria.charge_token(
        request=order(order_number="AM-30164002", amount=Decimal("2500.00")),
        binding_id="cust-42",
    )

    body = gateway.body()
    assert body["CardHolderID"] == "cust-42"
    assert body["PaymentType"] == 6
    assert body["Amount"] == "2500.00"
    assert body["OrderID"] == 30164002
    assert body["ClientID"] == "c771a553-test"
    assert body["Currency"] == "051"
    assert result.state == ProviderState.PAID
    assert result.provider_reference == "7B0D9A3C-4E21-4F6B-9C1D-2A3B4C5D6E7F"
    assert result.amount == Decimal("2500.00")
    assert result.binding_id == "cust-42"
    assert result.raw["BindingID"] == "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7"


def test_declined_binding_payment_is_a_declined_status_with_its_code():
    ameria, _ = adapter({"MakeBindingPayment": (200, fixture("binding_payment_declined.json"))})
    result = ameria.charge_token(
        request=order(order_number="AM-30164002", amount=Decimal("2500.00")),
        binding_id="cust-42",
    )
    assert result.state == ProviderState.DECLINED
    assert result.action_code == "116"


def test_decline_code_without_a_state_is_still_a_decline():
    body = b'{"PaymentID": "", "ResponseCode": "0101", "ResponseMessage": "Decline. Expired card"}'
    ameria, _ = adapter({"MakeBindingPayment": (200, body)})
    result = ameria.charge_token(
        request=order(order_number="AM-30164002", amount=Decimal("2500.00")),
        binding_id="cust-42",
    )
    assert result.state == ProviderState.DECLINED
    assert result.action_code == "0101"
    assert result.amount == Decimal("2500.00")
    assert result.currency == "AMD"


def test_binding_not_enabled_is_a_provider_error():
    ameria, _ = adapter({"MakeBindingPayment": (200, fixture("binding_not_available.json"))})
    with pytest.raises(ProviderError) as exc:
        ameria.charge_token(request=order(), binding_id="cust-42")
    assert exc.value.code == "20"
    assert not exc.value.retryable


# -- transport ----------------------------------------------------------------------------------


def test_connection_failure_is_retryable():
    ameria, _ = adapter({"GetPaymentDetails": httpx.ConnectError("refused")})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.retryable
    assert exc.value.code == "transport_error"


def test_read_timeout_on_a_lookup_is_retryable():
    ameria, _ = adapter({"GetPaymentDetails": httpx.ReadTimeout("slow")})
    with pytest.raises(ProviderError) as exc:
        ameria.status(provider_reference=PAYMENT_ID, order_number="AM-30164001")
    assert exc.value.retryable
    assert exc.value.code == "transport_error"


def test_read_timeout_on_a_refund_is_retryable_but_flagged_indeterminate():
    ameria, _ = adapter({"RefundPayment": httpx.ReadTimeout("slow")})
    with pytest.raises(ProviderError) as exc:
        ameria.refund(
            provider_reference=PAYMENT_ID, amount=Decimal("4.00"), currency="AMD", refund_id="r"
        )
    assert exc.value.retryable
    assert exc.value.code == "transport_indeterminate"


# -- BackURL callback ---------------------------------------------------------------------------


def back_url(**query) -> CallbackRequest:
    return CallbackRequest(method="GET", query=query, form={}, body=b"", headers={})


def test_callback_is_parsed_as_an_unverified_hint():
    ameria, gateway = adapter({})
    parsed = ameria.parse_callback(
        back_url(
            orderID="30164001",
            resposneCode="00",
            paymentID=PAYMENT_ID.lower(),  # the callback echoes the PaymentID in lower case
            opaque="AM-30164001",
            description="Operation Approved ",
        )
    )
    assert parsed.claimed_state == ProviderState.PAID
    assert parsed.status is None  # never a proof: status() is mandatory
    assert parsed.provider_reference == PAYMENT_ID
    assert parsed.order_number == "AM-30164001"
    assert parsed.event_id == f"{PAYMENT_ID}:00"
    assert parsed.raw["verified"] is False
    assert not parsed.is_precheck
    assert gateway.requests == []  # parsing calls nothing
    assert AmeriaAdapter.capabilities.status_lookup


def test_callback_with_a_decline_code_claims_a_decline():
    ameria, _ = adapter({})
    parsed = ameria.parse_callback(
        back_url(orderID="30164001", resposneCode="0116", paymentID=PAYMENT_ID, opaque="")
    )
    assert parsed.claimed_state == ProviderState.DECLINED
    assert parsed.order_number == "30164001"


@pytest.mark.parametrize(
    "query",
    [
        {"orderID": "30164001", "resposneCode": "00", "opaque": "AM-30164001"},
        {"orderID": "30164001", "resposneCode": "00", "paymentID": "not-a-guid"},
        {"resposneCode": "00", "paymentID": PAYMENT_ID},
        {
            "orderID": "30164002",
            "resposneCode": "00",
            "paymentID": PAYMENT_ID,
            "opaque": "AM-30164001",
        },
    ],
)
def test_malformed_callbacks_are_rejected(query):
    ameria, _ = adapter({})
    with pytest.raises(CallbackRejected):
        ameria.parse_callback(back_url(**query))


def test_answer_callback():
    ameria, _ = adapter({})
    parsed = ameria.parse_callback(
        back_url(orderID="30164001", resposneCode="00", paymentID=PAYMENT_ID, opaque="AM-30164001")
    )
    assert ameria.answer_callback(parsed, accepted=True).status_code == 200
    assert ameria.answer_callback(None, accepted=False).status_code == 400
