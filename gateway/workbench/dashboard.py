"""The roll-up as a dashboard (统计看板): the ledger's counts by state, outcome, category,
kind, channel and unit, and the per-unit rates, drawn as charts (``kit.charts``), each
followed by a table of the same numbers for screen readers, each row a link to the ledger
list filtered by it.

The county office sees all, a supervising body its own system, the spot-check team all (the
ledger decides the scope, as for ``GET /api/v1/ledger/rollup``). ``board`` is plain Python
on the roll-up's answer (unit-tested without a server); the route only fetches and renders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup

from contracts.vocabulary import State
from gateway.auth.roles import Role
from gateway.routes.problems import actor
from gateway.workbench import labels
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from gateway.workbench.texts import text
from kit import charts
from kit.charts import PALETTE, Row, Series

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
VIEWERS = (Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.SPOT_CHECK)
TOP_UNITS = 20           # units drawn by default (the most problems); ``?units=all`` draws all
LIST = f"{PREFIX}/problems"
OUTCOMES = ("none", "rectified", "unfounded", "merged", "transferred")
# The parts of a unit's bar, in order: (text key, colour).
UNIT_PARTS = (("dash.part.struck_off", PALETTE["green"]),
              ("dash.part.unfounded", PALETTE["purple"]),
              ("dash.part.other_closed", PALETTE["grey"]),
              ("dash.part.on_time", PALETTE["blue"]), ("dash.part.overdue", PALETTE["red"]))
# The per-unit rates drawn, in order: (roll-up field, its denominator, text key, colour).
RATES = (("on_time_rate", "open", "dash.rate.on_time", PALETTE["blue"]),
         ("rectified_rate", "closed", "dash.rate.rectified", PALETTE["green"]),
         ("unfounded_rate", "closed", "dash.rate.unfounded", PALETTE["purple"]),
         ("overdue_rate", "open", "dash.rate.overdue", PALETTE["red"]))


@dataclass
class TableRow:
    label: str
    href: str | None
    cells: list[str]


@dataclass
class Chart:
    """One chart and its table: the same rows, the same numbers."""

    id: str
    heading: str
    lead: str
    svg: Markup
    first_column: str
    columns: list[str]
    rows: list[TableRow]
    note: str | None = None


@dataclass
class Figure:
    """One headline figure (总数, 在办, 超期 …), a link where the list can show it."""

    id: str
    label: str
    value: str
    href: str | None = None


@dataclass
class Board:
    scope: str
    as_of: str
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    units_shown: int = 0
    units_total: int = 0


def list_link(**filters) -> str:
    """The ledger list filtered by ``filters`` (the API's filter names)."""
    return f"{LIST}?{urlencode(filters)}"


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def totals(units: list[dict]) -> dict:
    """The scope's counts, summed from the per-unit rows the roll-up returns."""
    keys = ("total", "open", "closed", "struck_off", "unfounded", "overdue", "stalled")
    return {k: sum(int(u.get(k) or 0) for u in units) for k in keys}


def _names(campaign, lang: str) -> dict[str, dict[str, str]]:
    def name(item):
        return item.name_en if lang == "en" else item.name_zh
    return {"unit": {o.code: name(o) for o in campaign.organizations},
            "category": {c.code: name(c) for c in campaign.categories},
            "kind": {k.code: name(k) for k in campaign.kinds},
            "channel": {c.code: name(c) for c in campaign.channels}}


def _ordered(counts: dict, codes: list[str], *, by_count: bool = False) -> list[tuple[str, int]]:
    """Every code of the campaign (zeros too), then anything else the ledger counted."""
    pairs = [(code, int(counts.get(code, 0))) for code in codes]
    pairs += [(k, int(v)) for k, v in counts.items() if k not in codes]
    if by_count:
        pairs.sort(key=lambda kv: -kv[1])  # stable: campaign order among equals
    return pairs


def board(rollup: dict, campaign, lang: str, *, all_units: bool = False) -> Board:
    """The dashboard of one roll-up, in ``lang``."""
    def t(key, **values):
        return text(key, lang, **values)

    names = _names(campaign, lang)
    none = t("dash.none")
    scope = rollup.get("scope")
    scope_name = t("dash.scope_all") if scope in (None, "all") else names["unit"].get(scope, scope)
    out = Board(scope=scope_name, as_of=rollup.get("as_of", ""))
    units = list(rollup.get("units") or [])
    sums = totals(units)
    total = int(rollup.get("total") or 0)
    out.figures = [
        Figure("total", t("dash.fig.total"), charts.number(total), LIST),
        Figure("open", t("dash.fig.open"), charts.number(sums["open"]), None),
        Figure("closed", t("dash.fig.closed"), charts.number(sums["closed"]),
               list_link(state=State.CLOSED.value)),
        Figure("overdue", t("dash.fig.overdue"), charts.number(sums["overdue"]),
               list_link(overdue="true")),
        Figure("stalled", t("dash.fig.stalled"), charts.number(sums["stalled"]),
               list_link(stalled="true")),
        Figure("on_time_rate", t("dash.rate.on_time"),
               charts.percent(rate(sums["open"] - sums["overdue"], sums["open"]))),
        Figure("rectified_rate", t("dash.rate.rectified"),
               charts.percent(rate(sums["struck_off"], sums["closed"]))),
        Figure("unfounded_rate", t("dash.rate.unfounded"),
               charts.percent(rate(sums["unfounded"], sums["closed"]))),
    ]
    by = rollup.get("by") or {}
    count_column = [t("dash.count")]

    def simple(dimension: str, pairs: list[tuple[str, int]], label_of, color: str) -> Chart:
        rows = [Row.of(label_of(code), n, None if code == "none" else list_link(
            **{dimension: code})) for code, n in pairs]
        heading = t(f"dash.by.{dimension}")
        svg = charts.bar_chart(rows, chart_id=f"chart-{dimension}", title=heading,
                               desc=t("dash.desc.bars", what=heading, n=len(rows)),
                               color=color, empty_text=t("dash.empty"))
        return Chart(f"by-{dimension}", heading, t(f"dash.lead.{dimension}"), Markup(svg),
                     t(f"dash.col.{dimension}"), count_column,
                     [TableRow(r.label, r.href, [charts.number(r.values[0])]) for r in rows])

    states = [s.value for s in State]
    out.charts.append(simple("state", _ordered(by.get("state") or {}, states),
                             lambda c: none if c == "none" else labels.state_label(c, lang),
                             PALETTE["blue"]))
    outcome_label = lambda c: t(f"dash.outcome.{c}") if c in OUTCOMES else c  # noqa: E731
    out.charts.append(simple("outcome", _ordered(by.get("outcome") or {}, list(OUTCOMES)),
                             outcome_label, PALETTE["teal"]))
    for dimension, color, by_count in (("category", PALETTE["purple"], False),
                                       ("kind", PALETTE["amber"], False),
                                       ("channel", PALETTE["teal"], True)):
        codes = list(names[dimension])
        out.charts.append(simple(
            dimension, _ordered(by.get(dimension) or {}, codes, by_count=by_count),
            lambda c, d=dimension: none if c == "none" else names[d].get(c, c), color))

    ranked = sorted(units, key=lambda u: (-int(u.get("total") or 0), u.get("unit") or ""))
    shown = ranked if all_units else ranked[:TOP_UNITS]
    out.units_shown, out.units_total = len(shown), len(ranked)
    out.charts.append(_units_chart(shown, names, t))
    out.charts.append(_rates_chart(shown, names, t))
    return out


def _unit_name(unit: dict, names: dict, t) -> str:
    code = unit.get("unit")
    return names["unit"].get(code, code) if code else t("dash.no_unit")


def _unit_parts(unit: dict) -> list[int]:
    closed, struck, unfounded = (int(unit.get(k) or 0) for k in ("closed", "struck_off",
                                                                 "unfounded"))
    open_, overdue = int(unit.get("open") or 0), int(unit.get("overdue") or 0)
    return [struck, unfounded, closed - struck - unfounded, open_ - overdue, overdue]


def _units_chart(units: list[dict], names: dict, t) -> Chart:
    series = [Series(t(key), color) for key, color in UNIT_PARTS]
    rows = [Row.of(_unit_name(u, names, t), _unit_parts(u),
                   list_link(unit=u["unit"]) if u.get("unit") else None) for u in units]
    heading = t("dash.by.unit")
    svg = charts.stacked_bar_chart(rows, series, chart_id="chart-unit", title=heading,
                                   desc=t("dash.desc.units", n=len(rows)),
                                   empty_text=t("dash.empty"))
    return Chart("by-unit", heading, t("dash.lead.unit"), Markup(svg), t("dash.col.unit"),
                 [t("dash.count"), *(s.name for s in series)],
                 [TableRow(r.label, r.href, [charts.number(sum(r.values)),
                                             *(charts.number(v) for v in r.values)])
                  for r in rows])


def _unit_rate(unit: dict, name: str, whole: str) -> float | None:
    """The roll-up's rate, or none where there is nothing to divide by (the roll-up says
    0.0 for a unit with nothing closed; "rectified 0 %" would be a false statement)."""
    return unit.get(name) if int(unit.get(whole) or 0) else None


def _rates_chart(units: list[dict], names: dict, t) -> Chart:
    series = [Series(t(key), color) for _, _, key, color in RATES]
    worst_first = sorted(units, key=lambda u: (-(u.get("overdue_rate") or 0),
                                               -int(u.get("total") or 0), u.get("unit") or ""))
    rows = [Row.of(_unit_name(u, names, t), [_unit_rate(u, name, whole)
                                              for name, whole, _, _ in RATES],
                   list_link(unit=u["unit"]) if u.get("unit") else None) for u in worst_first]
    heading = t("dash.by.rates")
    svg = charts.rate_chart(rows, series, chart_id="chart-rates", title=heading,
                            desc=t("dash.desc.rates", n=len(rows)), empty_text=t("dash.empty"))
    return Chart("rates", heading, t("dash.lead.rates"), Markup(svg), t("dash.col.unit"),
                 [s.name for s in series],
                 [TableRow(r.label, r.href, [charts.percent(v) for v in r.values])
                  for r in rows], note=t("dash.note.rates"))


@router.get("/dashboard", dependencies=[allow(*VIEWERS)])
async def dashboard(request: Request, units: str | None = None):
    """统计看板: the roll-up within the caller's scope, as charts and tables."""
    principal = principal_in(request)
    rollup = await request.app.state.broker.call("ledger", "rollup", actor=actor(principal))
    checks = await request.app.state.broker.call("audit", "spot_check_results",
                                                 actor=actor(principal))
    lang = lang_of(request)
    shown = board(rollup, request.app.state.campaign, lang, all_units=units == "all")
    return render(request, "dashboard.html", principal=principal, board=shown,
                  all_units=units == "all", top_units=TOP_UNITS,
                  checks=spot_check_table(checks["items"], request.app.state.campaign, lang))


DECISION_ORDER = {"full_review": 0, "keep_sampling": 1, "cleared": 2}


def spot_check_table(items: list[dict], campaign, lang: str) -> list[dict]:
    """The closed rounds' results (抽查复查结果) per unit and stratum, latest period first and,
    within it, full reviews first: what the county office acts on."""
    from contracts.vocabulary import STRATUM_LABELS, UNIT_DECISION_LABELS, Stratum, UnitDecision
    which = 1 if lang == "en" else 0
    names = _names(campaign, lang)["unit"]
    rows = [{**i, "unit_name": names.get(i["unit"], i["unit"]),
             "stratum_name": STRATUM_LABELS[Stratum(i["stratum"])][which],
             "decision_name": UNIT_DECISION_LABELS[UnitDecision(i["decision"])][which],
             "bound": charts.percent(float(i["upper_bound"]))} for i in items]
    rows.sort(key=lambda r: (DECISION_ORDER.get(r["decision"], 3), r["unit"], r["stratum"]))
    rows.sort(key=lambda r: r.get("period") or "", reverse=True)   # stable: period first
    return rows
