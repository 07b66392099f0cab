"""The BPC adapter against recorded protocol answers (httpx.MockTransport)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from payments.providers.base import (
    CallbackRejected,
    CallbackRequest,
    OrderRequest,
    ProviderError,
    ProviderState,
)
from payments.providers.bpc import BpcAdapter, callback_checksum, checksum_string
from payments.providers.cards import mask_pan

RECORDED = Path(__file__).parent.parent / "recorded" / "bpc"
KEY = "callback-key-for-tests"
MD_ORDER = "70906e55-7114-41d6-8332-4609dc6590f4"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


class Gateway:
    """A MockTransport that answers each ``<method>.do`` with a recorded body and keeps calls."""

    def __init__(self, answers: dict[str, list[str] | str]):
        self.answers = {k: [v] if isinstance(v, str) else list(v) for k, v in answers.items()}
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        params = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.calls.append((method, params))
        queue = self.answers[method]
        name = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(200, json=recorded(name))


def adapter(gateway: Gateway, **config) -> BpcAdapter:
    return BpcAdapter(
        config={
            "base_url": "https://ipaytest.arca.am:8445/payment/rest/",
            "username": "merchant-api",
            "password": "secret",
            "secret_key": KEY,
            **config,
        },
        http=httpx.Client(transport=httpx.MockTransport(gateway)),
    )


def order_request(**overrides) -> OrderRequest:
    values = {
        "order_number": "PO123",
        "amount": Decimal("1500.00"),
        "currency": "AMD",
        "description": "QR tip",
        "return_url": "https://payops.example/payments/return/PO123/",
    }
    values.update(overrides)
    return OrderRequest(**values)


def test_register_sends_minor_units_and_numeric_currency():
    gateway = Gateway({"register.do": "register_ok"})
    created = adapter(gateway, callback_url="https://payops.example/callbacks/arca/").create_order(
        order_request()
    )
    assert created.provider_reference == MD_ORDER
    assert created.payment_url.startswith("https://ipaytest.arca.am:8445/")
    method, params = gateway.calls[0]
    assert method == "register.do"
    assert params["amount"] == "150000"  # 1500.00 AMD in luma
    assert params["currency"] == "051"
    assert params["orderNumber"] == "PO123"
    assert params["userName"] == "merchant-api"
    assert params["password"] == "secret"
    assert params["dynamicCallbackUrl"] == "https://payops.example/callbacks/arca/"


def test_register_twice_finds_the_existing_order():
    gateway = Gateway(
        {"register.do": "register_duplicate", "getOrderStatusExtended.do": "status_registered"}
    )
    created = adapter(gateway).create_order(order_request())
    assert created.provider_reference == MD_ORDER
    assert [c[0] for c in gateway.calls] == ["register.do", "getOrderStatusExtended.do"]
    assert gateway.calls[1][1]["orderNumber"] == "PO123"


def test_register_error_is_a_provider_error():
    gateway = Gateway({"register.do": "register_bad_amount"})
    with pytest.raises(ProviderError) as caught:
        adapter(gateway).create_order(order_request())
    assert caught.value.code == "bpc_4"


def test_register_refuses_amounts_finer_than_the_currency():
    with pytest.raises(ValueError, match="precision"):
        adapter(Gateway({})).create_order(order_request(amount=Decimal("10.005")))


def test_deposited_status_is_paid_with_masked_card_data():
    gateway = Gateway({"getOrderStatusExtended.do": "status_deposited"})
    status = adapter(gateway).status(provider_reference=MD_ORDER, order_number="PO123")
    assert status.state is ProviderState.PAID
    assert status.amount == Decimal("1500.00")
    assert status.currency == "AMD"
    assert status.masked_pan == "408397**0021"
    assert status.approval_code == "123456"
    assert status.rrn == "331012345678"
    assert status.deposited_amount == Decimal("1500.00")
    assert status.paid_at.startswith("2023-11-14T22:14:20")
    assert gateway.calls[0][1] == {
        "userName": "merchant-api",
        "password": "secret",
        "orderId": MD_ORDER,
    }
    assert "cardholderName" not in json.dumps(status.raw)


@pytest.mark.parametrize(
    ("recording", "state"),
    [
        ("status_registered", ProviderState.PENDING),
        ("status_declined", ProviderState.DECLINED),
        ("status_timeout", ProviderState.EXPIRED),
        ("status_partly_refunded", ProviderState.PARTIALLY_REFUNDED),
        ("status_refunded", ProviderState.REFUNDED),
    ],
)
def test_order_status_mapping(recording, state):
    gateway = Gateway({"getOrderStatusExtended.do": recording})
    assert adapter(gateway).status(provider_reference=MD_ORDER, order_number="").state is state


def test_error_code_zero_alone_proves_nothing():
    """errorCode 0 with orderStatus 0: the call worked, the order is not paid."""
    data = recorded("status_registered")
    assert data["errorCode"] == "0"
    assert BpcAdapter.parse_status(data).state is ProviderState.PENDING


def test_unknown_order_error():
    gateway = Gateway({"getOrderStatusExtended.do": "status_unknown_order"})
    with pytest.raises(ProviderError) as caught:
        adapter(gateway).status(provider_reference="nope", order_number="")
    assert caught.value.code == "unknown_order"


def test_a_full_card_number_is_never_kept():
    gateway = Gateway({"getOrderStatusExtended.do": "status_full_pan"})
    status = adapter(gateway).status(provider_reference=MD_ORDER, order_number="")
    assert status.masked_pan == "408397******0021"
    assert "4083970000000021" not in json.dumps(status.raw)
    assert mask_pan("4083 9700 0000 0021") == "408397******0021"


def test_refund_partial_amount_in_minor_units():
    gateway = Gateway({"refund.do": "refund_ok"})
    result = adapter(gateway).refund(
        provider_reference=MD_ORDER, amount=Decimal("500.00"), currency="AMD", refund_id="R1"
    )
    assert result.succeeded
    assert gateway.calls[0][1]["amount"] == "50000"
    assert gateway.calls[0][1]["orderId"] == MD_ORDER


def test_refund_refused_by_the_gateway():
    gateway = Gateway({"refund.do": "refund_too_much"})
    result = adapter(gateway).refund(
        provider_reference=MD_ORDER, amount=Decimal("2000.00"), currency="AMD", refund_id="R1"
    )
    assert not result.succeeded
    assert result.code == "7"


def test_reverse():
    gateway = Gateway({"reverse.do": "refund_ok"})
    assert adapter(gateway).reverse(provider_reference=MD_ORDER).succeeded
    assert gateway.calls[0] == (
        "reverse.do",
        {"userName": "merchant-api", "password": "secret", "orderId": MD_ORDER},
    )


def test_charge_stored_card_registers_binds_and_looks_up():
    gateway = Gateway(
        {
            "register.do": "register_ok",
            "paymentOrderBinding.do": "binding_ok",
            "getOrderStatusExtended.do": "status_deposited",
        }
    )
    status = adapter(gateway).charge_token(
        request=order_request(client_id="customer-7"), binding_id="bind-1"
    )
    assert status.state is ProviderState.PAID
    assert [c[0] for c in gateway.calls] == [
        "register.do",
        "paymentOrderBinding.do",
        "getOrderStatusExtended.do",
    ]
    assert gateway.calls[0][1]["clientId"] == "customer-7"
    assert gateway.calls[1][1]["mdOrder"] == MD_ORDER
    assert gateway.calls[1][1]["bindingId"] == "bind-1"


def test_gateway_fault_is_retryable():
    def broken(request):
        return httpx.Response(502, text="Bad gateway")

    bpc = BpcAdapter(
        config={"username": "u", "password": "p"},
        http=httpx.Client(transport=httpx.MockTransport(broken)),
    )
    with pytest.raises(ProviderError) as caught:
        bpc.status(provider_reference=MD_ORDER, order_number="")
    assert caught.value.retryable


# -- callbacks ----------------------------------------------------------------------------------


def test_checksum_string_follows_the_documented_scheme():
    params = {
        "mdOrder": 53082785,
        "dealId": "DEAL-12345",
        "isSuccess": True,
        "amount": 10000,
        "currency": "RUB",
        "checksum": "ignored",
    }
    assert (
        checksum_string(params)
        == "amount;10000;currency;RUB;dealId;DEAL-12345;isSuccess;1;mdOrder;53082785;"
    )


def signed(params: dict, key: str = KEY) -> dict:
    return {**params, "checksum": callback_checksum(params, key)}


def callback(query: dict) -> CallbackRequest:
    return CallbackRequest(method="GET", query=query, form={}, body=b"", headers={})


def test_signed_callback_parses():
    query = signed(
        {"mdOrder": MD_ORDER, "orderNumber": "PO123", "operation": "deposited", "status": "1"}
    )
    parsed = adapter(Gateway({})).parse_callback(callback(query))
    assert parsed.claimed_state is ProviderState.PAID
    assert parsed.order_number == "PO123"
    assert parsed.provider_reference == MD_ORDER
    assert parsed.event_id == f"{MD_ORDER}:deposited:1"
    assert parsed.amount is None


def test_lower_case_checksum_is_accepted_too():
    query = signed(
        {"mdOrder": MD_ORDER, "orderNumber": "PO1", "operation": "deposited", "status": "0"}
    )
    query["checksum"] = query["checksum"].lower()
    parsed = adapter(Gateway({})).parse_callback(callback(query))
    assert parsed.claimed_state is ProviderState.DECLINED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: q.update(status="1"),  # a declined callback turned into a paid one
        lambda q: q.update(checksum="0" * 64),
        lambda q: q.pop("checksum"),
    ],
)
def test_bad_checksum_is_rejected(tamper):
    query = signed(
        {"mdOrder": MD_ORDER, "orderNumber": "PO1", "operation": "deposited", "status": "0"}
    )
    tamper(query)
    with pytest.raises(CallbackRejected):
        adapter(Gateway({})).parse_callback(callback(query))


def test_callback_with_another_key_is_rejected():
    query = signed(
        {"mdOrder": MD_ORDER, "orderNumber": "PO1", "operation": "deposited", "status": "1"},
        key="someone-else",
    )
    with pytest.raises(CallbackRejected):
        adapter(Gateway({})).parse_callback(callback(query))


def test_callback_amount_and_currency_are_read():
    query = signed(
        {
            "mdOrder": MD_ORDER,
            "orderNumber": "PO1",
            "operation": "deposited",
            "status": "1",
            "amount": "150000",
            "currency": "051",
        }
    )
    parsed = adapter(Gateway({})).parse_callback(callback(query))
    assert parsed.amount == Decimal("1500.00")
    assert parsed.currency == "AMD"
