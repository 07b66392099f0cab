"""Idram wallet adapter (EDP merchant interface), pure protocol code: no database access.

What it does
------------
* ``create_order`` builds the hidden form the customer's browser POSTs (UTF-8) to
  ``https://banking.idram.am/Payment/GetPayment``: ``payment_url`` is the form action and ``raw``
  holds exactly the form fields (``EDP_LANGUAGE``, ``EDP_REC_ACCOUNT``, ``EDP_DESCRIPTION``,
  ``EDP_AMOUNT``, ``EDP_BILL_NO`` and, when configured, ``EDP_EMAIL``). The form itself is not
  signed; SUCCESS_URL / FAIL_URL / RESULT_URL are fixed per merchant by Idram. There is no
  gateway reference before the confirmation, so ``provider_reference`` is ``""`` (store NULL).
* Idram POSTs (x-www-form-urlencoded) to RESULT_URL twice:
  (a) the pre-check ``EDP_PRECHECK=YES`` with ``EDP_BILL_NO``, ``EDP_REC_ACCOUNT``,
  ``EDP_AMOUNT``. It carries no checksum, so it proves nothing and may change nothing:
  ``parse_callback`` checks our account and the bill number / amount shape and returns
  ``is_precheck=True``; the payments service then checks that the order exists and the amount
  matches, and the endpoint answers the body ``OK`` (anything else and Idram refuses the payment);
  (b) the confirmation with ``EDP_PAYER_ACCOUNT``, ``EDP_TRANS_ID`` (char 14),
  ``EDP_TRANS_DATE`` (dd/mm/yyyy) and ``EDP_CHECKSUM`` =
  ``MD5(EDP_REC_ACCOUNT:EDP_AMOUNT:SECRET_KEY:EDP_BILL_NO:EDP_PAYER_ACCOUNT:EDP_TRANS_ID:EDP_TRANS_DATE)``
  over the exact strings received (the amount is not reformatted), compared as lower-case hex in
  constant time. A verified confirmation is the proof of payment (Idram has no lookup), so it
  carries ``status=StatusResult(state=PAID, ...)``; ``event_id`` is ``EDP_TRANS_ID``.
  Without an ``OK`` answer Idram e-mails the confirmation to the merchant instead.
* AMD only. No status, refund, reversal or recurring API is documented: those methods raise
  ``NotImplementedError``.

Amount format: the form example sends ``EDP_AMOUNT`` as ``1900``; the confirmation is documented
as ``format-0.00`` with a dot separator. We send ``1900.00`` (two places, dot) and verify the
checksum over whatever string Idram sends back.

Public sources relied on (found with the search tool)
-----------------------------------------------------
* "Idram Payment System merchant interface description" (Idram's merchant document, copies in
  public repositories): form fields, form action URL, RESULT_URL pre-check and confirmation
  fields and formats, the checksum formula, the ``OK`` answer, the EMAIL fallback.
* ``neetrino/borboraqua.am`` ``docs/payments/IDRAM-INTEGRATION.md``: the same, plus answering
  plain text and re-checking the amount from our own records.
* A PHP ``IdramGateway`` (Laravel) and a Python FastAPI integration found by the search tool:
  checksum built over our own EDP_REC_ACCOUNT, case-insensitive hex compare, ``AM``/``RU``/``EN``
  language codes, amount as a decimal string.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from core.money import CurrencyError, parse_amount

from .base import (
    CallbackAnswer,
    CallbackOnly,
    CallbackRejected,
    CallbackRequest,
    Capabilities,
    OrderCreated,
    OrderRequest,
    ParsedCallback,
    ProviderError,
    ProviderState,
    StatusResult,
)

PAYMENT_URL = "https://banking.idram.am/Payment/GetPayment"
CURRENCY = "AMD"
LANGUAGES = {"hy": "AM", "am": "AM", "ru": "RU", "en": "EN"}
CONFIRMATION_FIELDS = (
    "EDP_BILL_NO",
    "EDP_REC_ACCOUNT",
    "EDP_PAYER_ACCOUNT",
    "EDP_AMOUNT",
    "EDP_TRANS_ID",
    "EDP_TRANS_DATE",
    "EDP_CHECKSUM",
)
# Our bill numbers are our order numbers: short, printable, no separators Idram could mangle.
_BILL_NO = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRANS_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_MD5_HEX = re.compile(r"^[0-9A-Fa-f]{32}$")
_AMOUNT = re.compile(r"^\d{1,17}(\.\d{1,2})?$")

NO_API = (
    "Idram documents no {what} API for merchants: a payment is proved by the signed "
    "confirmation alone, and {remedy}"
)


def idram_checksum(
    *,
    rec_account: str,
    amount: str,
    secret_key: str,
    bill_no: str,
    payer_account: str,
    trans_id: str,
    trans_date: str,
) -> str:
    """MD5 (lower-case hex) of the seven fields joined by ``:``, in Idram's documented order."""
    text = ":".join([rec_account, amount, secret_key, bill_no, payer_account, trans_id, trans_date])
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _form_amount(amount: Any) -> str:
    try:
        value = parse_amount(amount, CURRENCY)
    except (TypeError, ValueError, CurrencyError) as exc:
        raise ProviderError(str(exc), code="invalid_amount") from None
    if value <= 0:
        raise ProviderError("Idram amounts must be greater than zero.", code="invalid_amount")
    return format(value, "f")


