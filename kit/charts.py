"""Charts as SVG text (统计图): horizontal bars, stacked bars and rate bars.

Pure and dependency-free (the standard library only): the workbench's dashboard inlines
them in its pages, and the monthly bulletin can put the same SVG in a PDF. What every chart
keeps, so it passes the pages' strict CSP and reads well:

* no script, no ``style`` attribute or element: colours and type are SVG presentation
  attributes (``fill=``, ``font-size=``), which a CSP's ``style-src`` does not govern;
* ``role="img"`` labelled by its ``<title>`` and ``<desc>`` (the desc says what the chart
  shows in words; the page puts the same numbers in a table beside it);
* every text escaped; Chinese labels measured as full-width when laying out;
* a fixed palette, each colour at least 4.5:1 against white (WCAG AA for text, well above
  the 3:1 asked of graphics), segments of a stack parted by a white gap;
* labels sit above their bar, so a phone (390 px) shows the chart at nearly its own size;
* an optional link per row (``href``) kept as ``data-href`` on the row's group, not as an
  ``<a>``: a chart is one image to assistive technology (``role="img"`` makes its children
  presentational, and a link inside would be focusable yet unnamed, which axe's
  ``nested-interactive`` refuses). The page's script makes a click on a row follow it; the
  keyboard and screen readers use the links of the table beside the chart.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Sequence

# Each at least 4.5:1 against white (tests/unit/test_charts.py checks it).
PALETTE: dict[str, str] = {
    "blue": "#1d4f91", "green": "#00703c", "red": "#b10e1e", "amber": "#b35c00",
    "purple": "#5b4a9e", "grey": "#505a5f", "teal": "#0b6e78", "brown": "#8a4b08",
}
SERIES_ORDER = ("blue", "green", "red", "amber", "purple", "grey", "teal", "brown")
INK = "#1d1d1f"
TRACK = "#f3f2f1"   # the empty part of a rate bar (100 %), behind the bar
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'

WIDTH = 420          # viewBox width; the page scales it down to the column it sits in
FONT_SIZE = 14
LABEL_H = 20         # the label line above a bar
BAR_H = 16
THIN_H = 11          # a bar of a group (rates per unit)
ROW_GAP = 10
VALUE_ROOM = 64      # room right of the longest bar for its value
PAD = 4


def escape(value: object) -> str:
    """Text or attribute value, escaped for XML (``<``, ``&``, quotes)."""
    return html.escape(str(value), quote=True)


def number(value: float | int | None) -> str:
    """A count as the pages print it: ``12,345``; nothing is ``—``."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def percent(rate: float | None) -> str:
    """A rate (0..1) as the pages print it: ``87.5%``; no rate (nothing to divide) is ``—``."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Rough rendered width: CJK and full-width characters one em, the rest about 0.6 em."""
    return sum(size if _wide(ch) else size * 0.6 for ch in text)


def _wide(ch: str) -> bool:
    code = ord(ch)
    return (0x1100 <= code <= 0x115F or 0x2E80 <= code <= 0xA4CF or 0xAC00 <= code <= 0xD7A3
            or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFF60
            or 0xFFE0 <= code <= 0xFFE6 or 0x20000 <= code <= 0x3FFFD)


def fit(text: str, room: float, size: float = FONT_SIZE) -> str:
    """``text``, cut with an ellipsis to fit ``room`` (the table beside keeps it whole)."""
    if text_width(text, size) <= room:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > room:
            break
        out += ch
    return out + "…"


@dataclass(frozen=True)
class Series:
    """One part of a stack, or one rate of a group: its name (legend) and colour."""

    name: str
    color: str


@dataclass(frozen=True)
class Row:
    """A labelled row: one value (bars), several (a stack's parts, a group's rates)."""

    label: str
    values: tuple[float | None, ...]
    href: str | None = None

    @classmethod
    def of(cls, label: str, value, href: str | None = None) -> Row:
        values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        return cls(str(label), values, href)


@dataclass
class _Svg:
    chart_id: str
    title: str
    desc: str
    parts: list[str] = field(default_factory=list)

    def add(self, piece: str) -> None:
        self.parts.append(piece)

    def render(self, height: float) -> str:
        cid = escape(self.chart_id)
        height = math.ceil(height)
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" '
                f'role="img" aria-labelledby="{cid}-title {cid}-desc" '
                f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
                f'font-family="{escape(FONT)}" font-size="{FONT_SIZE}" fill="{INK}">'
                f'<title id="{cid}-title">{escape(self.title)}</title>'
                f'<desc id="{cid}-desc">{escape(self.desc)}</desc>')
        return head + "".join(self.parts) + "</svg>"


def _color(series: Sequence[Series] | None, i: int) -> str:
    if series and i < len(series):
        return series[i].color
    return PALETTE[SERIES_ORDER[i % len(SERIES_ORDER)]]


def _legend(svg: _Svg, series: Sequence[Series], y: float) -> float:
    """Swatches and names, wrapping; returns the y below it."""
    x, line = 0.0, FONT_SIZE + 6
    for item in series:
        width = 14 + 6 + text_width(item.name) + 16
        if x and x + width > WIDTH:
            x, y = 0.0, y + line
        svg.add(f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="14" height="14" '
                f'fill="{escape(item.color)}"/>'
                f'<text x="{x + 20:.1f}" y="{y + 14:.1f}">{escape(item.name)}</text>')
        x += width
    return y + line + 6


