"""Telcell adapter against PostInvoice fields and RESULT_URL callbacks from the documented field
sets. No database. Both MD5 formulas are computed here independently:

security_code = MD5(shop_key + issuer + currency + price + product + issuer_id + valid_days)
checksum      = MD5(shop_key + invoice + issuer_id + payment_id + currency + sum + time + status)
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from payments.providers.base import (
    CallbackRejected,
    CallbackRequest,
    OrderRequest,
    ProviderError,
    ProviderState,
)
from payments.providers.telcell import TelcellAdapter

SHOP_ID = "shop@payops.example"
SHOP_KEY = "platform_secret_key_123"
CONFIG = {"shop_id": SHOP_ID, "shop_key": SHOP_KEY}
DRAM = "\u058f"


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - Telcell's formula


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def telcell(**config) -> TelcellAdapter:
    return TelcellAdapter(config={**CONFIG, **config})


def order(**overrides) -> OrderRequest:
    values = {
        "order_number": "TC-1001",
        "amount": Decimal("750.00"),
        "currency": "AMD",
        "description": "Պատվեր TC-1001",
        "return_url": "https://payops.example/return/",
    }
    values.update(overrides)
    return OrderRequest(**values)


def result_call(*, buyer: str | None = None, **overrides) -> dict[str, str]:
    fields = {
        "invoice": "TC-INV-4821",
        "issuer_id": b64("TC-1001"),
        "payment_id": "TC-PAY-9917",
        "currency": DRAM,
        "sum": "750",
        "time": "2026-07-20 12:30:00",
        "status": "PAID",
    }
    fields.update({k: v for k, v in overrides.items() if k != "checksum"})
    middle = fields["payment_id"] + (buyer or "")
    fields["checksum"] = overrides.get(
        "checksum",
        md5(
            SHOP_KEY
            + fields["invoice"]
            + fields["issuer_id"]
            + middle
            + fields["currency"]
            + fields["sum"]
            + fields["time"]
            + fields["status"]
        ),
    )
    if buyer is not None:
        fields["buyer"] = buyer
    return fields


def post(form: dict[str, str]) -> CallbackRequest:
    return CallbackRequest(method="POST", query={}, form=form, body=b"", headers={})


# -- capabilities -------------------------------------------------------------------------------


def test_config_accepts_the_registry_names():
    adapter = TelcellAdapter(config={"merchant_id": SHOP_ID, "secret_key": SHOP_KEY})
    assert adapter.shop_id == SHOP_ID
    assert adapter.shop_key == SHOP_KEY
    with pytest.raises(ValueError, match="shop_key"):
        TelcellAdapter(config={"shop_id": SHOP_ID})


# -- PostInvoice --------------------------------------------------------------------------------


def test_post_invoice_fields_and_security_code():
    created = telcell().create_order(order(language="hy"))
    fields = created.raw
    product = b64("Պատվեր TC-1001")
    issuer_id = b64("TC-1001")
    assert fields == {
        "action": "PostInvoice",
        "issuer": SHOP_ID,
        "currency": DRAM,
        "price": "750",
        "product": product,
        "issuer_id": issuer_id,
        "valid_days": "1",
        "lang": "am",
        "security_code": md5(SHOP_KEY + SHOP_ID + DRAM + "750" + product + issuer_id + "1"),
    }
    assert created.provider_reference == ""  # Telcell makes its invoice when the customer comes
    url = urlsplit(created.payment_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://telcellmoney.am/invoices"
    assert {k: v[0] for k, v in parse_qs(url.query).items()} == fields


def test_valid_days_is_part_of_the_security_code():
    fields = telcell(valid_days=3).create_order(order()).raw
    assert fields["valid_days"] == "3"
    expected = md5(
        SHOP_KEY + SHOP_ID + DRAM + fields["price"] + fields["product"] + fields["issuer_id"] + "3"
    )
    assert fields["security_code"] == expected


@pytest.mark.parametrize(("language", "lang"), [("hy", "am"), ("ru", "ru"), ("en", "en")])
def test_invoice_language(language, lang):
    assert telcell().create_order(order(language=language)).raw["lang"] == lang


@pytest.mark.parametrize(
    "amount", [Decimal("750.50"), Decimal("750.001"), 750.0, Decimal("0"), Decimal("-1")]
)
def test_luma_more_precision_floats_and_non_positive_amounts_are_refused(amount):
    with pytest.raises(ProviderError) as exc:
        telcell().create_order(order(amount=amount))
    assert exc.value.code == "invalid_amount"


def test_only_amd_is_taken():
    with pytest.raises(ProviderError) as exc:
        telcell().create_order(order(currency="USD"))
    assert exc.value.code == "invalid_currency"


# -- RESULT_URL ---------------------------------------------------------------------------------


def test_paid_result_with_the_documented_checksum_is_the_proof_of_payment():
    parsed = telcell().parse_callback(post(result_call()))
    assert parsed.claimed_state == ProviderState.PAID
    assert parsed.order_number == "TC-1001"  # base64(order number) decoded
    assert parsed.provider_reference == "TC-INV-4821"
    assert parsed.event_id == "TC-INV-4821:TC-PAY-9917:PAID"
    assert parsed.amount == Decimal("750.00")
    assert parsed.currency == "AMD"
    proof = parsed.status
    assert proof is not None
    assert proof.state == ProviderState.PAID
    assert proof.amount == Decimal("750.00")
    assert isinstance(proof.amount, Decimal)
    assert proof.paid_at == "2026-07-20 12:30:00"
    assert proof.raw["verification"] == "callback_checksum"
    assert "checksum" not in proof.raw
    assert telcell().answer_callback(parsed, accepted=True).body == "OK"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("REJECTED", ProviderState.DECLINED),
        ("CANCELLED", ProviderState.DECLINED),
        ("EXPIRED", ProviderState.EXPIRED),
    ],
)
def test_other_statuses_are_declines_or_expiries(status, state):
    parsed = telcell().parse_callback(post(result_call(status=status, payment_id="")))
    assert parsed.claimed_state == state
    assert parsed.status.state == state
    assert parsed.status.action_code == status


def test_unknown_status_is_rejected_even_if_signed():
    with pytest.raises(CallbackRejected, match="unknown status"):
        telcell().parse_callback(post(result_call(status="MAYBE")))


def test_uppercase_checksum_is_accepted():
    fields = result_call()
    fields["checksum"] = fields["checksum"].upper()
    assert telcell().parse_callback(post(fields)).status.state == ProviderState.PAID


@pytest.mark.parametrize("currency", ["51", "AMD"])
def test_callback_currency_51_or_amd(currency):
    parsed = telcell().parse_callback(post(result_call(currency=currency)))
    assert parsed.currency == "AMD"


def test_signed_callback_in_another_currency_is_rejected():
    with pytest.raises(CallbackRejected, match="currency"):
        telcell().parse_callback(post(result_call(currency="USD")))


def test_v2_checksum_with_buyer_is_accepted():
    parsed = telcell().parse_callback(post(result_call(buyer="37491000000")))
    assert parsed.status.state == ProviderState.PAID


def test_plain_issuer_id_is_taken_as_the_order_number():
    parsed = telcell().parse_callback(post(result_call(issuer_id="TC-1001")))
    assert parsed.order_number == "TC-1001"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sum", "7500"),
        ("status", "PAID "),
        ("issuer_id", b64("TC-1002")),
        ("invoice", "TC-INV-4822"),
        ("payment_id", "TC-PAY-0000"),
        ("time", "2026-07-20 12:30:01"),
    ],
)
def test_tampered_result_is_rejected(field, value):
    fields = result_call()
    fields[field] = value
    with pytest.raises(CallbackRejected):
        telcell().parse_callback(post(fields))


def test_failed_status_cannot_be_turned_into_paid():
    fields = result_call(status="REJECTED")
    fields["status"] = "PAID"
    with pytest.raises(CallbackRejected, match="checksum"):
        telcell().parse_callback(post(fields))


def test_checksum_with_another_key_is_rejected():
    fields = result_call()
    fields["checksum"] = md5("another-key" + "".join(fields[k] for k in list(fields)[:7]))
    with pytest.raises(CallbackRejected, match="checksum"):
        telcell().parse_callback(post(fields))


@pytest.mark.parametrize("missing", ["checksum", "invoice", "issuer_id", "sum", "status", "time"])
def test_result_with_a_missing_field_is_rejected(missing):
    fields = result_call()
    del fields[missing]
    with pytest.raises(CallbackRejected, match=missing):
        telcell().parse_callback(post(fields))


def test_result_with_a_malformed_sum_is_rejected_even_if_signed():
    with pytest.raises(CallbackRejected, match="sum"):
        telcell().parse_callback(post(result_call(sum="7,50")))


def test_result_by_get_query_is_read_too():
    request = CallbackRequest(method="GET", query=result_call(), form={}, body=b"", headers={})
    assert telcell().parse_callback(request).status.state == ProviderState.PAID


def test_refused_callback_is_not_answered_ok():
    answer = telcell().answer_callback(None, accepted=False)
    assert answer.status_code == 400
    assert answer.body != "OK"
