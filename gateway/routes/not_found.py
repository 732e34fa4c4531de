"""Unknown paths and methods (404, 405): a Chinese-first page for a browser, the bilingual
problem body for a program.

A browser (``Accept: text/html``) asking for a path outside ``/api/`` gets a page in Chinese
with English beneath, under the pages' strict CSP; an API path, or a client that does not ask
for HTML, gets ``{"detail": {"code", "message", "message_zh"}}`` like every other error. Only
the router's own refusals are answered here: a route's ``problem(404, …)`` keeps its body.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import web
from gateway.routes.pages import _PAGES

WORDS = {
    404: ("not_found", "No such page or endpoint.", "您访问的地址不存在。", "not_found"),
    405: ("method_not_allowed", "This path does not take this method.",
          "该地址不支持此请求方法。", "not_allowed"),
}


def wants_page(request: Request) -> bool:
    """A browser navigating outside the API."""
    return (not request.url.path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


def install_not_found(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _unknown(request: Request, exc: StarletteHTTPException):
        words = WORDS.get(exc.status_code)
        if words is None or isinstance(exc.detail, dict):  # a route's own refusal
            return await http_exception_handler(request, exc)
        code, message, message_zh, page = words
        headers = dict(exc.headers or {})
        if wants_page(request):
            return Response(_PAGES[page].body, status_code=exc.status_code,
                            media_type="text/html; charset=utf-8",
                            headers={**web.PAGE_HEADERS, **headers})
        return JSONResponse(status_code=exc.status_code, headers=headers, content={
            "detail": {"code": code, "message": message, "message_zh": message_zh}})
