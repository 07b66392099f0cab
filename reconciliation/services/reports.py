"""Provider report import: one file -> one ``ProviderReport`` and its rows, or nothing at all.

The file is hashed (SHA-256; the same file twice is recognised and refused), its format named or
detected, turned into the payops CSV (``parsers``) and, on PostgreSQL, streamed with ``COPY``
through psycopg into a temporary staging table of text columns; one set-based write
(``bulk.insert_select``) types, validates and moves them into ``ProviderReportRow`` (a bad
row is left out; then the first bad line is named and the transaction rolls back). No ORM loop
touches the rows. On SQLite (a bare ``make run``) the same rules run in Python
(``parsers.base.parse_row``) with ``bulk_create``.

The raw rows are kept for audit as the file itself, byte for byte (``ProviderReportFile``, in
parts of 1 MB: its SHA-256 is the report's), and each typed row keeps its line number: no copy
of the text per row.

Everything happens in one transaction: a malformed file writes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from core.dates import EARLIEST, LATEST
from core.models import Organization
from core.money import CURRENCIES
from payments.errors import PaymentError
from payments.models import Provider
from reconciliation.errors import ReconciliationError
from reconciliation.models import ProviderReport, ProviderReportFile, ProviderReportRow
from reconciliation.services.bulk import insert_select, session_memory
from reconciliation.services.parsers import ameria, bpc
from reconciliation.services.parsers.base import (
    CANONICAL_COLUMNS,
    STATUSES,
    FormatError,
    check_header,
    detect_format,
    parse_row,
    rows_to_csv,
)

CHUNK = 1 << 20
ROW_COLUMNS = ["report_id", "line_no", *CANONICAL_COLUMNS]
Progress = Callable[[int], None]


def _malformed(exc: FormatError) -> Exception:
    return ReconciliationError.MALFORMED_FILE.error(
        f"{exc!s}. Nothing of the file was written.",
        fields={"file": [str(exc)], **({"line": [str(exc.line)]} if exc.line else {})},
    )


def file_sha256(file: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return digest.hexdigest(), size


def _chunks(file: BinaryIO, progress: Progress | None) -> Iterator[bytes]:
    file.seek(0)
    while chunk := file.read(CHUNK):
        if progress:
            progress(len(chunk))
        yield chunk


_BLANK = b" \t\r\n"


def _without_trailing_blank_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` without the blank lines that end the file (an editor's or a script's empty
    last lines): COPY would read each as a row with one empty field and refuse the file. Only
    at the end: a blank line between rows is still refused, naming its line. The bytes after
    the last non-blank byte are held back until more content follows; at the end of the file
    only those up to the last row's own line end are sent (a blank run longer than ``CHUNK`` is
    sent as it is, and refused). The kept file is the file as it came."""
    held = b""
    for chunk in chunks:
        content = chunk.rstrip(_BLANK)
        if content:
            yield held + content
            held = chunk[len(content) :]
        else:
            held += chunk
        if len(held) > CHUNK:  # a blank tail is held in memory up to a chunk; longer: sent
            yield held
            held = b""
    end = held.find(b"\n")
    yield held if end < 0 else held[: end + 1]


def _csv_source(file: BinaryIO, fmt: str, progress: Progress | None) -> Iterator[bytes]:
    """The report as payops CSV bytes: the file itself (without trailing blank lines), or its
    rows converted."""
    if fmt == ProviderReport.Format.PAYOPS_CSV:
        return _without_trailing_blank_lines(_chunks(file, progress))
    data = file.read()
    if progress:
        progress(len(data))
    parser = {"bpc_json": bpc.parse, "ameria_xml": ameria.parse}[fmt]
    return rows_to_csv(list(parser(data)))


def _split_header(chunks: Iterator[bytes]) -> tuple[list[str], bytes]:
    head = b""
    for chunk in chunks:
        head += chunk
        if b"\n" in head or len(head) > CHUNK:
            break
    line, _, rest = head.partition(b"\n")
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise FormatError("the header is not UTF-8 text (wrong encoding?)", 1) from None
    if not text.strip():
        raise FormatError("the file is empty" if not rest.strip() else "the header is empty", 1)
    return check_header(next(csv.reader([text]))), rest


