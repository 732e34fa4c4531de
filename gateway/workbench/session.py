"""The workbench's session (登录会话) and CSRF protection, for ``/workbench`` paths only.

- The session is Starlette's signed cookie (itsdangerous): HttpOnly, SameSite=Lax, scoped to
  ``/workbench``, Secure outside development. It carries what a token carries (account,
  role, organization, the account's token version) and when it was issued; the guard
  (``guards``) refuses it once it is older than a token may be (``TOKEN_TTL_MINUTES``), idle
  for longer than ``WORKBENCH_IDLE_MINUTES``, or when the account's token version moved on
  (sign-out, deactivation), exactly as a token is refused.
- CSRF: ``asgi-csrf`` (double-submit cookie, signed): every POST under ``/workbench`` must
  carry the ``csrftoken`` form field (or ``x-csrftoken`` header) matching its cookie; the
  sign-in and language forms are protected even before any cookie exists.
- Requests to any other path (the API, the public clue route) pass after one ``startswith``.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from asgi_csrf import asgi_csrf
from starlette.middleware.sessions import SessionMiddleware

from gateway.auth.principal import Principal
from gateway.workbench import csrf_multipart
from gateway.auth.roles import Role

PREFIX = "/workbench"
SESSION_COOKIE = "wb_session"
CSRF_COOKIE = "wb_csrftoken"
CSRF_FIELD = "csrftoken"  # asgi-csrf's form field
ALWAYS_PROTECT = {f"{PREFIX}/sign-in", f"{PREFIX}/language"}
TOUCH_EVERY_SECONDS = 60
csrf_multipart.install()  # asgi-csrf 0.11's multipart check fails on python-multipart 0.0.34


def derived_key(secret: str, purpose: str) -> str:
    """A key of its own per use, so a session cookie can never pass for anything else."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


class WorkbenchMiddleware:
    """Sessions and CSRF checks around the app, applied to ``/workbench`` paths only."""

    def __init__(self, app, settings):
        self.app = app
        idle = settings.workbench_idle_minutes * 60
        secure = settings.environment != "development"
        sessions = SessionMiddleware(app, secret_key=derived_key(settings.secret_key, "session"),
                                     session_cookie=SESSION_COOKIE, max_age=idle, path=PREFIX,
                                     same_site="lax", https_only=secure)
        self.protected = asgi_csrf(
            sessions, cookie_name=CSRF_COOKIE,
            signing_secret=derived_key(settings.secret_key, "csrf"), cookie_path=PREFIX,
            cookie_secure=secure, cookie_samesite="Lax", always_protect=ALWAYS_PROTECT,
            send_csrf_failed=_csrf_failed, skip_if_scope=_no_session)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            return await self.protected(scope, receive, send)
        return await self.app(scope, receive, send)


CSRF_FAILED_HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>表单已失效 · Form expired</title><link rel="stylesheet" href="/static/workbench.css"></head>
<body><main class="wb-main" id="main"><h1>表单已失效，请返回重新提交</h1>
<p>为保护您的账号安全，本次提交缺少有效的表单校验码，未被受理。请返回上一页、刷新后重新填写提交。</p>
<p lang="en">This form could not be accepted: its security token is missing or out of date.
Go back, reload the page and submit again.</p>
<p><a href="/workbench">返回工作台 · Back to the workbench</a></p></main></body></html>"""


def _no_session(scope) -> bool:
    """A post without a session carries no one's authority (the page refuses it, 401), so
    only the forms that work before signing in are checked then (``ALWAYS_PROTECT``)."""
    if scope["path"] in ALWAYS_PROTECT:
        return False
    cookies = b"; ".join(v for k, v in scope["headers"] if k == b"cookie")
    return f"{SESSION_COOKIE}=".encode() not in cookies


async def _csrf_failed(scope, send, message_id):
    from gateway.web import PAGE_HEADERS

    body = CSRF_FAILED_HTML.encode("utf-8")
    headers = [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()
               if k != "Cache-Control"]
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


# --- what the session holds --------------------------------------------------------------------

def begin(session: dict, principal: Principal, display_name: str, *,
          now: float | None = None) -> None:
    """Start a signed-in session (登录): a fresh session, keeping only the language."""
    lang = session.get("lang")
    session.clear()
    now = time.time() if now is None else now
    session.update({"aid": principal.account_id, "usr": principal.username,
                    "role": principal.role.value, "org": principal.org_code,
                    "ver": principal.token_version, "name": display_name,
                    "iat": int(now), "seen": int(now)})
    if lang:
        session["lang"] = lang


def end(session: dict) -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def principal_of(session: dict, *, ttl_seconds: int, idle_seconds: int,
                 now: float | None = None) -> Principal | None:
    """The session's principal if it is well formed and neither too old nor idle too long;
    whether the account still holds it (token version) is the guard's next check."""
    now = time.time() if now is None else now
    try:
        issued, seen = int(session["iat"]), int(session["seen"])
        role = Role(session["role"])
        principal = Principal(account_id=str(session["aid"]), username=str(session["usr"]),
                              role=role, org_code=session.get("org"),
                              token_version=int(session["ver"]))
    except (KeyError, TypeError, ValueError):
        return None
    if role is Role.PUBLIC or now - issued >= ttl_seconds or now - seen >= idle_seconds:
        return None
    if now - seen >= TOUCH_EVERY_SECONDS:
        session["seen"] = int(now)  # the cookie is sent again: idle time counts from now
    return principal
