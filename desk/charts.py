"""Charts as server-side SVG: no script, no outside service, readable by screen readers.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says the figures in
words, and a ``<title>`` on every bar (the browser shows it on hover). Colours come from the
desk's stylesheet (classes), so they follow its contrast rules.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from desk.templatetags.desk import amount_text

_ids = itertools.count(1)


def _scale_max(value: Decimal) -> Decimal:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def column_chart(
    points: list[tuple[str, Decimal]],
    *,
    title: str,
    unit: str = "",
    width=720,
    height=200,
    ticks: list[str] | None = None,
) -> SafeString:
    """Vertical bars (one per day, for instance) with the axis maximum and sparse labels
    (``ticks``: shorter axis labels than the bars' titles, one per point)."""
    uid = f"chart{next(_ids)}"
    left, bottom, top = 64, 24, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _scale_max(max((v for _, v in points), default=Decimal(0)))
    n = max(len(points), 1)
    slot = plot_w / n
    bars, labels = [], []
    every = max(1, n // 10)
    for i, (label, value) in enumerate(points):
        h = float(value / peak) * plot_h if peak else 0
        x = left + i * slot + slot * 0.15
        bars.append(
            (
                f"{x:.1f}",
                f"{top + plot_h - h:.1f}",
                f"{slot * 0.7:.1f}",
                f"{h:.1f}",
                f"{label}: {amount_text(value)} {unit}".strip(),
            )
        )
        if i % every == 0:
            tick = ticks[i] if ticks else label
            labels.append((f"{left + i * slot + slot / 2:.1f}", f"{height - 6}", tick))
    total = sum((v for _, v in points), Decimal(0))
    highest = max((v for _, v in points), default=Decimal(0))
    desc = (
        f"{len(points)} bars; total {amount_text(total)} {unit}; "
        f"highest {amount_text(highest)} {unit}"
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{u}t {u}d" '
        'preserveAspectRatio="xMidYMid meet"><title id="{u}t">{title}</title>'
        '<desc id="{u}d">{desc}</desc>'
        '<line class="axis" x1="{l}" y1="{t}" x2="{l}" y2="{base}"/>'
        '<line class="axis" x1="{l}" y1="{base}" x2="{r}" y2="{base}"/>'
        '<text class="tick" x="{lx}" y="{ty}" text-anchor="end">{peak}</text>'
        '<text class="tick" x="{lx}" y="{base}" text-anchor="end">0</text>'
        '<line class="grid" x1="{l}" y1="{mid}" x2="{r}" y2="{mid}"/>'
        "{bars}{labels}</svg>",
        w=width,
        h=height,
        u=uid,
        title=title,
        desc=desc,
        l=left,
        t=top,
        r=width - 8,
        base=top + plot_h,
        mid=f"{top + plot_h / 2:.1f}",
        lx=left - 6,
        ty=top + 8,
        peak=amount_text(peak, places=0),
        bars=format_html_join(
            "",
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            bars,
        ),
        labels=format_html_join(
            "", '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>', labels
        ),
    )


def bar_list(
    rows: list[tuple[str, Decimal, str]],
    *,
    title: str,
    unit: str = "",
    places: int | None = None,
    peak: Decimal | None = None,
) -> SafeString:
    """Horizontal bars, one per row ``(label, value, css class)``, value written at the end
    (``places``: decimals shown, 0 for counts and 2 for amounts by default; ``peak``: the value
    of a full bar, e.g. 100 for percentages, else the largest value). The label column is as
    wide as the longest label needs (within bounds), so no label is cut."""
    uid = f"chart{next(_ids)}"
    places = (2 if unit else 0) if places is None else places
    longest = max((len(str(label)) for label, _v, _c in rows), default=8)
    width, row_h = 520, 30
    label_w = min(max(110, int(longest * 7.2) + 14), 280)
    height = max(len(rows), 1) * row_h + 8
    track = peak is not None  # a fixed scale (percent): the full bar is drawn faintly behind
    peak = peak or max((v for _, v, _ in rows), default=Decimal(0)) or Decimal(1)
    plot_w = width - label_w - 90
    items = []
    for i, (label, value, css) in enumerate(rows):
        y = 4 + i * row_h
        w = max(min(float(value / peak), 1.0) * plot_w, 2 if value else 0)
        text = f"{amount_text(value, places=places)} {unit}".strip()
        items.append(
            (
                f"{label_w - 8}",
                f"{y + 19}",
                label,
                f"{label_w}",
                f"{y + 5}",
                f"{plot_w if track else 0}",
                css,
                f"{label_w}",
                f"{y + 5}",
                f"{w:.1f}",
                f"{label}: {text}",
                f"{label_w + w + 6:.1f}",
                f"{y + 19}",
                text,
            )
        )
    desc = "; ".join(
        f"{label}: {amount_text(v, places=places)} {unit}".strip() for label, v, _ in rows
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{u}t {u}d">'
        '<title id="{u}t">{title}</title><desc id="{u}d">{desc}</desc>{items}</svg>',
        w=width,
        h=height,
        u=uid,
        title=title,
        desc=desc or "-",
        items=format_html_join(
            "",
            '<text class="label" x="{}" y="{}" text-anchor="end">{}</text>'
            '<rect class="track" x="{}" y="{}" width="{}" height="20" rx="3"/>'
            '<rect class="bar {}" x="{}" y="{}" width="{}" height="20" rx="3"><title>{}</title>'
            '</rect><text class="value" x="{}" y="{}">{}</text>',
            items,
        ),
    )