# The staging row typed: each cast once (``OFFSET 0`` keeps the planner from inlining the
# subquery and repeating them in the conditions).
TYPED = """SELECT n, coalesce(order_number, '') AS order_number,
        upper(coalesce(provider_reference, '')) AS provider_reference,
        amount AS amount_text, coalesce(nullif(refunded_amount, ''), '0') AS refunded_text,
        coalesce(nullif(fee, ''), '0') AS fee_text,
        amount::numeric AS amount, currency, status, paid_at, paid_at::timestamptz AS paid,
        coalesce(nullif(refunded_amount, ''), '0')::numeric AS refunded_amount,
        coalesce(nullif(fee, ''), '0')::numeric AS fee
    FROM recon_stage OFFSET 0"""


def _valid() -> str:
    """The rules of ``parsers.base.parse_row`` as one SQL condition over a ``TYPED`` row, by
    casts and cheap tests (no regular expression). A value no cast can read raises
    ``DataError`` instead; either way the slow path (``_first_bad_row``) names the line."""
    currencies = ", ".join(f"'{c}'" for c in CURRENCIES)
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    bound = "10000000000"

    def plain(text: str, number: str) -> str:
        # Digits and one point inside, as ``AMOUNT_RE``: PostgreSQL's numeric cast also reads
        # exponents ('1E+3'), signs and '.5', which the Python rule refuses. A value written
        # as PostgreSQL writes it back ('1500.00', '0') passes at once (one comparison; the
        # negatives, NaN and Infinity it could be fail the bounds below); any other spelling
        # is looked at character by character.
        value = f"trim({text})"
        return (
            f"(CAST({number} AS TEXT) = {text} OR (translate({value}, '0123456789.', '') = '' "
            f"AND left({value}, 1) <> '.' AND right({value}, 1) <> '.'))"
        )

    return f"""coalesce(
      currency IN ({currencies}) AND status IN ({statuses})
      AND {plain("amount_text", "amount")} AND {plain("refunded_text", "refunded_amount")}
      AND {plain("fee_text", "fee")}
      AND amount >= 0 AND amount < {bound} AND scale(amount) <= 2
      AND refunded_amount >= 0 AND refunded_amount <= amount AND scale(refunded_amount) <= 2
      AND fee >= 0 AND fee < {bound} AND scale(fee) <= 2
      AND substr(paid_at, 11, 1) IN ('T', ' ')
      AND (right(paid_at, 1) = 'Z' OR substr(paid_at, length(paid_at) - 5, 1) IN ('+', '-')
           OR substr(paid_at, length(paid_at) - 4, 1) IN ('+', '-')
           OR substr(paid_at, length(paid_at) - 2, 1) IN ('+', '-'))
      AND paid IS NOT NULL AND paid >= '{EARLIEST.isoformat()}' AND paid <= '{LATEST.isoformat()}'
      AND length(order_number) <= 64 AND length(provider_reference) <= 128,
      false)"""


def _first_bad_row(cursor, only: int | None = None) -> FormatError:
    """The slow path, on failure only: the Python rules over the staged rows, in file order
    (``n``: the staging row's number, the file's line minus one)."""
    columns = ", ".join(CANONICAL_COLUMNS)
    cursor.execute(
        f"SELECT n, {columns} FROM recon_stage " + ("WHERE n = %s" if only else "ORDER BY n"),
        [only] if only else [],
    )
    for n, *values in cursor.fetchall():
        try:
            parse_row(dict(zip(CANONICAL_COLUMNS, values, strict=True)))
        except ValueError as exc:
            return FormatError(str(exc), n + 1)
        if only:
            return FormatError("a value payops cannot store", n + 1)
    return FormatError("a value payops cannot store")


_COPY_LINE = re.compile(r"line (\d+)")


