"""The public web pages: the report form (公开举报平台) and the follow-up page (进度查询).

The pages are static; their scripts talk to ``/api/v1/campaign``, ``/api/v1/clues`` and
``/api/v1/receipts/lookup`` and ``/dispute`` (the receipt code in the body, never in a URL).
Only the files of ``gateway/web/static`` are served, by name.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway import web
from gateway.auth.guards import allow
from gateway.auth.roles import Role
from gateway.errors import problem

router = APIRouter(include_in_schema=False)
_STATIC = web.load_static()
_PAGES = web.load_pages(_STATIC)


@router.get("/", dependencies=[allow(Role.PUBLIC)])
def report_page(request: Request) -> Response:
    """公开举报平台: the public report form."""
    return web.send(request, _PAGES["report"], web.PAGE_HEADERS)


@router.get("/receipt", dependencies=[allow(Role.PUBLIC)])
def receipt_page(request: Request) -> Response:
    """进度查询: follow a report by its receipt code."""
    return web.send(request, _PAGES["receipt"], web.PAGE_HEADERS)


@router.get("/static/{name}", dependencies=[allow(Role.PUBLIC)])
def static_file(name: str, request: Request) -> Response:
    """A file of ``gateway/web/static`` by its plain name; anything else is 404."""
    asset = _STATIC.get(name)
    if asset is None:
        raise problem(404, "not_found", "no such file", "文件不存在")
    return web.send(request, asset, web.STATIC_HEADERS)
