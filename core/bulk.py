"""Set-based writes on PostgreSQL: rows chosen by SQL written by ``INSERT … SELECT`` with every
column of a model, and the history rows django-simple-history would have written for them.

django-simple-history records nothing for raw SQL or ``QuerySet.update()``: ``history_insert``
writes the same rows its ``save()`` would (every tracked column as the row is now, the time, the
actor, the reason, the type) with one INSERT, so a set-based service keeps the audit trail of
the one-row path. ``temp_table_copy`` loads rows a service decided in Python (per-row rules)
into a temporary table by COPY, for the statements that follow to read.

Callers check ``connection.vendor == "postgresql"`` and keep an object path elsewhere (SQLite).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import connection, models


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _default_param(field: models.Field):
    return field.get_db_prep_save(field.get_default(), connection)


class Param:
    """A value passed as a query parameter in ``insert_select``'s ``values``."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Expr:
    """An SQL expression with placeholders and their parameters, for ``insert_select``."""

    __slots__ = ("params", "sql")

    def __init__(self, sql: str, *params):
        self.sql, self.params = sql, params


def insert_select(
    model: type[models.Model],
    values: dict[str, str | Param | Expr],
    *,
    source: str,
    params: Sequence = (),
    returning: Sequence[str] = (),
) -> list[tuple]:
    """``INSERT INTO <model's table> (every column) SELECT <values[column] or the field's
    default> <source>``. ``values`` maps a column to an SQL expression over ``source`` (without
    placeholders), an ``Expr`` (with them) or a ``Param``; a column left out takes its field's
    Python default (an auto primary key left out takes its sequence). ``params`` are
    ``source``'s. Returns the ``returning`` columns of the rows written."""
    names, exprs, head = [], [], []
    for field in model._meta.concrete_fields:
        column = field.column
        value = values.get(column)
        if value is None:
            if isinstance(field, models.AutoField | models.BigAutoField | models.SmallAutoField):
                continue
            value = Param(_default_param(field))
        names.append(column)
        if isinstance(value, Param):
            exprs.append("%s")
            head.append(value.value)
        elif isinstance(value, Expr):
            exprs.append(value.sql)
            head.extend(value.params)
        else:
            exprs.append(value)
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(n) for n in names)}) "
        f"SELECT {', '.join(exprs)} {source}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(qn(c) for c in returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, *params])
        return cursor.fetchall() if returning else []


def history_insert(
    model: type[models.Model],
    *,
    source: str,
    params: Sequence = (),
    actor,
    reason: str | None = None,
    reason_sql: str | None = None,
    history_type: str = "~",
    when: dt.datetime,
) -> int:
    """The history rows of ``model``'s rows chosen by ``source`` (a ``FROM`` clause in which
    ``t`` is the model's table), as they are now: what ``save()`` under ``with_history(actor,
    reason)`` writes (``history_type`` ``+`` for a creation, ``~`` for a change). The reason is
    ``reason``, or the SQL expression ``reason_sql`` per row (no placeholders). Returns the
    number of rows written."""
    history = model.history.model
    tracked = [
        f.column
        for f in history._meta.concrete_fields
        if not f.name.startswith("history_") and f.column != "history_id"
    ]
    columns = [*tracked, "history_date", "history_change_reason", "history_type"]
    columns.append("history_user_id")
    reason_expr = reason_sql if reason_sql is not None else "%s"
    head = [when] + ([] if reason_sql is not None else [reason]) + [history_type]
    head.append(getattr(actor, "pk", actor))
    sql = (
        f"INSERT INTO {qn(history._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT {', '.join('t.' + qn(c) for c in tracked)}, %s, {reason_expr}, %s, %s {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, *params])
        return cursor.rowcount


def temp_table_copy(
    name: str, columns: Sequence[tuple[str, str]], rows: Iterable[tuple], *, analyze: bool = True
) -> None:
    """A temporary table ``name`` (``columns``: name and SQL type), dropped at COMMIT (or by the
    next call inside an outer transaction), filled with ``rows`` by COPY (the values dumped by
    psycopg's C adapters: a list parameter of a client-side cursor is quoted in Python), then
    analysed unless ``analyze`` is false (a table read once, whole). Inside a transaction only
    (in autocommit the table would be gone after its CREATE)."""
    if not connection.in_atomic_block:
        raise RuntimeError("temp_table_copy needs a transaction (its table is dropped at COMMIT).")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{qn(name)}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {qn(name)} ("
            + ", ".join(f"{qn(c)} {t}" for c, t in columns)
            + ") ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            f"COPY {qn(name)} ({', '.join(qn(c) for c, _ in columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        if analyze:
            cursor.execute(f"ANALYZE {qn(name)}")


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model`` from its sequence (for rows written by SQL that
    other rows point to)."""
    if count <= 0:
        return []
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk, count],
        )
        return [row[0] for row in cursor.fetchall()]
