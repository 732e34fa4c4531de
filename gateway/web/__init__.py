"""The public web pages (公开举报平台 and 进度查询): plain HTML, CSS and JS, no build step.

Everything is read once, when the router is built: the pages, and the files in ``static/`` whose
names and types are known (that set is the whitelist; nothing else is ever served). The pages
name their static files with a ``?v=`` content hash, so the files can be cached for a day and a
new release is still picked up at once.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
PAGES = {"report": "index.html", "receipt": "receipt.html", "not_found": "error.html",
         "not_allowed": "error.html"}
# What error.html says for each error page (Chinese first; English in its own section).
ERROR_TEXTS = {
    "not_found": {"@TITLE@": "页面不存在", "@LEAD@": "您访问的地址不存在，可能已被移动或输入有误。",
                  "@TITLE_EN@": "Page not found",
                  "@LEAD_EN@": "The address you asked for does not exist; it may have moved, "
                               "or it was mistyped."},
    "not_allowed": {"@TITLE@": "不支持此访问方式",
                    "@LEAD@": "该地址不接受这种请求方式，请通过页面上的链接和按钮访问。",
                    "@TITLE_EN@": "Method not allowed",
                    "@LEAD_EN@": "This address does not take this kind of request; use the "
                                 "links and buttons of the pages."},
}

CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z]+$")

# Same-origin only: no inline script or style, no frames, no plugins, forms post to us.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
    "font-src 'self'", "connect-src 'self'", "form-action 'self'", "base-uri 'self'",
    "frame-ancestors 'none'", "object-src 'none'"))
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "Cache-Control": "no-cache",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY"}
STATIC_HEADERS = {"Cache-Control": "public, max-age=86400",
                  "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        return cls(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def send(request, asset: Asset, headers: dict[str, str]) -> Response:
    """The asset with its ETag, or 304 when the client has it already."""
    headers = {**headers, "ETag": asset.etag}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


def load_static(folder: Path = STATIC_DIR) -> dict[str, Asset]:
    """``{name: Asset}`` for the plain files of ``folder`` with a safe name and a known type."""
    assets = {}
    for path in sorted(folder.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and content_type and STATIC_NAME.match(path.name):
            assets[path.name] = Asset.of(path.read_bytes(), content_type)
    return assets


def load_pages(static: dict[str, Asset], folder: Path = WEB_DIR) -> dict[str, Asset]:
    """``{page: Asset}``; each ``/static/NAME`` reference gets ``?v=<hash>`` of that file."""
    def versioned(match: re.Match) -> str:
        name = match.group(2)
        if name not in static:
            raise FileNotFoundError(f"{folder}: a page refers to /static/{name}, "
                                    f"which is not in {STATIC_DIR}")
        return f'{match.group(1)}="/static/{name}?v={static[name].etag.strip(chr(34))[:10]}"'

    pages = {}
    for page, filename in PAGES.items():
        html = (folder / filename).read_text(encoding="utf-8")
        for token, words in ERROR_TEXTS.get(page, {}).items():
            html = html.replace(token, words)
        html = re.sub(r'(src|href)="/static/([^"?#]+)"', versioned, html)
        pages[page] = Asset.of(html.encode("utf-8"), "text/html; charset=utf-8")
    return pages
