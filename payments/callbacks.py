"""Provider callbacks: verify, store, deduplicate, confirm by lookup, apply once.

The order of work for each callback (``callback_receive``):

1. The adapter verifies the signature/checksum and parses the callback. Nothing about any
   payment is written before that; a callback that fails is stored as ``rejected`` and answered
   4xx.
2. The callback is stored with its provider event id as ``dedup_key``; the unique constraint
   (provider, dedup_key) lets exactly one copy of an event through, even when ten arrive at once.
   The others are stored as ``duplicate``: answered like the first once it was processed (the
   gateway may stop), 409 while it is still processing (the gateway retries).
3. The payment must exist for that provider and organisation (else 404), and the callback's
   amount and currency, when it carries them, must be the payment's (else 400).
4. Where the gateway has a status lookup, the payment is verified only by the lookup's answer;
   a lookup that disagrees with the callback or the payment raises an ``amount_mismatch``
   exception for operators and verifies nothing. Without a lookup (Idram, Telcell) the verified
   callback itself is the proof.
5. States only move forward under the payment's row lock, so repeats, races and late callbacks
   change nothing.

A failed, refused or crashed callback (any exception) releases its ``dedup_key`` and is answered
non-2xx, so the gateway's retry is handled anew; so does a callback processed with no effect
(the lookup still said unpaid), so the same event after payment is looked up again; a copy of a
processed event is still checked against the payment (amount, currency, order) before it is
answered as accepted; a copy arriving while the first is still processing is answered 409
(retry later), and a claim stuck in ``processing`` for more than
five minutes (its worker died) is taken over by the next copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import system_actor
from core.errors import DomainError
from payments import services
from payments.errors import PaymentError
from payments.models import Payment, ProviderAccount, ProviderCallback
from payments.providers import registry
from payments.providers.base import (
    CallbackAnswer,
    CallbackRejected,
    CallbackRequest,
    ParsedCallback,
    ProviderError,
    StatusResult,
)
from payments.services.cases import payment_case_raise

logger = logging.getLogger("payops.callbacks")

_HEADER_ALLOWLIST = {"content-type", "user-agent", "x-forwarded-for", "x-request-id"}


@dataclass
class CallbackOutcome:
    callback: ProviderCallback
    answer: CallbackAnswer
    payment: Payment | None = None


class Refused(Exception):
    """A verified callback refused before anything was applied (a ``PaymentError`` code)."""

    def __init__(
        self, error: PaymentError, message: str, *, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = error.code
        self.message = message
        self.status_code = status_code or error.status


STALE_PROCESSING_AFTER = timedelta(minutes=5)


def _accounts(provider: str) -> list[ProviderAccount]:
    if provider == Payment.Provider.SANDBOX:
        return [ProviderAccount(provider="sandbox")]
    return list(
        ProviderAccount.objects.filter(provider=provider, is_active=True).select_related(
            "organization"
        )
    )


def _adapter(account: ProviderAccount):
    try:
        return registry.adapter_for_account(account)
    except ValueError as exc:  # a misconfigured account cannot verify anything
        logger.error("%s account %s is misconfigured: %s", account.provider, account.pk, exc)
        return None


def _claimed_order_number(provider: str, accounts, request: CallbackRequest) -> str:
    """The order number the callback names, read WITHOUT trusting it (only to find the payment).

    Each adapter knows where its gateway puts the order number; the first one that can parse
    the request tells it. Verification happens afterwards, with the payment's own account.
    """
    for account in accounts:
        adapter = _adapter(account)
        if adapter is None:
            continue
        try:
            return adapter.parse_callback(request).order_number
        except CallbackRejected:
            continue
    return ""


def _verify(provider: str, request: CallbackRequest):
    """(account, adapter, parsed) of the payment's own account, or CallbackRejected.

    The payment is found by (provider, order number) first; the callback is then verified with
    that payment's organisation's account only, so another organisation's account (say one
    without a key) can neither accept nor refuse it. Order numbers are unique across
    organisations. An ArCa account without a checksum key receives no callbacks (refused 403):
    its payments are verified by the janitor's lookups alone.
    """
    accounts = _accounts(provider)
    if not accounts:
        raise CallbackRejected(f"No active {provider} account.", status_code=404)
    if provider == Payment.Provider.SANDBOX:
        account = accounts[0]
    else:
        order_number = _claimed_order_number(provider, accounts, request)
        payment = (
            Payment.objects.filter(provider=provider, order_number=order_number)
            .only("organization_id")
            .first()
            if order_number
            else None
        )
        if payment is None:
            # Verify with any account for a precise error (bad signature, unknown order).
            errors, usable = [], 0
            for candidate in accounts:
                adapter = _adapter(candidate)
                if adapter is None:
                    continue
                usable += 1
                try:
                    adapter.parse_callback(request)
                except CallbackRejected as exc:
                    errors.append(exc)
            if errors and len(errors) == usable:
                raise errors[0]
            raise CallbackRejected(f"No {provider} payment {order_number!r}.", status_code=404)
        account = next((a for a in accounts if a.organization_id == payment.organization_id), None)
        if account is None:
            raise CallbackRejected(
                f"The payment's organisation has no active {provider} account.", status_code=404
            )
        if provider == Payment.Provider.ARCA and not account.secret_key:
            logger.error(
                "arca account %s has no callback checksum key: callback refused", account.pk
            )
            raise CallbackRejected(
                "No callback checksum key is configured for this account.", status_code=403
            )
    adapter = _adapter(account)
    if adapter is None:
        raise CallbackRejected(f"The {provider} account is misconfigured.", status_code=404)
    parsed = adapter.parse_callback(request)
    return account, adapter, parsed


def _store(provider: str, request: CallbackRequest, remote_addr: str | None, **fields):
    headers = {k: v for k, v in request.headers.items() if k.lower() in _HEADER_ALLOWLIST}
    return ProviderCallback(
        provider=provider,
        method=request.method[:8],
        query=dict(request.query),
        form=dict(request.form),
        body=request.body.decode("utf-8", "replace")[:20000],
        headers=headers,
        remote_addr=remote_addr or None,
        **fields,
    )


def _finish(
    row: ProviderCallback,
    *,
    status: str,
    http_status: int,
    error: str = "",
    payment=None,
    keep_key: bool = False,
):
    """Record how the callback ended, only while the row is still ours.

    Only a callback processed with an effect (``keep_key``: the payment's state moved) keeps its
    ``dedup_key``: a refused, failed or no-effect one (say the lookup still said unpaid) leaves
    the key free, so the gateway's later copy of the same event is handled anew (looked up, its
    claims checked) instead of being answered as a duplicate (issue 9 #8).

    A claim stuck in ``processing`` may have been taken over (``_claim``: marked failed, its
    key released and claimed by a newer copy); its late worker must then neither write the old
    ``dedup_key`` back (IntegrityError, a 500 to the gateway) nor overwrite the takeover: the
    update is conditional on the row still being ``processing``, and a lost row only gets a
    note of how its worker ended.
    """
    row.status = status
    row.http_status = http_status
    row.handler_error = error
    row.processed_at = timezone.now()
    if status != ProviderCallback.Status.PROCESSED or not keep_key:
        row.dedup_key = None  # the event may be handled again when it comes again
    if payment is not None:
        row.payment = payment
        row.organization_id = payment.organization_id
    fields = {
        "status": row.status,
        "http_status": row.http_status,
        "handler_error": row.handler_error,
        "processed_at": row.processed_at,
        "dedup_key": row.dedup_key,
        "payment_id": row.payment_id,
        "organization_id": row.organization_id,
    }
    updated = ProviderCallback.objects.filter(
        pk=row.pk, status=ProviderCallback.Status.PROCESSING
    ).update(**fields)
    if updated:
        return
    logger.warning(
        "%s callback %s was taken over before its worker finished (%s)",
        row.provider,
        row.pk,
        status,
    )
    current = ProviderCallback.objects.filter(pk=row.pk).values_list("handler_error", flat=True)
    note = f"{current.first() or ''}; its worker finished later: {status} {error}".strip("; ")
    ProviderCallback.objects.filter(pk=row.pk).update(
        handler_error=note[:2000], payment_id=row.payment_id, organization_id=row.organization_id
    )
    row.refresh_from_db()


def callback_receive(
    *, provider: str, request: CallbackRequest, remote_addr: str | None = None
) -> CallbackOutcome:
    """Handle one provider callback (the steps in the module docstring)."""
    if provider not in Payment.Provider.values:
        raise Refused(PaymentError.UNKNOWN_PROVIDER, "Unknown provider.", status_code=404)
    # 1. Verify before anything is written.
    try:
        account, adapter, parsed = _verify(provider, request)
    except CallbackRejected as exc:
        return _rejected(provider, request, remote_addr, exc)
    # 2. Store and claim the event id.
    row = _store(
        provider,
        request,
        remote_addr,
        status=ProviderCallback.Status.PROCESSING,
        event_id=parsed.event_id[:255],
        dedup_key=None if parsed.is_precheck else parsed.event_id[:255],
        order_number=parsed.order_number[:64],
        organization=account.organization if account.pk else None,
    )
    claimed = _claim(row)
    if claimed is not None:
        return _duplicate(row, claimed, account, adapter, parsed)
    # 3-5. Check, confirm, apply.
    return _process(row, account, adapter, parsed, actor=system_actor(f"callback.{provider}"))


def _rejected(provider: str, request, remote_addr, exc: CallbackRejected) -> CallbackOutcome:
    """Step 1 failed: store the callback as ``rejected`` and answer 4xx."""
    row = _store(provider, request, remote_addr, status=ProviderCallback.Status.REJECTED)
    row.http_status = exc.status_code
    row.handler_error = str(exc)
    row.processed_at = timezone.now()
    row.save()
    logger.warning("%s callback rejected: %s", provider, exc)
    return CallbackOutcome(row, CallbackAnswer(status_code=exc.status_code, body=str(exc)))


def _duplicate(row: ProviderCallback, claimed: str, account, adapter, parsed) -> CallbackOutcome:
    """Another copy of this event holds the key: processed (answer as accepted, the gateway
    may stop, once this copy's own claims pass the amount check) or still processing (answer
    409, the gateway retries later)."""
    row.pk = None
    row._state.adding = True
    row.dedup_key = None
    if claimed == ProviderCallback.Status.PROCESSED:
        refused = _duplicate_refused(row, account, adapter, parsed)
        if refused is not None:
            return refused
    row.status = ProviderCallback.Status.DUPLICATE
    row.http_status = 200 if claimed == ProviderCallback.Status.PROCESSED else 409
    row.handler_error = "" if row.http_status == 200 else "the first copy is still processing"
    row.processed_at = timezone.now()
    with transaction.atomic():  # the row and its history row: one commit
        row.save()
    if row.http_status == 200:
        return CallbackOutcome(row, adapter.answer_callback(parsed, accepted=True))
    return CallbackOutcome(row, CallbackAnswer(409, "Already being processed; retry later."))


def _duplicate_refused(row: ProviderCallback, account, adapter, parsed) -> CallbackOutcome | None:
    """A copy of a processed event claiming another amount, currency or order is refused as
    any callback would be (and listed), never answered as accepted unchecked."""
    payment = None
    try:
        payment = _find_payment(row.provider, account, parsed)
        _check_claims(parsed, payment)
    except Refused as exc:
        row.status = ProviderCallback.Status.REJECTED
        row.http_status = exc.status_code
        row.handler_error = f"{exc.code}: {exc.message}"
        row.processed_at = timezone.now()
        if payment is not None:
            row.payment = payment
            row.organization_id = payment.organization_id
        row.save()
        return _refused(row, exc, adapter, parsed, payment)
    return None


def _refused(row, exc: Refused, adapter, parsed, payment) -> CallbackOutcome:
    """Log, list a refused signed amount or currency for operators, answer the refusal."""
    logger.warning("%s callback refused: %s", row.provider, exc.message)
    if payment is not None and exc.code in {
        PaymentError.AMOUNT_MISMATCH.code,
        PaymentError.CURRENCY_MISMATCH.code,
    }:
        _raise_rejected(payment, exc, actor=system_actor(f"callback.{row.provider}"))
    answer = adapter.answer_callback(parsed, accepted=False)
    return CallbackOutcome(
        row, CallbackAnswer(exc.status_code, exc.message, answer.content_type), payment
    )


def _process(row: ProviderCallback, account, adapter, parsed, *, actor) -> CallbackOutcome:
    """Steps 3-5 for a claimed callback; whatever happens, the row is finished (its key kept
    only when it moved the payment) and the gateway gets its answer."""
    provider = row.provider
    payment = None
    try:
        payment = _find_payment(provider, account, parsed)
        _check_claims(parsed, payment)
        before = payment.status
        proof = _proof(adapter, parsed, payment)  # the lookup: outside any transaction
        with transaction.atomic():
            if proof is not None:
                payment = services.payment_apply_status(
                    payment=payment,
                    status=proof[0],
                    method=proof[1],
                    actor=actor,
                    claimed_amount=parsed.amount,
                )
            changed = payment.status != before
            # The callback's end commits with the payment's change: one commit, not two (a
            # failure of either rolls both back and the except clauses below release the key).
            _finish(
                row,
                status=ProviderCallback.Status.PROCESSED,
                http_status=200,
                payment=payment,
                keep_key=changed,
            )
    except Refused as exc:
        _finish(
            row,
            status=ProviderCallback.Status.REJECTED,
            http_status=exc.status_code,
            error=f"{exc.code}: {exc.message}",
            payment=payment,
        )
        return _refused(row, exc, adapter, parsed, payment)
    except services.AmountMismatch as exc:
        _finish(
            row,
            status=ProviderCallback.Status.FAILED,
            http_status=409,
            error=f"amount_mismatch: {exc.message}",
            payment=exc.payment,
        )
        services.raise_amount_mismatch(exc, actor=actor)
        return CallbackOutcome(row, CallbackAnswer(409, exc.message), exc.payment)
    except (ProviderError, DomainError) as exc:
        # The lookup failed (gateway down) or the state refused: the gateway retries, the
        # janitor looks the payment up on its schedule anyway.
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        logger.warning("%s callback failed: %s", provider, message)
        return _failed(row, message, payment)
    except Exception as exc:
        # Anything else (a deadlock, a dropped connection, a bug): release the key so the
        # gateway's retry is handled anew, and ask for that retry.
        logger.exception("%s callback crashed", provider)
        try:
            return _failed(row, f"{exc.__class__.__name__}: {exc}"[:2000], payment)
        except Exception:  # the database itself is gone: a stale claim is taken over later
            logger.exception("%s callback: could not release the dedup key", provider)
        return CallbackOutcome(row, CallbackAnswer(503, "Try again later."), payment)
    return CallbackOutcome(row, adapter.answer_callback(parsed, accepted=True), payment)


def _failed(row: ProviderCallback, error: str, payment) -> CallbackOutcome:
    """Finish the row as failed (its key released) and ask the gateway to retry (503)."""
    _finish(
        row, status=ProviderCallback.Status.FAILED, http_status=503, error=error, payment=payment
    )
    return CallbackOutcome(row, CallbackAnswer(503, "Try again later."), payment)


def _claim(row: ProviderCallback) -> str | None:
    """Save ``row`` holding its dedup key. None when claimed; else the holder's status.

    A holder stuck in ``processing`` for longer than ``STALE_PROCESSING_AFTER`` (its worker
    died before it could release the key) is marked failed and the key claimed anew.
    """
    if row.dedup_key is None:
        row.save()
        return None
    for _ in range(2):
        try:
            with transaction.atomic():
                row.save()
            return None
        except IntegrityError:
            row.pk = None
            row._state.adding = True
        holder = ProviderCallback.objects.filter(
            provider=row.provider, dedup_key=row.dedup_key
        ).first()
        if holder is None:
            continue  # released meanwhile: try again
        if holder.status != ProviderCallback.Status.PROCESSING:
            return holder.status
        if holder.received_at > timezone.now() - STALE_PROCESSING_AFTER:
            return holder.status
        ProviderCallback.objects.filter(
            pk=holder.pk, status=ProviderCallback.Status.PROCESSING
        ).update(
            status=ProviderCallback.Status.FAILED,
            dedup_key=None,
            http_status=None,
            handler_error="stale: still processing after "
            f"{int(STALE_PROCESSING_AFTER.total_seconds())} s; taken over",
            processed_at=timezone.now(),
        )
    return ProviderCallback.Status.PROCESSING


def _raise_rejected(payment: Payment, exc: Refused, *, actor) -> None:
    payment_case_raise(
        payment=payment,
        kind="callback_rejected",
        message=f"A signed {payment.provider} callback was refused: {exc.message}",
        actor=actor,
        details={"order_number": payment.order_number, "code": exc.code},
    )


def _find_payment(provider: str, account: ProviderAccount, parsed: ParsedCallback) -> Payment:
    qs = Payment.objects.select_related("organization", "branch").filter(
        provider=provider, order_number=parsed.order_number
    )
    if account.pk:
        qs = qs.filter(organization_id=account.organization_id)
    payment = qs.first()
    if payment is None:
        raise Refused(PaymentError.UNKNOWN_ORDER, f"No {provider} payment {parsed.order_number!r}.")
    return payment


def _check_claims(parsed: ParsedCallback, payment: Payment) -> None:
    if (
        parsed.provider_reference
        and payment.provider_reference
        and parsed.provider_reference != payment.provider_reference
    ):
        raise Refused(
            PaymentError.REFERENCE_MISMATCH,
            "The callback names another gateway order.",
            status_code=400,
        )
    if parsed.currency is not None and parsed.currency != payment.currency:
        raise Refused(
            PaymentError.CURRENCY_MISMATCH,
            f"The callback says {parsed.currency}, the payment is in {payment.currency}.",
        )
    if parsed.amount is not None and parsed.amount != payment.amount:
        raise Refused(
            PaymentError.AMOUNT_MISMATCH,
            f"The callback says {parsed.amount}, the payment is {payment.amount}.",
            status_code=400,
        )
    _check_date(parsed, payment)


# A day each side: the gateway's date is its local one, payops' the organisation's.
CALLBACK_DATE_SLACK = timedelta(days=1)
_CALLBACK_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def _claimed_day(value: str, tz) -> date | None:
    value = (value or "").strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
        for pattern in _CALLBACK_DATE_FORMATS:
            try:
                moment = datetime.strptime(value, pattern).replace(tzinfo=tz)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=tz)
    return timezone.localtime(moment, tz).date()


def _check_date(parsed: ParsedCallback, payment: Payment) -> None:
    """A callback that is itself the proof (Idram, Telcell: no lookup) must be dated within the
    payment's life: a signed confirmation dated before the payment was created, or in the
    future, is a replay or a forgery, never a payment of it (the checksum covers the date)."""
    if parsed.status is None or not parsed.status.paid_at:
        return
    tz = payment.organization.tz
    day = _claimed_day(parsed.status.paid_at, tz)
    if day is None:
        return
    earliest = timezone.localtime(payment.created_at - CALLBACK_DATE_SLACK, tz).date()
    latest = timezone.localtime(timezone.now() + CALLBACK_DATE_SLACK, tz).date()
    if not earliest <= day <= latest:
        raise Refused(
            PaymentError.CALLBACK_DATE_IMPLAUSIBLE,
            f"The callback is dated {day}, outside the payment's life ({earliest} to {latest}).",
        )


def _proof(adapter, parsed: ParsedCallback, payment: Payment) -> tuple[StatusResult, str] | None:
    """What proves the payment's state, and how (a ``VerificationMethod``): the gateway's
    lookup where it has one, else the verified callback itself; None for a pre-check (nothing
    to apply). Called outside any transaction: the lookup is a call to the gateway."""
    if parsed.is_precheck:
        if payment.status != Payment.Status.PENDING:
            raise Refused(PaymentError.PAYMENT_NOT_PENDING, "The payment is no longer pending.")
        return None
    if adapter.capabilities.status_lookup:
        status = adapter.status(
            provider_reference=parsed.provider_reference or payment.provider_reference or "",
            order_number=payment.order_number,
        )
        return status, Payment.VerificationMethod.CALLBACK_LOOKUP
    if parsed.status is None:
        raise Refused(
            PaymentError.UNVERIFIABLE, "The callback carries no proof and there is no lookup."
        )
    return parsed.status, Payment.VerificationMethod.CALLBACK
