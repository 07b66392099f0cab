"""Bulk writes of set-based results: ``SELECT`` → ``COPY ... FROM STDIN``, no row loop.

PostgreSQL writes an ``INSERT ... SELECT`` row by row (one heap insert and one WAL record per
row, dirty pages flushed by the backend itself when shared buffers are small), while ``COPY FROM``
batches rows per page (``heap_multi_insert``) through a ring of buffers. At a million report rows
or reconciliation lines that is 2-3x faster (BENCHMARKS.md). So the rows a ``SELECT`` computes
are streamed out with ``COPY (SELECT ...) TO STDOUT`` in PostgreSQL's binary format, spooled
(memory, then a temporary file), and streamed back into the target table with ``COPY FROM
STDIN``. Python only moves bytes: it never parses a row. The ``SELECT`` must produce exactly the
target columns' types (binary format), in order.

On SQLite (a bare ``make run``) it is one ``INSERT ... SELECT``.
"""

from __future__ import annotations

import tempfile

from django.db import DatabaseError, connection, transaction

SPOOL_IN_MEMORY = 64 << 20
SPOOL_BATCH = 8 << 20
# Per session, for the set-based work of an import or a run (never a server-wide setting).
# Temporary tables live in the session's own buffers (8 MB by default: a million staged rows
# spill to files and are read back); PostgreSQL takes this memory as the tables grow, and
# keeps it for the session's life.
TEMP_BUFFERS = "512MB"
WORK_MEM = "256MB"


def session_memory(cursor) -> None:
    """Memory for a month's rows: hashes and aggregates in ``work_mem`` (this transaction
    only), temporary tables in ``temp_buffers`` (settable only before the session's first
    temporary table: afterwards it stays what it was)."""
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():
            cursor.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except DatabaseError:
        pass  # this session used temporary tables already
    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")


def insert_select(cursor, *, table: str, columns: list[str], select: str, params=()) -> int:
    """Write the rows of ``select`` into ``table`` (``columns``); returns their number."""
    names = ", ".join(columns)
    if connection.vendor != "postgresql":
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", params)
        return cursor.rowcount
    pg = cursor.cursor  # the psycopg cursor under Django's wrapper
    # COPY sends one message per row: they are gathered in a bytearray and written to the
    # spool 8 MB at a time (a write per row into a SpooledTemporaryFile costs ~0.3 s more per
    # million rows).
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        batch = bytearray()
        with pg.copy(f"COPY ({select}) TO STDOUT (FORMAT binary)", params or None) as out:
            for data in out:
                batch += data
                if len(batch) >= SPOOL_BATCH:
                    spool.write(batch)
                    batch.clear()
        spool.write(batch)
        rows = pg.rowcount
        spool.seek(0)
        with pg.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT binary)") as copy:
            while data := spool.read(1 << 20):
                copy.write(data)
    return rows
