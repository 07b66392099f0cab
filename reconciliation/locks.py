"""Lock order of reconciliation (take locks only through these helpers, in this order):

1. the organisation row (``organization_lock``): creating accounting periods (no overlap on
   SQLite, where there is no exclusion constraint) and a run's exception sync; creating a
   period then takes the kernel's period-creation lock exclusively
   (``core.locks.accounting_period_creation_lock``): a change dated where no period exists yet
   holds it shared, so a period created (and closed) meanwhile waits for that change to commit;
2. the accounting period row (``period_lock``, ``FOR UPDATE``): close and reopen. It conflicts
   with the ``FOR SHARE`` lock a change dated in the period holds from its guard
   (``core.accounting.accounting_period_guard``) until it commits: a change that checked first
   makes the close wait (and the close's figures then count it); a close that locked first
   makes the change wait, and the change is then refused ``409 period_closed``. Never a change
   in a closed period. Changes take the period before their own rows (payments, ...), and the
   close locks none of those: no cycle;
3. exception cases (taken by ``exceptionqueue.services``).

Runs and imports take no row lock: an import is one transaction refused by the unique SHA-256,
and a nightly run is one row per organisation and day (a unique constraint).
"""

from __future__ import annotations

from core.models import AccountingPeriod, Organization


def organization_lock(organization: Organization) -> Organization:
    return Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


def period_lock(period: AccountingPeriod | int) -> AccountingPeriod:
    pk = period.pk if isinstance(period, AccountingPeriod) else period
    return (
        AccountingPeriod.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=pk)
    )
