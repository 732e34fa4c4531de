"""The workbench's accountability ladder pages (问责阶梯): the proposals waiting for the county
office (confirm, with a skip reason where a step is skipped, or dismiss with a reason), each
unit's ladder (steps, deadlines, proposals), the covert inspection finding form (暗访: the
county office and the spot-check team) and a unit's own notices and deadlines.

The audit service decides scope, rules and names (``services/audit/ladder.py``); a refusal
comes back on the page in the reader's language with nothing changed."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.files.intake import Refused, receive_form
from gateway.files.routes import remember
from gateway.routes.accountability import (
    FINDERS, OVERSEERS, ConfirmIn, FindingIn, PersonIn, confirm_proposal, record_finding,
)
from gateway.routes.problems import actor
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from kit.errors import refusal_from_reply

router = APIRouter(prefix=f"{PREFIX}/accountability", include_in_schema=False,
                   route_class=PageRoute)
PERSON_ROWS = 3


def unit_names(campaign, lang: str) -> dict[str, str]:
    return {o.code: (o.name_en if lang == "en" else o.name_zh) for o in campaign.organizations}


def units_of(campaign) -> list:
    return [o for o in campaign.organizations if o.type != "county_office"]


def _refusal(exc: RemoteCallError, lang: str):
    refusal = refusal_from_reply(exc.error)
    if refusal is None:
        raise exc
    return refusal.status, (refusal.message if lang == "en" else refusal.message_zh), \
        refusal.field


@router.get("", dependencies=[allow(*OVERSEERS)])
async def ladder_overview(request: Request):
    """Proposals waiting (the county office decides), and the units on the ladder."""
    return await ladder_page(request)


async def ladder_page(request: Request, *, status: int = 200, errors=None, done: str = ""):
    principal = principal_in(request)
    call = request.app.state.broker.call
    waiting = await call("audit", "ladder_proposals", actor=actor(principal), status="proposed")
    units = await call("audit", "ladder_overview", actor=actor(principal))
    campaign = request.app.state.campaign
    return render(request, "ladder.html", status=status, principal=principal,
                  waiting=waiting["items"], units=units["items"],
                  names=unit_names(campaign, lang_of(request)),
                  skip_reasons=campaign.accountability.skip_reasons,
                  decides=principal.role is Role.COUNTY_OFFICE, person_rows=PERSON_ROWS,
                  errors=errors or [], done=done or request.query_params.get("done", ""))


@router.post("/proposals/{proposal_id}/confirm", dependencies=[allow(Role.COUNTY_OFFICE)])
async def confirm_from_page(request: Request, proposal_id: str):
    principal = principal_in(request)
    lang = lang_of(request)
    form = await request.form()
    persons = []
    for i in range(PERSON_ROWS):
        post = str(form.get(f"post_{i}") or "").strip()
        name = str(form.get(f"name_{i}") or "").strip()
        if post or name:
            persons.append({"post": post, "name": name})
    anchor = f"c-{proposal_id[:32]}"
    try:
        body = ConfirmIn(skip_reason=str(form.get("skip_reason") or "") or None,
                         note=str(form.get("note") or "") or None,
                         persons=[PersonIn(**p) for p in persons])
    except ValidationError:
        return await ladder_page(request, status=422, errors=[(
            f"{anchor}-persons", "", "涉及人员须同时填写职务和姓名(各不超过 100 字)" if lang != "en"
            else "Each person needs a post and a name (100 characters at most)")])
    try:
        await confirm_proposal(request, principal, proposal_id, body)
    except RemoteCallError as exc:
        status, message, field = _refusal(exc, lang)
        target = f"{anchor}-skip" if field == "skip_reason" else anchor
        return await ladder_page(request, status=status, errors=[(target, "", message)])
    return RedirectResponse(f"{PREFIX}/accountability?done=confirmed", status_code=303)


@router.post("/proposals/{proposal_id}/dismiss", dependencies=[allow(Role.COUNTY_OFFICE)])
async def dismiss_from_page(request: Request, proposal_id: str):
    principal = principal_in(request)
    lang = lang_of(request)
    form = await request.form()
    try:
        await request.app.state.broker.call(
            "audit", "ladder_dismiss", actor=actor(principal), proposal_id=proposal_id,
            reason=str(form.get("reason") or ""))
    except RemoteCallError as exc:
        status, message, _ = _refusal(exc, lang)
        return await ladder_page(request, status=status,
                                 errors=[(f"d-{proposal_id[:32]}-reason", "", message)])
    return RedirectResponse(f"{PREFIX}/accountability?done=dismissed", status_code=303)


@router.get("/units/{unit}", dependencies=[allow(*OVERSEERS, Role.UNIT_HANDLER)])
async def unit_page(request: Request, unit: str):
    """One unit's ladder: its steps with deadlines (names by role) and its proposals."""
    principal = principal_in(request)
    ladder = await request.app.state.broker.call("audit", "ladder_unit", actor=actor(principal),
                                                 unit=unit[:64])
    names = unit_names(request.app.state.campaign, lang_of(request))
    return render(request, "ladder_unit.html", principal=principal, ladder=ladder,
                  unit_name=names.get(ladder["unit"], ladder["unit"]), own=False)