def _received_amount(text: str) -> Decimal:
    """An amount exactly as Idram sent it: digits, optional dot and at most two places."""
    if not _AMOUNT.match(text):
        raise CallbackRejected(f"Idram sent a malformed EDP_AMOUNT {text!r}.")
    value = Decimal(text)
    if value <= 0:
        raise CallbackRejected("Idram sent a non-positive EDP_AMOUNT.")
    return parse_amount(value, CURRENCY)


class IdramAdapter(CallbackOnly):
    """Idram wallet.

    Config: ``rec_account`` (EDP_REC_ACCOUNT; ``merchant_id`` is accepted for it), ``secret_key``,
    optional ``language`` (forces EDP_LANGUAGE) and ``email`` (EDP_EMAIL); the payment page is
    the account's ``base_url`` (default ``PAYMENT_URL``).
    """

    name: ClassVar[str] = "idram"
    capabilities: ClassVar[Capabilities] = Capabilities.callback_only(CURRENCY)
    no_api = NO_API
    no_api_remedies = {
        "status lookup": "that is what payops records.",
        "refund": "refunds are made by hand in the Idram cabinet.",
        "reversal": "a wallet payment is final once confirmed.",
        "recurring": "every payment needs the customer.",
    }

    def __init__(self, *, config: dict, http: httpx.Client | None = None) -> None:
        # ``merchant_id`` is how the payments registry passes ProviderAccount.merchant_id.
        rec_account = config.get("rec_account") or config.get("merchant_id")
        if not rec_account or not config.get("secret_key"):
            raise ValueError("Idram config needs rec_account (EDP_REC_ACCOUNT) and secret_key.")
        self.rec_account = str(rec_account).strip()
        self.secret_key = str(config["secret_key"])
        self.language = str(config.get("language") or "")
        self.email = str(config.get("email") or "")
        self.payment_url = str(config.get("payment_url") or config.get("base_url") or PAYMENT_URL)
        self._http = http  # unused: Idram has no server-to-server API for merchants

    def create_order(self, request: OrderRequest) -> OrderCreated:
        if request.currency != CURRENCY:
            raise ProviderError(
                f"Idram takes AMD only, not {request.currency!r}.", code="invalid_currency"
            )
        if not _BILL_NO.match(request.order_number):
            raise ProviderError(
                f"Order number {request.order_number!r} cannot be an Idram bill number.",
                code="invalid_order_number",
            )
        language = LANGUAGES.get(self.language or request.language, "EN")
        fields = {
            "EDP_LANGUAGE": language,
            "EDP_REC_ACCOUNT": self.rec_account,
            "EDP_DESCRIPTION": request.description,
            "EDP_AMOUNT": _form_amount(request.amount),
            "EDP_BILL_NO": request.order_number,
        }
        if self.email:
            fields["EDP_EMAIL"] = self.email
        return OrderCreated(provider_reference="", payment_url=self.payment_url, raw=fields)

    # -- RESULT_URL -----------------------------------------------------------------------------

    def parse_callback(self, request: CallbackRequest) -> ParsedCallback:
        fields = {**request.query, **request.form}
        fields = {key: str(value) for key, value in fields.items()}
        account = fields.get("EDP_REC_ACCOUNT", "").strip()
        if not account:
            raise CallbackRejected("Idram callback without EDP_REC_ACCOUNT.")
        if not hmac.compare_digest(account.encode(), self.rec_account.encode()):
            raise CallbackRejected("Idram callback for another merchant account.")
        bill_no = fields.get("EDP_BILL_NO", "")
        if not _BILL_NO.match(bill_no):
            raise CallbackRejected("Idram callback with a malformed EDP_BILL_NO.")
        amount_text = fields.get("EDP_AMOUNT", "")
        amount = _received_amount(amount_text)

        if fields.get("EDP_PRECHECK", "").strip().upper() == "YES":
            # No checksum on the pre-check: a question, never a proof. Write nothing on it.
            return ParsedCallback(
                event_id=f"precheck:{bill_no}",
                order_number=bill_no,
                provider_reference="",
                claimed_state=ProviderState.PENDING,
                amount=amount,
                currency=CURRENCY,
                is_precheck=True,
                raw={"EDP_PRECHECK": "YES", "EDP_BILL_NO": bill_no, "EDP_AMOUNT": amount_text},
            )

        missing = [key for key in CONFIRMATION_FIELDS if not fields.get(key)]
        if missing:
            raise CallbackRejected(f"Idram confirmation without {', '.join(missing)}.")
        received = fields["EDP_CHECKSUM"].strip()
        if not _MD5_HEX.match(received):
            raise CallbackRejected("Idram confirmation with a malformed EDP_CHECKSUM.")
        expected = idram_checksum(
            rec_account=account,
            amount=amount_text,
            secret_key=self.secret_key,
            bill_no=bill_no,
            payer_account=fields["EDP_PAYER_ACCOUNT"],
            trans_id=fields["EDP_TRANS_ID"],
            trans_date=fields["EDP_TRANS_DATE"],
        )
        if not hmac.compare_digest(expected.encode(), received.lower().encode()):
            raise CallbackRejected("Idram confirmation: EDP_CHECKSUM does not match.")
        trans_id = fields["EDP_TRANS_ID"].strip()
        trans_date = fields["EDP_TRANS_DATE"].strip()
        if not _TRANS_DATE.match(trans_date):
            raise CallbackRejected("Idram confirmation with a malformed EDP_TRANS_DATE.")
        raw = {key: fields[key] for key in CONFIRMATION_FIELDS if key != "EDP_CHECKSUM"}
        raw["verification"] = "callback_checksum"
        proof = StatusResult(
            state=ProviderState.PAID,
            provider_reference=trans_id,
            order_number=bill_no,
            amount=amount,
            currency=CURRENCY,
            approved_amount=amount,
            deposited_amount=amount,
            refunded_amount=Decimal("0.00"),
            paid_at=trans_date,  # dd/mm/yyyy, as Idram sends it
            raw=raw,
        )
        return ParsedCallback(
            event_id=trans_id,
            order_number=bill_no,
            provider_reference=trans_id,
            claimed_state=ProviderState.PAID,
            amount=amount,
            currency=CURRENCY,
            status=proof,
            raw=raw,
        )

    def answer_callback(self, parsed: ParsedCallback | None, *, accepted: bool) -> CallbackAnswer:
        # Idram accepts exactly the plain-text body "OK"; anything else refuses the payment
        # (pre-check) or makes Idram e-mail the confirmation instead (confirmation).
        if accepted and parsed is not None:
            return CallbackAnswer(status_code=200, body="OK")
        return CallbackAnswer(status_code=400, body="REJECTED")
