"""Lock order of reconciliation (take locks only through these helpers, in this order):

1. the organisation row (``organization_lock``): creating accounting periods (no overlap on
   SQLite, where there is no exclusion constraint) and a run's exception sync;
2. the accounting period row (``period_lock``): close and reopen;
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
