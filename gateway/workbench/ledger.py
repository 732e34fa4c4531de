"""The ledger's pages (台账): the list for every reader with the API's filters, sortable,
paginated and counted, with its exports; the overdue (逾期) and stalled (停滞) lists for the
county office and the supervising bodies.

One ledger call per page (``list_problems``); the ledger decides scope (a unit's handler: its
own unit, a supervising body: its system, the county office: all), as it does for the API.
The filters are read by ``ledger_query`` (pure); its choices come from the campaign.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request

from contracts.listing import ProblemSort
from contracts.vocabulary import Outcome, State
from gateway.auth.roles import Role
from gateway.excel.routes import export_problems
from gateway.routes.problems import actor
from gateway.workbench import ledger_query
from gateway.workbench.guards import allow
from gateway.workbench.labels import state_label
from gateway.workbench.ledger_query import LedgerQuery, Unit
from gateway.workbench.pages import PREFIX, READERS, PageRoute, lang_of, principal_in, render
from gateway.workbench.routes import _names
from gateway.workbench.texts import text

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
SUPERVISING = (Role.COUNTY_OFFICE, Role.SUPERVISOR)
PAGE_SIZE = 20
# The sortable columns: (column, its order, the order a second click gives)
SORTABLE = {"registered": (ProblemSort.NEWEST, ProblemSort.OLDEST),
            "due": (ProblemSort.DUE, None), "progress": (ProblemSort.PROGRESS, None)}


@dataclass(frozen=True)
class View:
    """One of the ledger's lists: the whole ledger, or a list with a filter always on."""

    path: str
    title: str                       # text key
    preset: tuple[str, ...] = ()     # flags always on (overdue, stalled)
    default_sort: ProblemSort = ProblemSort.NEWEST


LEDGER = View(f"{PREFIX}/problems", "ledger.title")
OVERDUE = View(f"{PREFIX}/overdue", "ledger.overdue_title", ("overdue",), ProblemSort.DUE)
STALLED = View(f"{PREFIX}/stalled", "ledger.stalled_title", ("stalled",), ProblemSort.PROGRESS)


@router.get("/problems", dependencies=[allow(*READERS)])
async def ledger_list(request: Request):
    """问题台账 (a unit: 待办问题): the problems the caller may see, filtered, sorted, paged."""
    return await _page(request, LEDGER)


@router.get("/overdue", dependencies=[allow(*SUPERVISING)])
async def overdue_list(request: Request):
    """逾期问题: open problems past the running clock's deadline, longest overdue first."""
    return await _page(request, OVERDUE)


@router.get("/stalled", dependencies=[allow(*SUPERVISING)])
async def stalled_list(request: Request):
    """停滞问题: no progress from the unit for longer than the campaign allows."""
    return await _page(request, STALLED)


@router.get("/problems.{fmt}", dependencies=[allow(*READERS)])
async def ledger_export(fmt: Annotated[Literal["xlsx", "csv"], Path()], request: Request):
    """台账导出: the API's export (``gateway.excel``) with the page's filters and scope."""
    principal = principal_in(request)
    query = _query(request)
    return await export_problems(fmt, request, principal, query.filters)


def units_for(campaign, role: Role, org_code: str | None) -> list[Unit]:
    """The units a reader may pick by name: a supervising body's own system, else all."""
    if role is Role.SUPERVISOR:
        orgs = campaign.units_supervised_by(org_code or "")
    else:
        orgs = campaign.organizations
    return [Unit(o.code, o.name_zh, o.name_en) for o in orgs]


def _query(request: Request) -> LedgerQuery:
    """The page's query. A unit is resolved among all of the campaign's (not only those the
    page offers): one outside the caller's scope is the ledger's to refuse, by listing
    nothing, as the API does."""
    campaign = request.app.state.campaign
    units = [Unit(o.code, o.name_zh, o.name_en) for o in campaign.organizations]
    return ledger_query.parse(request.query_params.multi_items(),
                              choices=ledger_query.ledger_choices(campaign), units=units)


async def _page(request: Request, view: View):
    principal = principal_in(request)
    query = _query(request)
    for flag in view.preset:
        query.filters[flag] = True
    listing = await request.app.state.broker.call(
        "ledger", "list_problems", actor=actor(principal),
        filters=query.ledger_filters(view.default_sort), limit=PAGE_SIZE,
        offset=(query.page - 1) * PAGE_SIZE)
    for item in listing["items"]:
        item.update(ledger_query.lateness(item, listing["as_of"]))
    sort = query.sort or view.default_sort
    pages = max(1, -(-listing["total"] // PAGE_SIZE))
    lang = lang_of(request)
    own = principal.role is Role.UNIT_HANDLER and view is LEDGER
    title = text("inbox.title" if own else view.title, lang)
    lead = text("inbox.lead_unit" if own else view.title.replace("title", "lead"), lang)
    names = _names(request)
    unit = query.filters.get("unit")
    return render(request, "ledger.html", principal=principal, view=view, query=query,
                  title=title, lead=lead,
                  unit_shown=names["unit"].get(unit, unit) if unit else query.unit_text,
                  listing=listing, sort=sort.value, pages=pages,
                  sort_links=_sort_links(view, query, sort),
                  is_unit=principal.role is Role.UNIT_HANDLER,
                  supervising=principal.role in SUPERVISING,
                  show_overdue=bool(query.filters.get("overdue")),
                  show_stalled=bool(query.filters.get("stalled")),
                  exports={fmt: query.link(f"{PREFIX}/problems.{fmt}", sort=None, page=None)
                           for fmt in ("xlsx", "csv")},
                  choices=_choices(request, stalled=bool(query.filters.get("stalled"))
                                   or query.sort is ProblemSort.PROGRESS),
                  units=units_for(request.app.state.campaign, principal.role,
                                  principal.org_code),
                  names=names)


def _sort_links(view: View, query: LedgerQuery, sort: ProblemSort) -> dict:
    """Per sortable column: its link (a second click reverses where that makes sense) and
    its ``aria-sort`` when it is the one in force."""
    links = {}
    for column, (first, second) in SORTABLE.items():
        active = sort in (first, second)
        chosen = second if (active and sort is first and second) else first
        links[column] = {
            "href": query.link(view.path, sort=None if chosen is view.default_sort
                               else chosen.value, page=None),
            "aria": ("descending" if sort is ProblemSort.NEWEST else "ascending")
            if active else None}
    return links


def _choices(request: Request, *, stalled: bool) -> dict[str, list[tuple[str, str]]]:
    """(code, name) of every choice filter, in the reader's language. The order by last
    progress is offered in the stalled list, where an index serves it."""
    campaign = request.app.state.campaign
    lang = lang_of(request)

    def name(item):
        return item.name_en if lang == "en" else item.name_zh
    return {"state": [(s.value, state_label(s.value, lang)) for s in State],
            "category": [(c.code, name(c)) for c in campaign.categories],
            "kind": [(k.code, name(k)) for k in campaign.kinds],
            "channel": [(c.code, name(c)) for c in campaign.channels],
            "outcome": [(o.value, text(f"ledger.outcome.{o.value}", lang)) for o in Outcome],
            "sort": [(s.value, text(f"ledger.sort.{s.value}", lang)) for s in ProblemSort
                     if stalled or s is not ProblemSort.PROGRESS]}

