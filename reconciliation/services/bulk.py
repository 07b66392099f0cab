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

from django.db import connection

SPOOL_IN_MEMORY = 64 << 20


def insert_select(cursor, *, table: str, columns: list[str], select: str, params=()) -> int:
    """Write the rows of ``select`` into ``table`` (``columns``); returns their number."""
    names = ", ".join(columns)
    if connection.vendor != "postgresql":
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", params)
        return cursor.rowcount
    pg = cursor.cursor  # the psycopg cursor under Django's wrapper
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        with pg.copy(f"COPY ({select}) TO STDOUT (FORMAT binary)", params or None) as out:
            for data in out:
                spool.write(data)
        rows = pg.rowcount
        spool.seek(0)
        with pg.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT binary)") as copy:
            while data := spool.read(1 << 20):
                copy.write(data)
    return rows
