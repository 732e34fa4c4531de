"""The workbench's spot-check pages (抽查): the rounds and the form to open one, a round's
page (manifest digest and chain entry, the seed, the sample by unit with progress,
assignment, the published files, closing), a re-checker's queue and form, and the results
per unit. The audit service decides (``services/audit/rounds.py``); a refusal comes back
beside its field, in the reader's language, with nothing changed.

Rounds and samples are for the spot-check team and the county office; a unit's handler and a
supervising body see, on the results page, only their items whose re-check reached them and
closed rounds' figures."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from contracts.vocabulary import (
    RECHECK_VERDICT_LABELS, STRATUM_LABELS, UNIT_DECISION_LABELS, RecheckVerdict, Stratum,
    UnitDecision,
)
from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.files.intake import Refused, receive_form
from gateway.files.routes import remember
from gateway.routes.problems import actor
from gateway.routes.spot_checks import FILES
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from gateway.workbench.attachments import ACCEPT
from kit.errors import refusal_from_reply
from kit.periods import COUNTY_TZ

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
TEAM = (Role.SPOT_CHECK, Role.COUNTY_OFFICE)
UNITS = (Role.UNIT_HANDLER, Role.SUPERVISOR)
KIND_LABELS = {"spot_check": ("查否复查与零报告抽查", "Unfounded closures and zero reports"),
               "look_back": ("回头看(已销号问题)", "Look-back over struck-off problems"),
               "full_review": ("全面复查", "Full review of one unit")}
STATUS_LABELS = {"frozen": ("样本框已冻结,待上链", "Manifest frozen, not yet on the chain"),
                 "published": ("样本框已上链,待录入种子", "Manifest on the chain; awaiting the seed"),
                 "drawn": ("已抽样,复查中", "Sample drawn; re-checks under way"),
                 "closed": ("已结束", "Closed")}
LABELS = {"kind": KIND_LABELS, "status": STATUS_LABELS,
          "stratum": {s.value: STRATUM_LABELS[s] for s in Stratum},
          "verdict": {v.value: RECHECK_VERDICT_LABELS[v] for v in RecheckVerdict},
          "decision": {d.value: UNIT_DECISION_LABELS[d] for d in UnitDecision}}


def this_month() -> str:
    return datetime.now(COUNTY_TZ).strftime("%Y-%m")


def names(request: Request) -> dict[str, str]:
    lang = lang_of(request)
    return {o.code: (o.name_en if lang == "en" else o.name_zh)
            for o in request.app.state.campaign.organizations}


def _refusal(request: Request, exc: RemoteCallError):
    refusal = refusal_from_reply(exc.error)
    if refusal is None:
        raise exc
    return refusal, (refusal.message if lang_of(request) == "en" else refusal.message_zh)


def _common(request: Request) -> dict:
    return {"labels": LABELS, "unit_names": names(request)}


def _month(value: str | None) -> str:
    value = (value or "").strip()
    return value if len(value) == 7 and value[4] == "-" else this_month()


# --- rounds ---------------------------------------------------------------------------------

@router.get("/rounds", dependencies=[allow(*TEAM)])
async def rounds_page(request: Request, *, status: int = 200, errors=None,
                      values: dict | None = None):
    """The rounds, what the chosen month could draw, and the form to open a round."""
    principal = principal_in(request)
    period = _month(request.query_params.get("period") or (values or {}).get("period"))
    call = request.app.state.broker.call
    listing = await call("audit", "list_rounds", actor=actor(principal))
    counts = await call("audit", "population", actor=actor(principal), period=period)
    campaign = request.app.state.campaign
    units = [o for o in campaign.organizations if o.type not in ("county_office", "publicity")]
    return render(request, "spot_checks.html", status=status, principal=principal,
                  rounds=listing["items"], recheckers=listing["recheckers"], period=period,
                  population=counts["groups"], errors=errors or [], units=units,
                  values=values or {"kind": "spot_check", "period": period},
                  **_common(request))


@router.post("/rounds", dependencies=[allow(*TEAM)])
async def open_from_page(request: Request):
    principal = principal_in(request)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("kind", "period", "unit", "stratum")}
    try:
        opened = await request.app.state.broker.call(
            "audit", "open_round", actor=actor(principal), kind=values["kind"],
            period=values["period"], unit=values["unit"] or None,
            stratum=values["stratum"] or None)
    except RemoteCallError as exc:
        refusal, message = _refusal(request, exc)
        field = refusal.field if refusal.field in ("kind", "period", "unit", "stratum") \
            else "period"
        return await rounds_page(request, status=refusal.status, values=values,
                                 errors=[(f"f-{field}", "", message)])
    return RedirectResponse(f"{PREFIX}/rounds/{opened['round_id']}", status_code=303)


@router.get("/rounds/{round_id}", dependencies=[allow(*TEAM)])
async def round_page(request: Request, round_id: str, *, status: int = 200, errors=None,
                     notice: str | None = None):
    principal = principal_in(request)
    call = request.app.state.broker.call
    found = await call("audit", "get_round", actor=actor(principal), round_id=round_id[:64])
    listing = await call("audit", "list_rounds", actor=actor(principal), period=found["period"])
    by_unit: dict[str, dict] = {}
    for item in found.get("items", []):
        group = by_unit.setdefault(item["unit"], {"items": [], "checked": 0})
        group["items"].append(item)
        group["checked"] += item["verdict"] is not None
    files = [f for f in FILES if (f in ("manifest.tsv", "params.json"))
             or (f == "seed.txt" and found["seed"])
             or (found["status"] == "closed")]
    return render(request, "spot_check_round.html", status=status, principal=principal,
                  round=found, by_unit=by_unit, files=files, errors=errors or [],
                  recheckers=listing["recheckers"], notice=notice or
                  request.query_params.get("done"),
                  is_county=principal.role is Role.COUNTY_OFFICE,
                  seed_digits=request.app.state.campaign.spot_checks.seed_min_digits,
                  **_common(request))


async def _round_step(request: Request, round_id: str, method: str, anchor: str, done: str,
                      **kwargs):
    principal = principal_in(request)
    try:
        await request.app.state.broker.call("audit", method, actor=actor(principal),
                                            round_id=round_id[:64], **kwargs)
    except RemoteCallError as exc:
        refusal, message = _refusal(request, exc)
        return await round_page(request, round_id, status=refusal.status,
                                errors=[(anchor, "", message)])
    return RedirectResponse(f"{PREFIX}/rounds/{round_id}?done={done}", status_code=303)


@router.post("/rounds/{round_id}/seed", dependencies=[allow(*TEAM)])
async def seed_from_page(request: Request, round_id: str):
    form = await request.form()
    return await _round_step(request, round_id, "enter_seed", "f-seed", "seed",
                             seed=str(form.get("seed") or "").strip())


@router.post("/rounds/{round_id}/publish", dependencies=[allow(*TEAM)])
async def publish_from_page(request: Request, round_id: str):
    return await _round_step(request, round_id, "publish_round", "publish", "published")


@router.post("/rounds/{round_id}/assign", dependencies=[allow(*TEAM)])
async def assign_from_page(request: Request, round_id: str):
    form = await request.form()
    items = [str(v) for v in form.getlist("item_id") if str(v).strip()]
    rechecker = str(form.get("rechecker") or "").strip() or None
    return await _round_step(request, round_id, "assign", "f-rechecker", "assigned",
                             item_ids=items or None, rechecker=rechecker)


@router.post("/rounds/{round_id}/close", dependencies=[allow(*TEAM)])
async def close_from_page(request: Request, round_id: str):
    form = await request.form()
    return await _round_step(request, round_id, "close_round", "f-reason", "closed",
                             reason=str(form.get("reason") or "").strip() or None)


@router.get("/rounds/{round_id}/files/{name}", dependencies=[allow(*TEAM)])
async def round_file(request: Request, round_id: str, name: str):
    """The round's published files, with the workbench's session."""
    if name not in FILES:
        raise HTTPException(404)
    principal = principal_in(request)
    found = await request.app.state.broker.call(
        "audit", "round_file", actor=actor(principal), round_id=round_id[:64], name=name)
    return Response(found["text"].encode("utf-8"),
                    media_type=f"{found['content_type']}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


# --- the re-checker's queue and form --------------------------------------------------------

@router.get("/rechecks", dependencies=[allow(Role.SPOT_CHECK)])
async def queue_page(request: Request):
    principal = principal_in(request)
    queue = await request.app.state.broker.call("audit", "my_rechecks", actor=actor(principal))
    items = queue["items"]
    return render(request, "spot_check_queue.html", principal=principal,
                  open_items=[i for i in items if i["verdict"] is None
                              and i["round_status"] != "closed"],
                  done_items=[i for i in items if i["verdict"] is not None],
                  recorded=request.query_params.get("recorded") == "1", **_common(request))


@router.get("/rechecks/{round_id}/{item_id}", dependencies=[allow(Role.SPOT_CHECK)])
async def recheck_page(request: Request, round_id: str, item_id: str, *, status: int = 200,
                       errors=None, values: dict | None = None):
    principal = principal_in(request)
    item = await request.app.state.broker.call(
        "audit", "recheck_item", actor=actor(principal), round_id=round_id[:64],
        item_id=item_id[:64])
    return render(request, "spot_check_recheck.html", status=status, principal=principal,
                  item=item, errors=errors or [], values=values or {}, accept=ACCEPT,
                  mine=item["assigned_to"] == principal.username,
                  requested=request.query_params.get("requested") == "1", **_common(request))


@router.post("/rechecks/{round_id}/{item_id}/material", dependencies=[allow(Role.SPOT_CHECK)])
async def material_from_page(request: Request, round_id: str, item_id: str):
    principal = principal_in(request)
    try:
        await request.app.state.broker.call("audit", "request_material", actor=actor(principal),
                                            round_id=round_id[:64], item_id=item_id[:64])
    except RemoteCallError as exc:
        refusal, message = _refusal(request, exc)
        return await recheck_page(request, round_id, item_id, status=refusal.status,
                                  errors=[("f-verdict", "", message)])
    return RedirectResponse(f"{PREFIX}/rechecks/{round_id}/{item_id}?requested=1",
                            status_code=303)


@router.post("/rechecks/{round_id}/{item_id}", dependencies=[allow(Role.SPOT_CHECK)])
async def recheck_from_page(request: Request, round_id: str, item_id: str):
    """The verdict, findings and evidence files (multipart: each file stored through the
    upload pipeline, named by its digest)."""
    principal = principal_in(request)
    lang = lang_of(request)
    evidence: list[str] = []
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        files = request.app.state.files
        try:
            parts = await receive_form(request.headers, request.stream(), files.store,
                                       files.limits, takes_files=True)
        except Refused as exc:
            return await recheck_page(request, round_id, item_id, status=exc.status,
                                      errors=[("f-evidence", "", exc.message if lang == "en"
                                               else exc.message_zh)])
        await remember(request, principal, [record for _, record in parts.files])
        fields = dict(parts.fields)
        evidence = [record.sha256 for _, record in parts.files]
        if parts.refused:
            _, filename, exc = parts.refused[0]
            values = {k: str(fields.get(k) or "") for k in ("verdict", "findings")}
            return await recheck_page(request, round_id, item_id, status=exc.status,
                                      values=values, errors=[(
                                          "f-evidence", filename or "",
                                          exc.message if lang == "en" else exc.message_zh)])
    else:
        fields = dict(await request.form())
    values = {k: str(fields.get(k) or "").strip() for k in ("verdict", "findings")}
    try:
        await request.app.state.broker.call(
            "audit", "record_recheck", actor=actor(principal), round_id=round_id[:64],
            item_id=item_id[:64], verdict=values["verdict"], findings=values["findings"],
            evidence=evidence)
    except RemoteCallError as exc:
        refusal, message = _refusal(request, exc)
        field = refusal.field if refusal.field in ("verdict", "findings", "evidence") \
            else "verdict"
        return await recheck_page(request, round_id, item_id, status=refusal.status,
                                  values=values, errors=[(f"f-{field}", "", message)])
    return RedirectResponse(f"{PREFIX}/rechecks?recorded=1", status_code=303)


# --- results --------------------------------------------------------------------------------

@router.get("/spot-check-results", dependencies=[allow(*TEAM, *UNITS)])
async def results_page(request: Request):
    """Per unit and stratum, closed rounds' figures for a month; a unit (or supervising body)
    sees its own, and the items of its own whose re-check reached it."""
    principal = principal_in(request)
    period = _month(request.query_params.get("period"))
    call = request.app.state.broker.call
    found = await call("audit", "spot_check_results", actor=actor(principal), period=period)
    mine = None
    if principal.role in UNITS:
        mine = (await call("audit", "unit_rechecks", actor=actor(principal)))["items"]
    return render(request, "spot_check_results.html", principal=principal, period=period,
                  results=found["items"], mine=mine, **_common(request))
