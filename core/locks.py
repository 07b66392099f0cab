"""The kernel's locks on the accounting period, and where they sit in payops' lock order.

Lock order, everywhere in payops: **accounting period** → recipients (by id) → payments (by id)
→ adjustments → payouts (``payments.locks``, ``payouts.locks``). The accounting period comes
first because a change dated in it and its close must serialise, and the close locks nothing a
change holds:

- a change dated on ``day`` (``core.accounting.accounting_period_guard`` inside the change's
  transaction) takes ``accounting_period_share_lock``: ``SELECT ... FOR SHARE`` of the
  accounting period covering ``day``;
- the close (and reopen) of a period takes that row ``FOR UPDATE`` (``reconciliation.locks.
  period_lock``), which conflicts with ``FOR SHARE``: a change that checked the period first
  holds the close until it commits (the close then sees it in its figures); a close that locked
  first makes the change wait, and the change then reads the row again as the close committed
  it (PostgreSQL re-checks a locked row's newest version under READ COMMITTED) and is refused
  ``409 period_closed``. Changes only share the lock: they never wait for one another.
- when no period covers ``day`` yet there is no row to lock: the change takes the organisation's
  *period-creation* lock shared (``pg_advisory_xact_lock_shared``), and creating a period takes
  it exclusive (``accounting_period_creation_lock``, in ``reconciliation``'s
  ``accounting_period_create``). A period created (and then closed) while such a change runs
  waits for it to commit; a change that starts after the period was created finds its row.

Both are transaction-scoped: taken outside a transaction they would be released at once, so
the guard locks only inside one (``transaction.get_connection().in_atomic_block``). SQLite has no
row locks and serialises writers on its own: nothing is taken there.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from core.models import AccountingPeriod

# The high half of the advisory key: "AC" (accounting period creation); the low half is the
# organisation's id.
CREATION_NAMESPACE = 0x4143


# The table name is the model's own (a constant), never input.
SHARE_SQL = (
    f"SELECT * FROM {AccountingPeriod._meta.db_table} "  # noqa: S608
    'WHERE organization_id = %s AND start <= %s AND "end" >= %s ORDER BY start LIMIT 1 FOR SHARE'
)


def _creation_key(organization_id: int) -> int:
    return CREATION_NAMESPACE * 2**32 + organization_id


def _locking() -> bool:
    return connection.vendor == "postgresql" and connection.in_atomic_block


def accounting_period_share_lock(*, organization_id: int, day: dt.date) -> AccountingPeriod | None:
    """The accounting period covering ``day``, read under ``FOR SHARE`` (None: none yet, and the
    organisation's period-creation lock is then held shared). Without a transaction (or on
    SQLite): a plain read."""
    periods = AccountingPeriod.objects.filter(
        organization_id=organization_id, start__lte=day, end__gte=day
    )
    if not _locking():
        return periods.first()
    period = _first_for_share(organization_id, day)
    if period is not None:
        return period
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_creation_key(organization_id)])
    # A period created while we waited has committed by now: read again.
    return _first_for_share(organization_id, day)


def _first_for_share(organization_id: int, day: dt.date) -> AccountingPeriod | None:
    found = list(AccountingPeriod.objects.raw(SHARE_SQL, [organization_id, day, day]))
    return found[0] if found else None


def accounting_period_creation_lock(*, organization_id: int) -> None:
    """Hold the organisation's period-creation lock exclusively until the transaction ends (the
    changes dated where no period exists yet hold it shared). PostgreSQL only."""
    if not _locking():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_creation_key(organization_id)])