def _copy_problem(exc: psycopg.Error) -> FormatError:
    context = getattr(exc.diag, "context", None) or ""
    match = _COPY_LINE.search(context)
    line = int(match.group(1)) + 1 if match else None  # COPY counts from the first data line
    message = (exc.diag.message_primary or str(exc)).strip()
    if isinstance(
        exc, psycopg.errors.CharacterNotInRepertoire | psycopg.errors.UntranslatableCharacter
    ):
        message = f"not UTF-8 text: {message}"
    return FormatError(message, line)


def _load_postgres(report: ProviderReport, chunks: Iterator[bytes]) -> int:
    """COPY into a temporary staging table of text columns (numbered by an identity column in
    the order COPY wrote them), then ONE set-based write (``bulk.insert_select``: the SELECT
    streamed back with COPY) that types and validates (the raw text stays in the kept file):
    rows failing the rules are left out, so a count short of the staged count means a bad row,
    and the slow path names the first one (the transaction then rolls back)."""
    columns, rest = _split_header(chunks)
    text_columns = ", ".join(f"{c} text" for c in CANONICAL_COLUMNS)
    with connection.cursor() as cursor:
        session_memory(cursor)
        cursor.execute("DROP TABLE IF EXISTS recon_stage")
        cursor.execute(
            "CREATE TEMP TABLE recon_stage (n integer GENERATED ALWAYS AS IDENTITY "
            f"(CACHE 10000), {text_columns}) ON COMMIT DROP"
        )
        pg = cursor.cursor
        try:
            with (
                transaction.atomic(),
                pg.copy(
                    f"COPY recon_stage ({', '.join(columns)}) FROM STDIN "
                    "WITH (FORMAT csv, ENCODING 'UTF8')"
                ) as copy,
            ):
                if rest:
                    copy.write(rest)
                for chunk in chunks:
                    copy.write(chunk)
        except psycopg.Error as exc:
            raise _copy_problem(exc) from None
        staged = pg.rowcount
        try:
            with transaction.atomic():
                written = insert_select(
                    cursor,
                    table="reconciliation_providerreportrow",
                    columns=ROW_COLUMNS,
                    select=f"""SELECT %s::bigint, n + 1, order_number, provider_reference,
                        amount, currency, status, paid, refunded_amount, fee
                    FROM ({TYPED}) t WHERE {_valid()}""",
                    params=[report.pk],
                )
        except (DataError, psycopg.DataError):
            raise _first_bad_row(cursor) from None
        if written != staged:
            cursor.execute(f"SELECT min(n) FROM ({TYPED}) t WHERE NOT {_valid()}")
            raise _first_bad_row(cursor, only=cursor.fetchone()[0])
        return written


def _load_python(report: ProviderReport, chunks: Iterator[bytes]) -> int:
    """The SQLite fallback: the same rules in Python, rows written in batches."""
    reader = csv.reader(_decoded_lines(chunks))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise FormatError("the file is empty", 1)
        columns = check_header(header)
        batch: list[ProviderReportRow] = []
        count = 0
        for values in reader:
            line = reader.line_num
            if len(values) != len(columns):
                raise FormatError(f"{len(values)} fields where the header has {len(columns)}", line)
            try:
                row = parse_row(dict(zip(columns, values, strict=True)))
            except ValueError as exc:
                raise FormatError(str(exc), line) from None
            batch.append(ProviderReportRow(report=report, line_no=line, **row))
            count += 1
            if len(batch) >= 5000:
                ProviderReportRow.objects.bulk_create(batch)
                batch = []
        ProviderReportRow.objects.bulk_create(batch)
    except csv.Error as exc:
        raise FormatError(f"broken CSV ({exc})", reader.line_num) from None
    return count


def _decoded_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """The file's lines as text, each decoded on its own so a bad byte names its line."""
    number = 0
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            number += 1
            yield _decode(line + b"\n", number)
    if pending:
        yield _decode(pending, number + 1)


def _decode(line: bytes, number: int) -> str:
    try:
        return line.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", number) from None


