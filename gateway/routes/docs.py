"""The API's documentation pages, readable offline: Swagger UI (``/docs``) and ReDoc
(``/redoc``) with their scripts and styles served from this origin.

The assets come from the pinned ``fastapi-offline`` package (its ``static`` folder: Swagger
UI's bundle and stylesheet, ReDoc's standalone script); the pages and their start-up
scripts are ours (``gateway/web/docs``), so no inline script is needed and the pages keep
the public pages' strict Content-Security-Policy: scripts only from this origin, nothing
fetched from elsewhere. The widenings: images may be ``data:`` URIs (Swagger UI's
stylesheet draws its icons with them), and ReDoc's page allows inline styles (ReDoc
styles itself at run time) and a worker its own script makes from a ``blob:`` (its
search index); no script from anywhere but this origin can run.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request, Response

from gateway import web
from gateway.auth.guards import allow
from gateway.auth.roles import Role
from gateway.errors import problem

router = APIRouter(include_in_schema=False)
DOCS_DIR = Path(__file__).resolve().parent.parent / "web" / "docs"
PACKAGE_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js",
                  "favicon.png")
OWN_ASSETS = ("swagger-init.js", "redoc-init.js", "swagger-a11y.css")
DOCS_CSP = web.CONTENT_SECURITY_POLICY.replace("img-src 'self'", "img-src 'self' data:")
DOCS_HEADERS = {**web.PAGE_HEADERS, "Content-Security-Policy": DOCS_CSP}
REDOC_HEADERS = {**web.PAGE_HEADERS, "Content-Security-Policy": DOCS_CSP.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src 'self' blob:"}


def _type(name: str) -> str:
    return web.CONTENT_TYPES[Path(name).suffix]


def load_assets() -> dict[str, web.Asset]:
    package = files("fastapi_offline") / "static"
    assets = {name: web.Asset.of((package / name).read_bytes(), _type(name))
              for name in PACKAGE_ASSETS}
    assets.update({name: web.Asset.of((DOCS_DIR / name).read_bytes(), _type(name))
                   for name in OWN_ASSETS})
    return assets


_ASSETS = load_assets()
_PAGES = {page: web.Asset.of((DOCS_DIR / f"{page}.html").read_bytes(),
                             "text/html; charset=utf-8") for page in ("swagger", "redoc")}


@router.get("/docs", dependencies=[allow(Role.PUBLIC)])
def swagger_ui(request: Request) -> Response:
    """The API, to try out (Swagger UI)."""
    return web.send(request, _PAGES["swagger"], DOCS_HEADERS)


@router.get("/redoc", dependencies=[allow(Role.PUBLIC)])
def redoc(request: Request) -> Response:
    """The API, to read (ReDoc)."""
    return web.send(request, _PAGES["redoc"], REDOC_HEADERS)


@router.get("/docs-assets/{name}", dependencies=[allow(Role.PUBLIC)])
def docs_asset(name: str, request: Request) -> Response:
    """A script, stylesheet or icon of the documentation pages, by its plain name."""
    asset = _ASSETS.get(name)
    if asset is None:
        raise problem(404, "not_found", "no such file", "文件不存在")
    return web.send(request, asset, web.STATIC_HEADERS)
