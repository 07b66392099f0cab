"""What the domains show on the desk: period sections and export sheets, by registration.

The desk imports no domain to learn what a period holds. Each domain (payouts, billing,
appointments, ...) registers, in its ``AppConfig.ready()``:

- ``register_period_section(name, template=, context=, title=, order=)``: a block of the period
  page. ``context(*, period, organization, lo, hi, user) -> dict | None`` returns the
  template's context (``None``: nothing to show for this organisation).
- ``register_export_sheet(name, title=, columns=, rows=, totals=, order=)``: a sheet of the
  XLSX and a block of the CSV export. ``rows(*, period, organization, lo, hi)`` yields tuples in
  the order of ``columns``; ``totals`` maps amount columns to the figure they add up to
  (``{"amount": "verified"}``): the export's totals, per currency (``currency`` names the currency
  column), are the ones the period page shows.

``lo``/``hi`` are the UTC bounds ``[lo, hi)`` of the period's local dates. Registering a name again
replaces it (tests and reloads). docs/desk.md shows a domain adding its section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PeriodSection:
    name: str
    title: str
    template: str
    context: Callable[..., dict | None]
    order: int = 100


@dataclass(frozen=True)
class ExportSheet:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[..., Iterable[tuple]]
    totals: dict[str, str] = field(default_factory=dict)
    currency: str = "currency"
    order: int = 100
    amount_columns: tuple[str, ...] = field(default=())


_sections: dict[str, PeriodSection] = {}
_sheets: dict[str, ExportSheet] = {}


def register_period_section(
    name: str, *, title: str, template: str, context: Callable[..., dict | None], order: int = 100
) -> None:
    _sections[name] = PeriodSection(name, title, template, context, order)


def register_export_sheet(
    name: str,
    *,
    title: str,
    columns: Iterable[str],
    rows: Callable[..., Iterable[tuple]],
    totals: dict[str, str] | None = None,
    currency: str = "currency",
    amount_columns: Iterable[str] = (),
    order: int = 100,
) -> None:
    totals = dict(totals or {})
    _sheets[name] = ExportSheet(
        name,
        title,
        tuple(columns),
        rows,
        totals,
        currency,
        order,
        tuple(amount_columns) or tuple(totals),
    )


def period_sections() -> list[PeriodSection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.name))


def export_sheets() -> list[ExportSheet]:
    return sorted(_sheets.values(), key=lambda s: (s.order, s.name))
