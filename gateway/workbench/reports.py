"""The workbench's report pages (周报告、零报告): a unit files its week or a zero report, signed
by the person filing; a supervising body sees its system's reports, the missing units and the
contradicted zero reports, and forwards its summary; the county office sees all.

The ledger decides scope and the rules (``services/ledger/domain/reports.py``); a refusal is
shown beside its field, in the reader's language, with nothing changed."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.routes.problems import actor
from gateway.routes.reports import ReportIn
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from kit.errors import refusal_from_reply
from kit.periods import county_today, iso_week, week_bounds, weeks_between

router = APIRouter(prefix=f"{PREFIX}/reports", include_in_schema=False, route_class=PageRoute)
FIGURES = ("found", "rectified", "cleaned_up", "held_accountable")
OVERVIEW = (Role.SUPERVISOR, Role.COUNTY_OFFICE, Role.SPOT_CHECK)


def ended_weeks(campaign, today: date) -> list[str]:
    """The campaign's weeks that have ended by ``today``, latest first."""
    info = campaign.campaign
    return [w for w in weeks_between(info.start, info.end) if week_bounds(w)[1] < today][::-1]


def names(campaign) -> dict[str, str]:
    return {o.code: o.name_zh for o in campaign.organizations}


@router.get("", dependencies=[allow(Role.UNIT_HANDLER, *OVERVIEW)])
async def reports_page(request: Request):
    """A unit's form and its reports; everyone else: the overview of a week."""
    principal = principal_in(request)
    if principal.role is Role.UNIT_HANDLER:
        return await unit_page(request, principal)
    return await overview(request, principal)


async def unit_page(request: Request, principal, *, status: int = 200, errors=None,
                    values: dict | None = None, measure_errors=None, measure: dict | None = None):
    campaign = request.app.state.campaign
    call = request.app.state.broker.call
    mine = await call("ledger", "list_reports", actor=actor(principal), unit=principal.org_code)
    measures = await call("ledger", "list_institutions", actor=actor(principal))
    weeks = ended_weeks(campaign, county_today())
    return render(request, "reports_unit.html", status=status, principal=principal,
                  weeks=weeks, mine=mine["items"], errors=errors or [],
                  values=values or {"period": weeks[0] if weeks else "", "kind": "weekly"},
                  measures=measures["items"], measure_errors=measure_errors or [],
                  measure=measure or {"status": "issued"},
                  filed=request.query_params.get("filed") == "1")


@router.post("", dependencies=[allow(Role.UNIT_HANDLER)])
async def file_from_page(request: Request):
    """The unit's filing; a refusal re-renders the form with the error at its field."""
    principal = principal_in(request)
    lang = lang_of(request)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in
              ("period", "kind", "text", "reason", *FIGURES)}
    try:
        figures = {k: int(values[k]) for k in FIGURES if values[k]}
    except ValueError:
        return await unit_page(request, principal, status=422, values=values, errors=[(
            "f-found", "", "请填写整数" if lang == "zh" else "Whole numbers only")])
    try:
        report = ReportIn(unit=principal.org_code or "", period=values["period"],
                          kind=values["kind"] or "weekly", figures=figures,
                          text=values["text"], reason=values["reason"] or None)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        return await unit_page(request, principal, status=422, values=values, errors=[(
            f"f-{field}", "", "请检查此项" if lang == "zh" else "Check this field")])
    try:
        await request.app.state.broker.call(
            "ledger", "file_report", actor=actor(principal), unit=report.unit,
            period=report.period, kind=report.kind, figures=report.figures.model_dump(),
            text=report.text, reason=report.reason)
    except RemoteCallError as exc:
        refusal = refusal_from_reply(exc.error)
        if refusal is None:
            raise
        field = (refusal.field or "period").split(".")[-1]
        anchor = f"f-{field}" if field in (*FIGURES, "period", "kind", "text", "reason") \
            else "f-period"
        message = refusal.message if lang == "en" else refusal.message_zh
        return await unit_page(request, principal, status=refusal.status, values=values,
                               errors=[(anchor, "", message)])
    return RedirectResponse(f"{PREFIX}/reports?filed=1", status_code=303)


@router.post("/institutions", dependencies=[allow(Role.UNIT_HANDLER)])
async def register_measure(request: Request):
    """建章立制: the unit records a measure it issued or plans."""
    principal = principal_in(request)
    lang = lang_of(request)
    form = await request.form()
    measure = {k: str(form.get(k) or "").strip() for k in ("title", "status", "on")}
    try:
        await request.app.state.broker.call(
            "ledger", "register_institution", actor=actor(principal), title=measure["title"],
            status=measure["status"], on=measure["on"] or None)
    except RemoteCallError as exc:
        refusal = refusal_from_reply(exc.error)
        if refusal is None:
            raise
        field = refusal.field if refusal.field in ("title", "status", "on") else "title"
        return await unit_page(request, principal, status=refusal.status, measure=measure,
                               measure_errors=[(f"m-{field}", "", refusal.message if lang == "en"
                                                else refusal.message_zh)])
    return RedirectResponse(f"{PREFIX}/reports?filed=1#institutions", status_code=303)


async def overview(request: Request, principal, *, forwarded: bool = False):
    campaign = request.app.state.campaign
    weeks = ended_weeks(campaign, county_today())
    chosen = request.query_params.get("period") or (
        weeks[0] if weeks else iso_week(county_today()))
    if chosen not in weeks:
        chosen = weeks[0] if weeks else chosen
    call = request.app.state.broker.call
    listing = await call("ledger", "list_reports", actor=actor(principal), period=chosen)
    summary = None
    if principal.role in (Role.SUPERVISOR, Role.COUNTY_OFFICE):
        summary = await call("ledger", "report_summary", actor=actor(principal), period=chosen)
    # the spot-check team's list: every contradicted zero report, of any week
    contradicted = await call("ledger", "list_reports", actor=actor(principal),
                              contradicted=True)
    measures = await call("ledger", "list_institutions", actor=actor(principal))
    return render(request, "reports_overview.html", principal=principal, weeks=weeks,
                  period=chosen, listing=listing["items"], summary=summary,
                  contradicted=contradicted["items"], measure_counts=measures["counts"],
                  unit_names=names(campaign), is_supervisor=principal.role is Role.SUPERVISOR,
                  is_county=principal.role is Role.COUNTY_OFFICE,
                  forwarded=forwarded or request.query_params.get("forwarded") == "1")


@router.post("/forward", dependencies=[allow(Role.SUPERVISOR)])
async def forward(request: Request):
    """A supervising body forwards its system's summary of a week to the county office."""
    principal = principal_in(request)
    form = await request.form()
    period = str(form.get("period") or "")
    if period not in ended_weeks(request.app.state.campaign, county_today()):
        return await overview(request, principal)
    await request.app.state.broker.call("ledger", "forward_report_summary",
                                        actor=actor(principal), period=period)
    return RedirectResponse(f"{PREFIX}/reports?period={period}&forwarded=1", status_code=303)