def provider_report_import(
    *,
    organization: Organization,
    provider: str,
    file: BinaryIO,
    actor,
    file_name: str = "",
    format: str | None = None,
    progress: Progress | None = None,
) -> ProviderReport:
    """Import one provider report. Raises ``malformed_file`` (400, naming the line),
    ``unknown_format``, ``unknown_provider`` or ``report_already_imported`` (409)."""
    if provider not in Provider.values:
        raise PaymentError.UNKNOWN_PROVIDER.error(
            f"No provider {provider!r}; one of {', '.join(Provider.values)}.",
            fields={"provider": ["Unknown provider."]},
        )
    sha256, size = file_sha256(file)
    if size == 0:
        raise _malformed(FormatError("the file is empty"))
    known = ProviderReport.objects.filter(organization=organization, sha256=sha256).first()
    if known is not None:
        raise ReconciliationError.REPORT_ALREADY_IMPORTED.error(
            f"This file (SHA-256 {sha256[:12]}...) was imported as report #{known.pk} on "
            f"{timezone.localtime(known.created_at, organization.tz):%Y-%m-%d}; nothing was "
            "written."
        )
    try:
        fmt = format or detect_format(file.read(CHUNK))
        file.seek(0)
        if fmt not in ProviderReport.Format.values:
            raise ReconciliationError.UNKNOWN_FORMAT.error(
                f"No format {fmt!r}; one of {', '.join(ProviderReport.Format.values)}."
            )
        with transaction.atomic():
            report = _report_create(
                organization=organization,
                provider=provider,
                format=fmt,
                file_name=file_name[:255],
                sha256=sha256,
                size_bytes=size,
                imported_by=actor,
            )
            chunks = _csv_source(file, fmt, progress)
            loader = _load_postgres if connection.vendor == "postgresql" else _load_python
            count = loader(report, chunks)
            if count == 0:
                raise FormatError("the file has a header but no rows", 2)
            _keep_file(report, file)
            _finish(report, count)
    except FormatError as exc:
        raise _malformed(exc) from None
    return report


def _keep_file(report: ProviderReport, file: BinaryIO) -> None:
    """The file's own bytes, in parts of ``PART_BYTES``, written after the rows (a refused file
    never gets this far). On PostgreSQL by one binary COPY: bytes sent as they are (a bytea
    parameter travels as hex text, twice its size)."""
    file.seek(0)
    parts = iter(lambda: file.read(ProviderReportFile.PART_BYTES), b"")
    if connection.vendor != "postgresql":
        ProviderReportFile.objects.bulk_create(
            ProviderReportFile(report=report, part=n, data=data) for n, data in enumerate(parts)
        )
        return
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY reconciliation_providerreportfile (report_id, part, data) FROM STDIN "
            "(FORMAT binary)"
        ) as copy,
    ):
        copy.set_types(["int8", "int4", "bytea"])
        for n, data in enumerate(parts):
            copy.write_row((report.pk, n, data))


def _report_create(**values) -> ProviderReport:
    """The report row; the same file imported at the same moment by another session waits on
    the unique (organisation, SHA-256) index and is refused like a second import."""
    try:
        with transaction.atomic():
            return ProviderReport.objects.create(**values)
    except IntegrityError:
        raise ReconciliationError.REPORT_ALREADY_IMPORTED.error(
            "This file was imported by another session at the same moment; nothing was written."
        ) from None


def _finish(report: ProviderReport, count: int) -> None:
    from django.db.models import Max, Min

    bounds = ProviderReportRow.objects.filter(report=report).aggregate(
        first=Min("paid_at"), last=Max("paid_at")
    )
    tz = report.organization.tz
    report.rows_total = report.rows_done = count
    report.first_paid_at, report.last_paid_at = bounds["first"], bounds["last"]
    report.period_start = timezone.localtime(bounds["first"], tz).date()
    report.period_end = timezone.localtime(bounds["last"], tz).date()
    report.status = ProviderReport.Status.IMPORTED
    report.completed_at = timezone.now()
    report._history_user = report.imported_by
    report._change_reason = f"imported {count} rows"
    report.save()
