"""The workbench's bulletin pages (月通报): the county office drafts a month's bulletin,
reviews it on the page (the same template the PDF is printed from), and publishes it with
CSRF; supervising bodies and the spot-check team read and download what is published.
The rules and the record: ``gateway/bulletins.py``."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from gateway import bulletins
from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.routes.bulletins import pdf_response
from gateway.workbench import bulletin_doc
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from kit.errors import refusal_from_reply
from kit import bulletin as rules

router = APIRouter(prefix=f"{PREFIX}/bulletins", include_in_schema=False, route_class=PageRoute)
READERS = (Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.SPOT_CHECK)


def _choices(source) -> dict:
    month = str(source.get("month") or "").strip()
    cases = [c.strip() for c in str(source.get("cases") or "").split() if c.strip()]
    try:
        least = int(str(source.get("min_problems") or rules.MIN_PROBLEMS))
    except ValueError:
        least = 0     # refused by the rules, at its field
    reviewed = str(source.get("reviewed") or "").strip() or None
    return {"month": month, "cases": cases, "min_problems": least, "reviewed": reviewed}


async def _index(request: Request, *, status: int = 200, error: str | None = None,
                 values: dict | None = None, doc=None):
    principal = principal_in(request)
    listed = await bulletins.listing(request, principal)
    return render(request, "bulletins.html", status=status, principal=principal,
                  items=listed["items"], error=error,
                  values=values or {"month": "", "cases": [], "min_problems": rules.MIN_PROBLEMS},
                  is_county=principal.role is Role.COUNTY_OFFICE,
                  body=Markup(bulletin_doc.html(doc)) if doc else None,
                  published_ok=request.query_params.get("published") == "1")


def _message(request, exc) -> tuple[int, str]:
    lang = lang_of(request)
    if isinstance(exc, rules.BulletinRefused):
        status = {"conflict": 409, "not_found": 404, "forbidden": 403}.get(exc.status, 422)
        return status, (str(exc) if lang == "en" else exc.message_zh)
    refusal = refusal_from_reply(exc.error)
    if refusal is None:
        raise exc
    return refusal.status, refusal.message if lang == "en" else refusal.message_zh


@router.get("", dependencies=[allow(*READERS)])
async def index(request: Request):
    """The published bulletins; for the county office also the draft form and, with
    ``?month=``, the draft itself for review."""
    principal = principal_in(request)
    if principal.role is not Role.COUNTY_OFFICE or "month" not in request.query_params:
        return await _index(request)
    values = _choices(request.query_params)
    try:
        doc = await bulletins.draft(request, principal, values["month"],
                                    min_problems=values["min_problems"], cases=values["cases"])
    except (rules.BulletinRefused, RemoteCallError) as exc:
        status, message = _message(request, exc)
        return await _index(request, status=status, error=message, values=values)
    return await _index(request, values={**values, "reviewed": doc.bulletin.digest()}, doc=doc)


@router.post("", dependencies=[allow(Role.COUNTY_OFFICE)])
async def publish(request: Request):
    """Publish the month reviewed; a refusal (published already, bad month) is shown on the
    page and nothing changes."""
    principal = principal_in(request)
    values = _choices(await request.form())
    try:
        await bulletins.publish(request, principal, values["month"],
                                min_problems=values["min_problems"], cases=values["cases"],
                                reviewed=values["reviewed"] or "")
    except (rules.BulletinRefused, RemoteCallError) as exc:
        status, message = _message(request, exc)
        return await _index(request, status=status, error=message, values=values)
    return RedirectResponse(f"{PREFIX}/bulletins/{values['month']}?published=1", status_code=303)


@router.get("/{month}", dependencies=[allow(*READERS)])
async def view(request: Request, month: str):
    """A published bulletin, as it was printed."""
    principal = principal_in(request)
    try:
        entry = await bulletins.published(request, principal, month)
    except (rules.BulletinRefused, RemoteCallError) as exc:
        status, message = _message(request, exc)
        return await _index(request, status=status, error=message)
    doc = bulletins.as_document(entry, (await bulletins.listing(request, principal))["items"])
    return render(request, "bulletin_view.html", principal=principal, entry=entry,
                  body=Markup(bulletin_doc.html(doc)),
                  published_ok=request.query_params.get("published") == "1")


@router.get("/{month}/pdf", dependencies=[allow(*READERS)])
async def pdf(request: Request, month: str):
    principal = principal_in(request)
    try:
        entry = await bulletins.published(request, principal, month)
    except (rules.BulletinRefused, RemoteCallError) as exc:
        status, message = _message(request, exc)
        return await _index(request, status=status, error=message)
    return await pdf_response(request, entry)