def _empty(svg: _Svg, empty_text: str) -> str:
    svg.add(f'<text x="0" y="{FONT_SIZE + 4}">{escape(empty_text)}</text>')
    return svg.render(FONT_SIZE + 12)


def _open_row(svg: _Svg, row: Row, y: float) -> None:
    link = f' data-href="{escape(row.href)}"' if row.href else ""
    svg.add(f'<g class="chart-row"{link}>')
    svg.add(f'<text x="0" y="{y + FONT_SIZE:.1f}">{escape(fit(row.label, WIDTH))}</text>')


def _close_row(svg: _Svg, row: Row) -> None:
    svg.add("</g>")


def bar_chart(rows: Sequence[Row], *, chart_id: str, title: str, desc: str,
              color: str = PALETTE["blue"], fmt=number, empty_text: str = "无数据") -> str:
    """Horizontal bars, one per row, scaled to the largest value; the value at each bar's end."""
    svg = _Svg(chart_id, title, desc)
    if not rows:
        return _empty(svg, empty_text)
    top = max((v for r in rows for v in r.values[:1] if v is not None), default=0)
    room = WIDTH - VALUE_ROOM
    y = 0.0
    for row in rows:
        value = row.values[0] if row.values else None
        _open_row(svg, row, y)
        bar_y = y + LABEL_H
        width = room * (value or 0) / top if top > 0 else 0.0
        if width > 0:
            svg.add(f'<rect x="0" y="{bar_y:.1f}" width="{max(width, 1):.1f}" '
                    f'height="{BAR_H}" fill="{escape(color)}"/>')
        svg.add(f'<text x="{width + 6:.1f}" y="{bar_y + BAR_H - 3:.1f}">'
                f'{escape(fmt(value))}</text>')
        _close_row(svg, row)
        y = bar_y + BAR_H + ROW_GAP
    return svg.render(y - ROW_GAP + PAD)


def stacked_bar_chart(rows: Sequence[Row], series: Sequence[Series], *, chart_id: str,
                      title: str, desc: str, fmt=number, empty_text: str = "无数据") -> str:
    """One bar per row made of its parts (``series`` in order), scaled to the largest total;
    the total at the bar's end, each part named in its tooltip."""
    svg = _Svg(chart_id, title, desc)
    if not rows:
        return _empty(svg, empty_text)
    y = _legend(svg, series, 0.0)
    totals = [sum(v or 0 for v in r.values) for r in rows]
    top = max(totals, default=0)
    room = WIDTH - VALUE_ROOM
    for row, total in zip(rows, totals):
        _open_row(svg, row, y)
        bar_y = y + LABEL_H
        x = 0.0
        for i, value in enumerate(row.values):
            width = room * (value or 0) / top if top > 0 else 0.0
            if width <= 0:
                continue
            name = series[i].name if i < len(series) else str(i + 1)
            svg.add(f'<rect x="{x:.1f}" y="{bar_y:.1f}" width="{max(width, 1):.1f}" '
                    f'height="{BAR_H}" fill="{escape(_color(series, i))}" stroke="#ffffff" '
                    f'stroke-width="1"><title>{escape(name)}：{escape(fmt(value))}</title></rect>')
            x += width
        svg.add(f'<text x="{x + 6:.1f}" y="{bar_y + BAR_H - 3:.1f}">{escape(fmt(total))}</text>')
        _close_row(svg, row)
        y = bar_y + BAR_H + ROW_GAP
    return svg.render(y - ROW_GAP + PAD)


def rate_chart(rows: Sequence[Row], series: Sequence[Series], *, chart_id: str, title: str,
               desc: str, fmt=percent, empty_text: str = "无数据") -> str:
    """Rates (0..1) against a full-width 100 % track: per row one bar per series (a group),
    each with its percentage; a rate that cannot be given (``None``) shows ``—``."""
    svg = _Svg(chart_id, title, desc)
    if not rows:
        return _empty(svg, empty_text)
    y = _legend(svg, series, 0.0) if len(series) > 1 else 0.0
    room = WIDTH - VALUE_ROOM
    height = BAR_H if len(series) <= 1 else THIN_H
    for row in rows:
        _open_row(svg, row, y)
        bar_y = y + LABEL_H
        for i, rate in enumerate(row.values):
            share = min(max(rate or 0.0, 0.0), 1.0)
            svg.add(f'<rect x="0" y="{bar_y:.1f}" width="{room}" height="{height}" '
                    f'fill="{TRACK}"/>')
            if share > 0:
                svg.add(f'<rect x="0" y="{bar_y:.1f}" width="{max(room * share, 1):.1f}" '
                        f'height="{height}" fill="{escape(_color(series, i))}"/>')
            svg.add(f'<text x="{room + 6}" y="{bar_y + height - 1:.1f}" '
                    f'font-size="{FONT_SIZE - 2 if height < BAR_H else FONT_SIZE}">'
                    f'{escape(fmt(rate))}</text>')
            bar_y += height + 3
        _close_row(svg, row)
        y = bar_y - 3 + ROW_GAP
    return svg.render(y - ROW_GAP + PAD)


def contrast(foreground: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    def luminance(color: str) -> float:
        r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))

        def lin(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
