"""The monthly bulletin (月通报) as a document: one Jinja2 template (``bulletin.html``) renders
it for the web page and for the PDF (WeasyPrint), with charts as inline SVG (``kit.charts``)
and the ledger's chain head printed on it, so that anyone holding a copy can later check the
history against it (``POST /api/v1/ledger/verify`` with that seq and hash).

``compose`` turns the ledger's figures (``ledger.bulletin_figures``) into the bulletin
(``kit.bulletin``); ``html`` and ``pdf`` render it. Plain functions: the
routes fetch and store, these only draw.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from gateway import web
from gateway.workbench.pages import templates
from kit import charts
from kit.charts import PALETTE, Row, Series
from kit import bulletin as rules

CSS = Path(web.__file__).parent / "static" / "wb-bulletin.css"
FONT_FAMILY = "Noto Sans CJK SC"     # named in wb-bulletin.css; Debian's fonts-noto-cjk
CHART_UNITS = 20                     # units drawn in a chart (the table lists every one)


@dataclass
class Document:
    bulletin: rules.Bulletin
    head: dict
    as_of: str
    weeks: list[str]
    charts: list[Markup]
    status: str            # "draft" (草稿) or "published" (已发布)
    published: dict | None = None

    @property
    def title(self) -> str:
        year, month = self.bulletin.month.split("-")
        return f"{year}年{int(month)}月 专项整治工作通报"


def compose(answer: dict, *, min_problems: int = rules.MIN_PROBLEMS,
            cases: list[str] | None = None) -> rules.Bulletin:
    """The bulletin from the ledger's figures answer (``ledger.bulletin_figures``)."""
    figures = rules.figures_from(answer["units"], answer["names"], answer["missing"],
                                 answer["contradicted"], expected=answer.get("expected"),
                                 new=answer.get("new"), on_time=answer.get("on_time"),
                                 overturned=answer.get("overturned"))
    spot_checks = rules.spot_check_rows(answer.get("spot_checks"), answer["names"])
    return rules.compose(answer["month"], figures, min_problems=min_problems, cases=cases,
                         spot_checks=spot_checks)


TREND_MONTHS = 6   # months drawn in the trend (this one and the published before it)


def trend_of(published: list[dict], b: rules.Bulletin) -> list[tuple[str, float | None]]:
    """(month, on-time rate) for the months published before this one, and this one: the
    trend chart's rows, oldest first."""
    earlier = sorted((i["month"], (i.get("totals") or {}).get("on_time_rate"))
                     for i in published if i.get("month", "") < b.month)
    return [*earlier, (b.month, b.totals.get("on_time_rate"))][-TREND_MONTHS:]


def _charts(b: rules.Bulletin, trend: list[tuple[str, float | None]]) -> list[Markup]:
    biggest = sorted(b.rows, key=lambda r: (-r.registered, r.unit))[:CHART_UNITS]
    parts = [Series("已整改销号", PALETTE["green"]), Series("超期", PALETTE["red"]),
             Series("其他", PALETTE["grey"])]
    stacked = charts.stacked_bar_chart(
        [Row.of(r.name_zh, [r.rectified, r.overdue, max(r.registered - r.rectified - r.overdue,
                                                          0)]) for r in biggest],
        parts, chart_id="bulletin-units", title="各单位问题数",
        desc=f"问题最多的 {len(biggest)} 个单位:已整改销号、超期与其他问题数", empty_text="无数据")
    ranked = next(r for r in b.rankings if r.key == "on_time_rate").ranked[:CHART_UNITS]
    rates = charts.bar_chart(
        [Row.of(r["name_zh"], r["rate"]) for r in ranked], chart_id="bulletin-on-time",
        title="按期办结率排名", desc=f"参与排名的 {len(ranked)} 个单位的按期办结率",
        color=PALETTE["blue"], fmt=charts.percent, empty_text="无参与排名的单位")
    months = charts.bar_chart(
        [Row.of(month, value) for month, value in trend], chart_id="bulletin-trend",
        title="按期办结率走势(逐月)", desc=f"最近 {len(trend)} 个月的全县按期办结率",
        color=PALETTE["teal"], fmt=charts.percent, empty_text="无数据")
    return [Markup(stacked), Markup(rates), Markup(months)]


def document(b: rules.Bulletin, *, head: dict, as_of: str, weeks: list[str],
             published: dict | None = None, trend: list | None = None) -> Document:
    """``trend``: (month, rate) pairs, oldest first (``trend_of``); this month alone if none."""
    trend = trend or [(b.month, b.totals.get("on_time_rate"))]
    return Document(b, head, as_of, weeks, _charts(b, trend),
                    "published" if published else "draft", published)


def _context(doc: Document) -> dict:
    return {"doc": doc, "b": doc.bulletin, "pct": charts.percent, "num": charts.number}


def html(doc: Document) -> str:
    """The bulletin's fragment (``<article>``), for the workbench page to wrap."""
    return templates.get_template("bulletin.html").render(**_context(doc))


def standalone(doc: Document) -> str:
    """The bulletin as a whole HTML document (what WeasyPrint prints)."""
    return templates.get_template("bulletin_print.html").render(
        body=Markup(html(doc)), title=doc.title)


def pdf(doc: Document) -> bytes:
    """The bulletin as PDF: the same template, the stylesheet of the web page (its ``@page``
    and print rules), fonts from the system (fontconfig: Noto Sans CJK SC)."""
    from weasyprint import CSS as WeasyCSS
    from weasyprint import HTML
    return HTML(string=standalone(doc), base_url=None).write_pdf(
        stylesheets=[WeasyCSS(string=CSS.read_text(encoding="utf-8"))])
