"""Rendering the workbench's pages: Jinja2 templates, the shell around every page, the
language, and the errors of any workbench route as pages (``PageRoute``)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gateway import web
from gateway.auth.principal import Principal
from gateway.auth.roles import STAFF_ROLES, Role
from gateway.broker import RemoteCallError, RpcTimeout, ServiceUnavailable
from gateway.publisher import BrokerUnavailable
from gateway.workbench import forms, labels
from gateway.workbench.session import CSRF_FIELD, PREFIX
from gateway.workbench.texts import text
from kit.errors import refusal_from_reply

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_HEADERS = {**web.PAGE_HEADERS, "Cache-Control": "no-store"}
_STATIC = web.load_static()
READERS = (Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.UNIT_HANDLER, Role.SPOT_CHECK)

# (text key, path, roles): the shell's navigation, by role.
NAV: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("nav.home", PREFIX, STAFF_ROLES),
    ("nav.inbox", f"{PREFIX}/problems", frozenset({Role.UNIT_HANDLER})),
    ("nav.ledger", f"{PREFIX}/problems", frozenset(READERS) - {Role.UNIT_HANDLER}),
    ("nav.overdue", f"{PREFIX}/overdue", frozenset({Role.COUNTY_OFFICE, Role.SUPERVISOR})),
    ("nav.stalled", f"{PREFIX}/stalled", frozenset({Role.COUNTY_OFFICE, Role.SUPERVISOR})),
    ("nav.work_plans", f"{PREFIX}/work-plans", frozenset({Role.COUNTY_OFFICE, Role.SUPERVISOR})),
    ("nav.reports", f"{PREFIX}/reports", frozenset(READERS)),
    ("nav.dashboard", f"{PREFIX}/dashboard",
     frozenset((Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.SPOT_CHECK))),
    ("nav.accounts", f"{PREFIX}/accounts", frozenset({Role.COUNTY_OFFICE})),
    ("nav.heads", f"{PREFIX}/principal-heads", frozenset({Role.COUNTY_OFFICE})),
    ("nav.activity", f"{PREFIX}/activity", frozenset({Role.COUNTY_OFFICE})),
    ("nav.partners", f"{PREFIX}/partners", frozenset({Role.COUNTY_OFFICE})),
    ("nav.notices", f"{PREFIX}/inbox", STAFF_ROLES),
    ("nav.deliveries", f"{PREFIX}/ops/deliveries", frozenset({Role.OPS})),
    ("nav.bulletins", f"{PREFIX}/bulletins",
     frozenset((Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.SPOT_CHECK))),
    ("nav.my_work_plan", f"{PREFIX}/work-plan", frozenset({Role.UNIT_HANDLER})),
    # spot checks (抽查): rounds, the re-checker's queue, results per unit
    ("nav.rounds", f"{PREFIX}/rounds", frozenset({Role.SPOT_CHECK, Role.COUNTY_OFFICE})),
    ("nav.rechecks", f"{PREFIX}/rechecks", frozenset({Role.SPOT_CHECK})),
    ("nav.spot_check_results", f"{PREFIX}/spot-check-results", frozenset(READERS)),
    ("nav.ladder", f"{PREFIX}/accountability", frozenset(
        (Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.SPOT_CHECK, Role.CUSTODIAN))),
    ("nav.ladder_finding", f"{PREFIX}/accountability/findings",
     frozenset((Role.COUNTY_OFFICE, Role.SPOT_CHECK))),
    ("nav.ladder_mine", f"{PREFIX}/accountability/mine", frozenset({Role.UNIT_HANDLER})),
)


def static_url(name: str) -> str:
    """``/static/NAME?v=<hash>``; a template naming a file that does not exist fails."""
    return f"/static/{name}?v={_STATIC[name].etag.strip(chr(34))[:10]}"


templates = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)
templates.globals.update(static=static_url, dom_id=forms.dom_id, state_label=labels.state_label,
                         action_label=labels.action_label, LIGHTS=labels.LIGHTS,
                         readable=labels.readable, role_label=labels.role_label)


def lang_of(request: Request) -> str:
    """The reader's language: chosen on the page (kept in the session), else the browser's
    first of Chinese or English, else Chinese (as the public pages choose)."""
    chosen = (request.scope.get("session") or {}).get("lang")
    if chosen in ("zh", "en"):
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"


def local_path(value: str | None, default: str = PREFIX) -> str:
    """A path of the workbench to go back to; anything else (another site) becomes ``default``."""
    if not value or not isinstance(value, str):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX) or "\\" in value:
        return default
    return value


def shell(request: Request, principal: Principal | None) -> dict:
    """What the shell shows: the person, their unit and role, and the navigation they may use."""
    lang = lang_of(request)
    if principal is None or principal.is_anonymous:
        return {"person": None, "nav": []}
    session = request.scope.get("session") or {}
    org = request.app.state.campaign.organization(principal.org_code or "")
    unit = (org.name_zh if lang == "zh" else org.name_en) if org else (principal.org_code or "")
    badges = (request.scope.get("state") or {}).get("nav_badges") or {}  # notices.InboxBadge
    nav = [{"label": text(key, lang), "href": path, "badge": badges.get(path),
            "current": request.url.path == path or (path != PREFIX
                                                    and request.url.path.startswith(path))}
           for key, path, roles in NAV if principal.role in roles]
    return {"person": {"name": session.get("name") or principal.username,
                       "username": principal.username, "unit": unit,
                       "role": labels.role_label(principal.role, lang)}, "nav": nav}


def render(request: Request, template: str, *, status: int = 200,
           principal: Principal | None = None, headers: dict | None = None,
           **context) -> HTMLResponse:
    lang = lang_of(request)
    csrf = request.scope.get("csrftoken")
    html = templates.get_template(template).render(
        lang=lang, html_lang="en" if lang == "en" else "zh-CN",
        t=lambda key, **values: text(key, lang, **values),
        pick=lambda pair: (pair[1] if lang == "en" else pair[0]) if pair else "",
        csrf_field=CSRF_FIELD, csrf_token=csrf() if csrf else "",
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **shell(request, principal), **context)
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def principal_in(request: Request) -> Principal | None:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


def error_page(request: Request, status: int, message: str, *,
               headers: dict | None = None) -> HTMLResponse:
    return render(request, "error.html", status=status, principal=principal_in(request),
                  headers=headers, message=message)


def refusal_message(detail, lang: str, fallback: str) -> str:
    if isinstance(detail, dict):
        return (detail.get("message") if lang == "en" else detail.get("message_zh")) or fallback
    return fallback


class PageRoute(APIRoute):
    """A workbench route: whatever goes wrong is answered with a page, not JSON. Anyone not
    signed in gets the sign-in form (401), a role the route does not name a 403 page."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page(request: Request):
            lang = lang_of(request)
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 401:
                    from gateway.workbench.routes import sign_in_form

                    ended = isinstance(exc.detail, dict) and exc.detail.get("code") in (
                        "token_revoked", "token_expired", "invalid_token")
                    return sign_in_form(request, status=401, headers=exc.headers,
                                        notice=text("sign_in.ended", lang) if ended else None,
                                        next_path=request.url.path
                                        if request.method == "GET" else None)
                fallback = text("error.forbidden" if exc.status_code == 403
                                else "error.not_found", lang)
                return error_page(request, exc.status_code,
                                  refusal_message(exc.detail, lang, fallback),
                                  headers=exc.headers)
            except RequestValidationError:
                return error_page(request, 404, text("error.not_found", lang))
            except RemoteCallError as exc:
                refusal = refusal_from_reply(exc.error)
                if refusal is None:
                    raise
                return error_page(request, refusal.status,
                                  refusal.message if lang == "en" else refusal.message_zh)
            except (ServiceUnavailable, RpcTimeout, BrokerUnavailable):
                return error_page(request, 503, text("error.unavailable", lang),
                                  headers={"Retry-After": "5"})
        return page