@router.get("/mine", dependencies=[allow(Role.UNIT_HANDLER)])
async def mine(request: Request):
    """A unit's own notices, interviews and accountability with their deadlines (confirmed
    steps only, no names)."""
    principal = principal_in(request)
    ladder = await request.app.state.broker.call("audit", "ladder_unit", actor=actor(principal),
                                                 unit=principal.org_code or "")
    names = unit_names(request.app.state.campaign, lang_of(request))
    return render(request, "ladder_unit.html", principal=principal, ladder=ladder,
                  unit_name=names.get(ladder["unit"], ladder["unit"]), own=True)


async def finding_page(request: Request, *, status: int = 200, errors=None,
                       values: dict | None = None):
    principal = principal_in(request)
    campaign = request.app.state.campaign
    lang = lang_of(request)
    return render(request, "ladder_finding.html", status=status, principal=principal,
                  units=[(o.code, o.name_en if lang == "en" else o.name_zh)
                         for o in units_of(campaign)],
                  errors=errors or [], values=values or {"kind": "perfunctory"},
                  done=request.query_params.get("done") == "1")


@router.get("/findings", dependencies=[allow(*FINDERS)])
async def finding_form(request: Request):
    return await finding_page(request)


FINDING_FIELDS = ("unit", "kind", "findings", "problem_ids")


@router.post("/findings", dependencies=[allow(*FINDERS)])
async def finding_from_page(request: Request):
    """The form with its evidence files (multipart): the files stored first, then the finding
    recorded; a refusal re-renders the form with the error at its field, nothing recorded."""
    principal = principal_in(request)
    lang = lang_of(request)
    files = request.app.state.files
    try:
        parts = await receive_form(request.headers, request.stream(), files.store, files.limits)
    except Refused as exc:
        return await finding_page(request, status=exc.status, errors=[(
            "f-evidence", "", exc.message if lang == "en" else exc.message_zh)])
    fields = dict(parts.fields)
    values = {k: str(fields.get(k) or "").strip() for k in FINDING_FIELDS}
    if parts.refused:
        _, filename, exc = parts.refused[0]
        return await finding_page(request, status=exc.status, values=values, errors=[(
            "f-evidence", filename, exc.message if lang == "en" else exc.message_zh)])
    await remember(request, principal, [record for _, record in parts.files])
    evidence = list(dict.fromkeys(record.sha256 for _, record in parts.files))
    try:
        body = FindingIn(unit=values["unit"], kind=values["kind"] or "perfunctory",
                         findings=values["findings"], evidence=evidence,
                         problem_ids=[p for p in values["problem_ids"].split() if p])
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        return await finding_page(request, status=422, values=values, errors=[(
            f"f-{field}" if field in FINDING_FIELDS else "f-findings", "",
            "请检查此项" if lang != "en" else "Check this field")])
    try:
        await record_finding(request, principal, body)
    except RemoteCallError as exc:
        status, message, field = _refusal(exc, lang)
        anchor = f"f-{field}" if field in (*FINDING_FIELDS, "evidence") else "f-findings"
        return await finding_page(request, status=status, values=values,
                                  errors=[(anchor, "", message)])
    return RedirectResponse(f"{PREFIX}/accountability/findings?done=1", status_code=303)
