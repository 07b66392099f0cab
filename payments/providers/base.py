"""The provider adapter interface.

Adapters translate between payops and one gateway's protocol. They hold no database state: they
take and return the plain values below, and the payments services decide what to write. Amounts
cross this boundary as ``Decimal`` with an ISO 4217 alphabetic currency; adapters convert to the
gateway's minor units and numeric codes with ``core.money.to_minor`` / ``numeric_code`` only.

A callback is a hint, not a proof, wherever the gateway has a status lookup
(``Capabilities.status_lookup``): the services verify it with ``status()`` before a payment is
marked verified. Gateways without a lookup (Idram, Telcell) are verified by the signed callback
alone, and the payment records that it was callback-verified.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol


class ProviderError(Exception):
    """The gateway could not be reached, or answered with an error for the call itself."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class CallbackRejected(Exception):
    """A callback failed verification (signature, checksum, shape). Nothing may be written."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProviderState(enum.StrEnum):
    """What the gateway says about an order, mapped from its own codes."""

    PENDING = "pending"  # registered, 3-D Secure started, pre-check accepted: not paid yet
    AUTHORIZED = "authorized"  # held, not captured (two-stage payments)
    PAID = "paid"  # captured / deposited
    DECLINED = "declined"
    REVERSED = "reversed"  # authorisation cancelled before capture
    REFUNDED = "refunded"  # wholly refunded
    PARTIALLY_REFUNDED = "partially_refunded"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Capabilities:
    status_lookup: bool
    refunds: bool
    partial_refunds: bool
    tokenized_recurring: bool
    currencies: tuple[str, ...] = ("AMD",)

    @classmethod
    def full_api(cls, *currencies: str) -> Capabilities:
        """A gateway with lookups, (partial) refunds and stored cards (the BPC family, Ameria)."""
        return cls(True, True, True, True, currencies)

    @classmethod
    def callback_only(cls, *currencies: str) -> Capabilities:
        """A gateway whose signed callback is the only proof (``CallbackOnly``)."""
        return cls(False, False, False, False, currencies)


@dataclass(frozen=True)
class OrderRequest:
    """Register an order. ``order_number`` is ours and unique: a retried call finds its order."""

    order_number: str
    amount: Decimal
    currency: str
    description: str
    return_url: str
    fail_url: str = ""
    language: str = "hy"  # hy | ru | en
    timeout_seconds: int = 1200
    client_id: str = ""  # the customer id for stored cards (BPC clientId, Ameria CardHolderID)
    save_card: bool = False


@dataclass(frozen=True)
class OrderCreated:
    provider_reference: str  # the gateway's order id (BPC orderId, Ameria PaymentID)
    payment_url: str  # where the customer pays
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusResult:
    """The gateway's answer to a status lookup, or what a verified callback proves."""

    state: ProviderState
    provider_reference: str
    order_number: str
    amount: Decimal  # the order amount
    currency: str
    approved_amount: Decimal | None = None
    deposited_amount: Decimal | None = None
    refunded_amount: Decimal | None = None
    masked_pan: str = ""  # e.g. 408397**0021; never a full card number
    approval_code: str = ""
    rrn: str = ""
    action_code: str = ""  # the gateway's decline or result code
    action_description: str = ""
    binding_id: str = ""  # stored-card token for recurring charges
    paid_at: str = ""  # as the gateway gave it; the services parse it
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    provider_reference: str  # the gateway's reference of the refund, or of the order
    succeeded: bool
    code: str = ""
    message: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackRequest:
    """An incoming HTTP callback, as received (before any verification)."""

    method: str
    query: dict[str, str]
    form: dict[str, str]
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class ParsedCallback:
    """A callback that passed verification."""

    event_id: str  # deduplication key, unique per provider
    order_number: str  # ours
    provider_reference: str
    # What the callback claims. With a status lookup this is only a hint.
    claimed_state: ProviderState
    amount: Decimal | None = None
    currency: str | None = None
    # Idram's pre-check: answer, but write no payment change.
    is_precheck: bool = False
    # When the gateway has no lookup, the verified callback is the proof; this carries it.
    status: StatusResult | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackAnswer:
    """What the callback endpoint answers the gateway (Idram wants the body ``OK``)."""

    status_code: int = 200
    body: str = "OK"
    content_type: str = "text/plain"


class ProviderAdapter(Protocol):
    name: ClassVar[str]  # "arca", "ameria", "idram", "telcell", "sandbox"
    capabilities: ClassVar[Capabilities]

    def create_order(self, request: OrderRequest) -> OrderCreated: ...

    def status(self, *, provider_reference: str, order_number: str) -> StatusResult:
        """Server-side lookup. Raises ``NotImplementedError`` where there is none."""
        ...

    def refund(
        self, *, provider_reference: str, amount: Decimal, currency: str, refund_id: str
    ) -> RefundResult: ...

    def reverse(self, *, provider_reference: str) -> RefundResult:
        """Cancel an authorisation that was not captured."""
        ...

    def charge_token(
        self, *, request: OrderRequest, binding_id: str
    ) -> StatusResult:  # tokenized recurring
        ...

    def parse_callback(self, request: CallbackRequest) -> ParsedCallback:
        """Verify signature/checksum and parse; raise ``CallbackRejected`` when it fails."""
        ...

    def answer_callback(
        self, parsed: ParsedCallback | None, *, accepted: bool
    ) -> CallbackAnswer: ...


class CallbackOnly:
    """The server-to-server operations of a gateway that has none (Idram, Telcell): the signed
    callback is the only proof of payment, and refunds, reversals and recurring charges happen
    outside payops. Each call raises ``NotImplementedError`` with the adapter's sentence:
    ``no_api`` (``{what}`` and ``{remedy}`` placeholders) and ``no_api_remedies`` by operation
    (``status lookup``, ``refund``, ``reversal``, ``recurring``)."""

    no_api: ClassVar[str]
    no_api_remedies: ClassVar[dict[str, str]]

    def _no_api(self, what: str) -> NotImplementedError:
        return NotImplementedError(self.no_api.format(what=what, remedy=self.no_api_remedies[what]))

    def status(self, *, provider_reference: str, order_number: str) -> StatusResult:
        raise self._no_api("status lookup")

    def refund(
        self, *, provider_reference: str, amount: Decimal, currency: str, refund_id: str
    ) -> RefundResult:
        raise self._no_api("refund")

    def reverse(self, *, provider_reference: str) -> RefundResult:
        raise self._no_api("reversal")

    def charge_token(self, *, request: OrderRequest, binding_id: str) -> StatusResult:
        raise self._no_api("recurring")
