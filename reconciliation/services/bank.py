"""Bank statements: import (MT940 or camt.053, detected from the content), match, and watch.

- ``bank_statement_import``: parse, store the statement with its raw text, SHA-256 and lines
  (one transaction; a malformed file writes nothing), then match each debit to a completed
  payout: the payout's ``reference`` appears in the line's reference or text and the line pays
  exactly the payout's ``net`` in its currency. A reference that matches with another amount is a
  ``settlement_mismatch`` case; a debit no payout explains is a ``bank_debit_unexplained`` case.
- ``bank_payouts_check``: a completed payout with no bank line ``bank_line_days`` after it
  completed is a ``payout_without_bank_line`` case; the case resolves itself once a statement
  line matches the payout.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import IntegrityError, transaction
from django.db.models import Q

from core.models import Organization
from exceptionqueue.services import exception_clear, exception_raise
from payouts.models import Payout
from reconciliation import exception_kinds as kinds
from reconciliation.errors import ReconciliationError
from reconciliation.models import BankStatement, BankStatementLine
from reconciliation.services.parsers import camt053, mt940
from reconciliation.services.parsers.base import FormatError
from reconciliation.services.parsers.statement import detect_statement_format
from reconciliation.services.settings import reconciliation_settings_get

PARSERS = {"mt940": mt940.parse, "camt053": camt053.parse}
LOOKBACK_DAYS = 92


def _malformed(exc: FormatError) -> Exception:
    return ReconciliationError.MALFORMED_FILE.error(
        f"{exc!s}. Nothing of the statement was written.", fields={"file": [str(exc)]}
    )


def _payout_key(payout_id: int) -> str:
    return f"reconciliation:payout_without_bank_line:{payout_id}"


def bank_statement_import(
    *, organization: Organization, data: bytes, actor, file_name: str = ""
) -> BankStatement:
    if not data.strip():
        raise _malformed(FormatError("the file is empty"))
    sha256 = hashlib.sha256(data).hexdigest()
    known = BankStatement.objects.filter(organization=organization, sha256=sha256).first()
    if known is not None:
        raise ReconciliationError.STATEMENT_ALREADY_IMPORTED.error(
            f"This statement was imported as #{known.pk}; nothing was written."
        )
    try:
        fmt = detect_statement_format(data)
        parsed = PARSERS[fmt](data)
    except FormatError as exc:
        raise _malformed(exc) from None
    if not parsed.lines:
        raise _malformed(FormatError("the statement has no transactions"))
    with transaction.atomic():
        statement = _statement_create(
            organization=organization,
            format=fmt,
            file_name=file_name[:255],
            sha256=sha256,
            account=parsed.account[:64],
            statement_reference=parsed.reference[:64],
            currency=(parsed.currency or "")[:3],
            opening_balance=parsed.opening_balance,
            closing_balance=parsed.closing_balance,
            raw=data.decode("utf-8", "replace"),
            imported_by=actor,
        )
        BankStatementLine.objects.bulk_create(
            BankStatementLine(
                statement=statement,
                line_no=line.line_no,
                booked_on=line.booked_on,
                amount=line.amount,
                currency=line.currency,
                reference=line.reference,
                description=line.description,
            )
            for line in parsed.lines
        )
        bank_statement_match(statement=statement, actor=actor)
    return statement


def _statement_create(**values) -> BankStatement:
    try:
        with transaction.atomic():
            return BankStatement.objects.create(**values)
    except IntegrityError:
        raise ReconciliationError.STATEMENT_ALREADY_IMPORTED.error(
            "This statement was imported by another session at the same moment; nothing was "
            "written."
        ) from None


def _candidates(organization: Organization, line: BankStatementLine):
    text = f"{line.reference} {line.description}".upper()
    payouts = Payout.objects.filter(
        organization=organization,
        status=Payout.Status.COMPLETED,
        bank_lines__isnull=True,
    ).exclude(reference="")
    return [
        p for p in payouts.only("id", "reference", "net", "currency") if p.reference.upper() in text
    ]


def bank_statement_match(*, statement: BankStatement, actor) -> dict[str, int]:
    """Match the statement's debits to completed payouts; raise or clear the cases."""
    organization = statement.organization
    counts = {"matched": 0, "unexplained": 0, "mismatched": 0}
    for line in statement.lines.filter(amount__lt=0, payout__isnull=True).order_by("line_no"):
        candidates = _candidates(organization, line)
        exact = [p for p in candidates if p.net == -line.amount and p.currency == line.currency]
        if exact:
            payout = exact[0]
            line.payout = payout
            line.save(update_fields=["payout"])
            exception_clear(
                organization=organization,
                dedup_key=_payout_key(payout.pk),
                actor=actor,
                note=f"bank line {line.line_no} of statement #{statement.pk} pays it",
            )
            counts["matched"] += 1
            continue
        if candidates:
            payout = candidates[0]
            exception_raise(
                organization=organization,
                kind=kinds.SETTLEMENT_MISMATCH,
                dedup_key=f"reconciliation:settlement_mismatch:{statement.pk}:{line.line_no}",
                message=(
                    f"Bank line {line.line_no} of statement #{statement.pk} names payout "
                    f"#{payout.pk} ({payout.net} {payout.currency}) but pays "
                    f"{-line.amount} {line.currency}."
                ),
                actor=actor,
                subject=payout,
                amount=-line.amount if line.currency in ("AMD", "USD", "EUR", "RUB") else None,
                currency=line.currency if line.currency in ("AMD", "USD", "EUR", "RUB") else None,
                period_start=line.booked_on,
                period_end=line.booked_on,
                details={"statement": statement.pk, "line": line.line_no, "payout": payout.pk},
            )
            counts["mismatched"] += 1
            continue
        exception_raise(
            organization=organization,
            kind=kinds.BANK_DEBIT_UNEXPLAINED,
            dedup_key=f"reconciliation:bank_debit_unexplained:{statement.pk}:{line.line_no}",
            message=(
                f"Bank debit of {-line.amount} {line.currency} on {line.booked_on} (statement "
                f"#{statement.pk}, line {line.line_no}, {line.reference or 'no reference'}) "
                "matches no completed payout."
            ),
            actor=actor,
            period_start=line.booked_on,
            period_end=line.booked_on,
            details={"statement": statement.pk, "line": line.line_no},
        )
        counts["unexplained"] += 1
    return counts


def bank_payouts_check(*, organization: Organization, today: dt.date, actor) -> int:
    """Raise a case for each completed payout still without a bank line after N days."""
    days = reconciliation_settings_get(organization=organization).bank_line_days
    cutoff = dt.datetime.combine(
        today - dt.timedelta(days=days), dt.time.min, tzinfo=organization.tz
    )
    since = cutoff - dt.timedelta(days=LOOKBACK_DAYS)
    late = Payout.objects.filter(
        Q(completed_at__lt=cutoff) & Q(completed_at__gte=since),
        organization=organization,
        status=Payout.Status.COMPLETED,
        bank_lines__isnull=True,
    )
    raised = 0
    for payout in late.order_by("id"):
        day = payout.completed_at.astimezone(organization.tz).date()
        exception_raise(
            organization=organization,
            kind=kinds.PAYOUT_WITHOUT_BANK_LINE,
            dedup_key=_payout_key(payout.pk),
            message=(
                f"Payout #{payout.pk} ({payout.net} {payout.currency}, reference "
                f"{payout.reference}) completed on {day} and no bank line shows it after "
                f"{days} days."
            ),
            actor=actor,
            subject=payout,
            amount=payout.net,
            currency=payout.currency,
            period_start=day,
            period_end=day,
        )
        raised += 1
    return raised
