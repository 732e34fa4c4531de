"""Published typical cases (公开曝光 典型案例): the public page and its data.

The county office publishes a case, or any problem, with the ledger's ``publish`` action
(what was found, what was done, the photos and videos to show) and takes it off with
``unpublish`` (a reason; both stay in the hash chain). Anyone sees, Chinese first:

- ``GET /exposures``: the page (server-rendered, no script; the site's style sheet).
- ``GET /api/v1/published-cases``: the same as JSON.
- ``GET /api/v1/published-cases/{problem_id}/media/{sha256}``: a shown file's **redacted**
  copy, and only when it has one that differs from the sealed original (an image re-encoded,
  a video's metadata boxes blanked); a file without one (a document, a video whose copy is
  withheld) is never served here.

The ledger's list is cached for ``CACHE_SECONDS`` (the page is public and cheap to ask for).
"""
from __future__ import annotations

import time
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from gateway import web
from gateway.auth.guards import allow
from gateway.auth.roles import Role
from gateway.errors import problem

CACHE_SECONDS = 5
router = APIRouter(tags=["published 公开曝光"])
ProblemId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-zA-Z_-]+$")]
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


async def published(request: Request) -> list[dict]:
    state = request.app.state
    cached = getattr(state, "published_cache", None)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    cases = await state.broker.call("ledger", "published_cases", limit=100)
    for case in cases:
        for item in case["media"]:
            item["url"] = (f"/api/v1/published-cases/{case['problem_id']}/media/"
                           f"{item['sha256']}")
    state.published_cache = (time.monotonic() + CACHE_SECONDS, cases)
    return cases


@router.get("/api/v1/published-cases", dependencies=[allow(Role.PUBLIC)],
            summary="公开曝光典型案例 · Published typical cases")
async def published_cases(request: Request) -> dict:
    """The cases the county office published, the latest first: title, unit, what was
    found, what was done, and the files shown (their redacted copies' URLs)."""
    return {"cases": await published(request)}


@router.get("/api/v1/published-cases/{problem_id}/media/{sha256}",
            dependencies=[allow(Role.PUBLIC)], response_class=StreamingResponse,
            summary="公开曝光案例的图片或视频(脱敏副本) · A published case's photo or video")
async def published_media(problem_id: ProblemId, sha256: Digest, request: Request):
    """The redacted copy of a file a published case shows; 404 for anything else."""
    case = next((c for c in await published(request) if c["problem_id"] == problem_id), None)
    shown = case is not None and any(m["sha256"] == sha256 for m in case["media"])
    files = request.app.state.files
    records = await run_in_threadpool(files.index.find, sha256) if shown else []
    record = next((r for r in records if sha256 in (r.sha256, r.redacted_sha256)), None)
    if record is None or not record.sealed or record.kind not in ("image", "video"):
        raise problem(404, "not_found", "No such published file (only redacted photos and "
                      "videos are shown).", "未找到该公开文件(仅公开脱敏后的图片和视频)。")
    size = await run_in_threadpool(files.store.size, record.redacted_sha256)
    return StreamingResponse(files.store.read(record.redacted_sha256),
                             media_type=record.media_type, headers={
        "Content-Length": str(size), "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=300", "X-File-Copy": "redacted",
        "Content-Disposition": "inline; filename*=UTF-8''" + urllib.parse.quote(
            record.filename)})


PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>公开曝光典型案例 · Published typical cases</title>
<link rel="icon" href="/static/emblem.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/site.css">
</head>
<body>
<a class="skip-link" href="#main">跳到主要内容</a>
<header class="masthead">
  <div class="wrap masthead-row">
    <a class="brand" href="/">
      <img src="/static/emblem.svg" alt="" width="44" height="44">
      <span class="brand-text">
        <span class="brand-county">{{ county }}</span>
        <span class="brand-name">{{ campaign }}</span>
      </span>
    </a>
  </div>
  <nav class="site-nav" aria-label="网站导航 Site">
    <div class="wrap">
      <a href="/">我要举报</a>
      <a href="/receipt">进度查询</a>
      <a href="/exposures" aria-current="page">公开曝光</a>
    </div>
  </nav>
</header>
<main id="main" class="wrap">
  <h1>公开曝光典型案例 <span lang="en">Published typical cases</span></h1>
  <p class="lead">县委办公室公开曝光的典型案例:查明的问题和处理整改情况。图片和视频均已去除位置等信息。
    <span lang="en">Typical cases published by the county office: what was found and what
    was done. Photos and videos are shown without location or device data.</span></p>
  {% if not cases %}
  <p class="card">暂无公开曝光的案例。<span lang="en">No case has been published yet.</span></p>
  {% endif %}
  {% for case in cases %}
  <article class="card" aria-labelledby="case-{{ loop.index }}">
    <h2 id="case-{{ loop.index }}">{{ case.title }}</h2>
    <dl>
      <dt>被曝光单位 <span lang="en">Unit</span></dt><dd>{{ case.unit_name or "—" }}</dd>
      <dt>公开日期 <span lang="en">Published</span></dt><dd>{{ case.published_on }}</dd>
      <dt>查明的问题 <span lang="en">What was found</span></dt><dd>{{ case.found }}</dd>
      <dt>处理和整改情况 <span lang="en">What was done</span></dt><dd>{{ case.done }}</dd>
    </dl>
    {% if case.media %}
    <ul>
      {% for item in case.media %}
      <li><a href="{{ item.url }}">{{ item.description }}</a></li>
      {% endfor %}
    </ul>
    {% endif %}
  </article>
  {% endfor %}
</main>
</body>
</html>
""")


@router.get("/exposures", dependencies=[allow(Role.PUBLIC)], include_in_schema=False)
async def exposures_page(request: Request) -> HTMLResponse:
    """公开曝光: the published typical cases, Chinese first."""
    campaign = request.app.state.campaign
    html = PAGE.render(cases=await published(request),
                       county=getattr(campaign, "county_zh", None) or "盐山县",
                       campaign="不作为、乱作为、慢作为问题专项清理工作")
    return HTMLResponse(html, headers=web.PAGE_HEADERS)
