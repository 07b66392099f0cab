"""Idram adapter against callbacks built from Idram's documented field sets. No database.

The checksum is computed here independently, by the documented formula: the MD5 of
EDP_REC_ACCOUNT:EDP_AMOUNT:SECRET_KEY:EDP_BILL_NO:EDP_PAYER_ACCOUNT:EDP_TRANS_ID:EDP_TRANS_DATE.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from payments.providers.base import (
    CallbackRejected,
    CallbackRequest,
    OrderRequest,
    ProviderError,
    ProviderState,
)
from payments.providers.idram import IdramAdapter

REC_ACCOUNT = "100000114"  # the EDP_REC_ACCOUNT of Idram's own form example
SECRET = "s3cr3t-Key:with-colon"
CONFIG = {"rec_account": REC_ACCOUNT, "secret_key": SECRET}


def idram() -> IdramAdapter:
    return IdramAdapter(config=CONFIG)


def documented_checksum(fields: dict[str, str], secret: str = SECRET) -> str:
    text = (
        f"{fields['EDP_REC_ACCOUNT']}:{fields['EDP_AMOUNT']}:{secret}:{fields['EDP_BILL_NO']}:"
        f"{fields['EDP_PAYER_ACCOUNT']}:{fields['EDP_TRANS_ID']}:{fields['EDP_TRANS_DATE']}"
    )
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Idram's documented formula


def confirmation(**overrides) -> dict[str, str]:
    fields = {
        "EDP_BILL_NO": "1806",
        "EDP_REC_ACCOUNT": REC_ACCOUNT,
        "EDP_PAYER_ACCOUNT": "100012345",
        "EDP_AMOUNT": "1900.00",
        "EDP_TRANS_ID": "00012345678901",  # char(14)
        "EDP_TRANS_DATE": "18/03/2026",  # dd/mm/yyyy
    }
    fields.update({k: v for k, v in overrides.items() if k != "EDP_CHECKSUM"})
    fields["EDP_CHECKSUM"] = overrides.get("EDP_CHECKSUM", documented_checksum(fields))
    return fields


def post(form: dict[str, str], query: dict[str, str] | None = None) -> CallbackRequest:
    return CallbackRequest(method="POST", query=query or {}, form=form, body=b"", headers={})


def order(**overrides) -> OrderRequest:
    values = {
        "order_number": "1806",
        "amount": Decimal("1900.00"),
        "currency": "AMD",
        "description": "Order description",
        "return_url": "https://payops.example/return/",
    }
    values.update(overrides)
    return OrderRequest(**values)


# -- capabilities -------------------------------------------------------------------------------


def test_config_accepts_the_registry_merchant_id():
    adapter = IdramAdapter(config={"merchant_id": REC_ACCOUNT, "secret_key": SECRET})
    assert adapter.rec_account == REC_ACCOUNT
    with pytest.raises(ValueError, match="secret_key"):
        IdramAdapter(config={"rec_account": REC_ACCOUNT})


# -- the payment form ---------------------------------------------------------------------------


def test_create_order_returns_the_form_action_and_fields():
    created = IdramAdapter(config={**CONFIG, "email": "pay@example.am"}).create_order(
        order(language="hy")
    )
    assert created.payment_url == "https://banking.idram.am/Payment/GetPayment"
    assert created.provider_reference == ""  # Idram gives no reference before the confirmation
    assert created.raw == {
        "EDP_LANGUAGE": "AM",
        "EDP_REC_ACCOUNT": REC_ACCOUNT,
        "EDP_DESCRIPTION": "Order description",
        "EDP_AMOUNT": "1900.00",
        "EDP_BILL_NO": "1806",
        "EDP_EMAIL": "pay@example.am",
    }


@pytest.mark.parametrize(("language", "edp"), [("hy", "AM"), ("ru", "RU"), ("en", "EN")])
def test_form_language(language, edp):
    assert idram().create_order(order(language=language)).raw["EDP_LANGUAGE"] == edp


def test_email_is_omitted_unless_configured():
    assert "EDP_EMAIL" not in idram().create_order(order()).raw


@pytest.mark.parametrize("currency", ["USD", "EUR", "RUB"])
def test_only_amd_is_taken(currency):
    with pytest.raises(ProviderError) as exc:
        idram().create_order(order(currency=currency))
    assert exc.value.code == "invalid_currency"


@pytest.mark.parametrize("amount", [Decimal("1900.001"), 1900.0, Decimal("0"), Decimal("-5")])
def test_amount_precision_float_and_non_positive_are_refused(amount):
    with pytest.raises(ProviderError) as exc:
        idram().create_order(order(amount=amount))
    assert exc.value.code == "invalid_amount"


def test_bill_number_must_be_a_plain_token():
    with pytest.raises(ProviderError) as exc:
        idram().create_order(order(order_number="bill 1806/ä"))
    assert exc.value.code == "invalid_order_number"


# -- pre-check ----------------------------------------------------------------------------------


def precheck(**overrides) -> dict[str, str]:
    fields = {
        "EDP_PRECHECK": "YES",
        "EDP_BILL_NO": "1806",
        "EDP_REC_ACCOUNT": REC_ACCOUNT,
        "EDP_AMOUNT": "1900.00",
    }
    fields.update(overrides)
    return fields


def test_precheck_is_recognised_and_proves_nothing():
    parsed = idram().parse_callback(post(precheck()))
    assert parsed.is_precheck
    assert parsed.status is None
    assert parsed.order_number == "1806"
    assert parsed.amount == Decimal("1900.00")
    assert parsed.currency == "AMD"
    assert parsed.claimed_state == ProviderState.PENDING
    answer = idram().answer_callback(parsed, accepted=True)
    assert answer.body == "OK"
    assert answer.status_code == 200
    assert answer.content_type == "text/plain"


def test_precheck_for_another_merchant_is_rejected():
    with pytest.raises(CallbackRejected, match="another merchant"):
        idram().parse_callback(post(precheck(EDP_REC_ACCOUNT="100000999")))


@pytest.mark.parametrize(
    "overrides",
    [
        {"EDP_BILL_NO": ""},
        {"EDP_BILL_NO": "1806; DROP"},
        {"EDP_AMOUNT": "abc"},
        {"EDP_AMOUNT": "1,900"},
        {"EDP_AMOUNT": "0"},
        {"EDP_AMOUNT": "1900.001"},
        {"EDP_REC_ACCOUNT": ""},
    ],
)
def test_precheck_with_a_bad_shape_is_rejected(overrides):
    with pytest.raises(CallbackRejected):
        idram().parse_callback(post(precheck(**overrides)))


def test_refused_precheck_is_not_answered_ok():
    assert idram().answer_callback(None, accepted=False).body != "OK"


# -- confirmation -------------------------------------------------------------------------------


def test_confirmation_with_the_documented_checksum_is_the_proof_of_payment():
    parsed = idram().parse_callback(post(confirmation()))
    assert not parsed.is_precheck
    assert parsed.event_id == "00012345678901"
    assert parsed.order_number == "1806"
    assert parsed.provider_reference == "00012345678901"
    assert parsed.claimed_state == ProviderState.PAID
    proof = parsed.status
    assert proof is not None
    assert proof.state == ProviderState.PAID
    assert proof.amount == Decimal("1900.00")
    assert isinstance(proof.amount, Decimal)
    assert proof.currency == "AMD"
    assert proof.order_number == "1806"
    assert proof.paid_at == "18/03/2026"
    assert proof.raw["verification"] == "callback_checksum"
    assert "EDP_CHECKSUM" not in proof.raw
    assert idram().answer_callback(parsed, accepted=True).body == "OK"


def test_checksum_comparison_ignores_hex_case():
    fields = confirmation()
    fields["EDP_CHECKSUM"] = fields["EDP_CHECKSUM"].upper()
    assert idram().parse_callback(post(fields)).status.state == ProviderState.PAID


@pytest.mark.parametrize("amount_text", ["1900", "1900.00", "1900.5"])
def test_checksum_is_over_the_amount_string_exactly_as_received(amount_text):
    parsed = idram().parse_callback(post(confirmation(EDP_AMOUNT=amount_text)))
    assert parsed.amount == Decimal(amount_text)


def test_amount_reformatted_after_signing_is_rejected():
    fields = confirmation(EDP_AMOUNT="1900.00")
    fields["EDP_AMOUNT"] = "1900"  # same value, different string: not what Idram signed
    with pytest.raises(CallbackRejected, match="EDP_CHECKSUM"):
        idram().parse_callback(post(fields))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("EDP_AMOUNT", "19.00"),
        ("EDP_BILL_NO", "1807"),
        ("EDP_PAYER_ACCOUNT", "100099999"),
        ("EDP_TRANS_ID", "00012345678902"),
        ("EDP_TRANS_DATE", "19/03/2026"),
    ],
)
def test_tampered_confirmation_is_rejected(field, value):
    fields = confirmation()
    fields[field] = value
    with pytest.raises(CallbackRejected):
        idram().parse_callback(post(fields))


def test_checksum_made_with_another_secret_is_rejected():
    fields = confirmation()
    fields["EDP_CHECKSUM"] = documented_checksum(fields, secret="not-our-secret")
    with pytest.raises(CallbackRejected, match="EDP_CHECKSUM"):
        idram().parse_callback(post(fields))


def test_malformed_checksum_is_rejected():
    with pytest.raises(CallbackRejected):
        idram().parse_callback(post(confirmation(EDP_CHECKSUM="not-hex")))


def test_confirmation_for_another_merchant_is_rejected_even_if_signed():
    with pytest.raises(CallbackRejected, match="another merchant"):
        idram().parse_callback(post(confirmation(EDP_REC_ACCOUNT="100000999")))


@pytest.mark.parametrize(
    "missing", ["EDP_PAYER_ACCOUNT", "EDP_TRANS_ID", "EDP_TRANS_DATE", "EDP_CHECKSUM"]
)
def test_confirmation_with_a_missing_field_is_rejected(missing):
    fields = confirmation()
    del fields[missing]
    with pytest.raises(CallbackRejected, match=missing):
        idram().parse_callback(post(fields))


def test_fields_in_the_query_string_are_read_too():
    parsed = idram().parse_callback(post({}, query=confirmation()))
    assert parsed.status.state == ProviderState.PAID
