"""Open311 GeoReport v2 at ``/open311/v2`` (协作平台接口): translation only.

The rules are ``gateway.open311.mapping``'s; a request becomes a clue through the API's own
path (``gateway.routes.clues``: the door's checks, the publisher, ``Idempotency-Key``, the
reporter's contact sealed), on the partner's channel, as the partner's account; its state is
read from the ledger (one ``problem_states`` call for a whole answer).

The API key (per partner, ``gateway.auth.partners``) travels as the ``api_key`` parameter or
as the password of HTTP Basic authentication (what a client makes of a root address such as
``https://partner:KEY@host/open311/v2``): clients that cannot add parameters to their GETs
still read their requests. Services and their definitions need no key; requests do.

These routes are left out of the OpenAPI description: their errors have Open311's shape,
not the API's; the README documents them.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gateway.auth.guards import allow
from gateway.auth.partners import Partner
from gateway.auth.roles import Role
from gateway.errors import SCHEMA_ERRORS_ZH
from gateway.open311 import mapping
from gateway.open311.mapping import FORMATS, PREFIX, Filters, Open311Error
from gateway.routes.clues import ClueIn, accept_clue, idempotency_key_of, refuse_unacceptable

router = APIRouter(prefix=PREFIX, include_in_schema=False,
                   dependencies=[allow(Role.PUBLIC, ignore_bad_token=True)])
MEDIA = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def answer(fmt: str, root: str, body: list | dict, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(mapping.to_xml(root, body), status_code=status, media_type=MEDIA[fmt])
    # orjson: a list of 1,000 requests (560 KiB) took json.dumps a fifth of the gateway's
    # time for the answer; orjson writes the same compact UTF-8 in a tenth of that
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA["json"])


def refusal(fmt: str, exc: Open311Error) -> Response:
    return answer(fmt if fmt in FORMATS else "json", "errors", exc.items(), exc.status)


async def partner_of(request: Request, params) -> Partner:
    """The partner whose key came (parameter or Basic password); 403 otherwise."""
    key = (params.get("api_key") or "").strip() or basic_password(request)
    if not key:
        raise Open311Error(403, "缺少 api_key", "api_key is required")
    partner = await run_in_threadpool(request.app.state.partners.by_key, key)
    if partner is None:
        raise Open311Error(403, "api_key 无效或已停用", "invalid or disabled api_key")
    return partner


def basic_password(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode().partition(":")[2]
    except (ValueError, UnicodeDecodeError):
        return ""


# ── services ──────────────────────────────────────────────────────────────────────────────────

@router.get("/services.{fmt}")
async def service_list(fmt: str, request: Request) -> Response:
    """The campaign's categories as services."""
    campaign = request.app.state.campaign
    try:
        mapping.check_request(fmt, request.query_params, campaign)
    except Open311Error as exc:
        return refusal(fmt, exc)
    return answer(fmt, "services", mapping.services(campaign))


async def definition(code: str, fmt: str, request: Request) -> Response:
    """A service's definition: the attributes a request may carry."""
    campaign = request.app.state.campaign
    try:
        mapping.check_request(fmt, request.query_params, campaign)
        return answer(fmt, "service_definition", mapping.service_definition(campaign, code))
    except Open311Error as exc:
        return refusal(fmt, exc)


# ``services/{code}`` is the specification's; the ``open311`` client asks ``service/{code}``.
for _path in ("/services/{code}.{fmt}", "/service/{code}.{fmt}"):
    router.add_api_route(_path, definition, methods=["GET"])


# ── requests ──────────────────────────────────────────────────────────────────────────────────

@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request) -> Response:
    """A partner's request (form-encoded) becomes a clue on its channel; its id at once."""
    state = request.app.state
    try:
        mapping.check_request(fmt, {}, state.campaign)  # the format before the body
        form = await form_of(request)
        mapping.check_request(fmt, form, state.campaign)
        partner = await partner_of(request, form)
        if partner.channel is None:
            raise Open311Error(403, "该协作平台尚未指定渠道,请联系县委办公室",
                               "this partner has no channel yet; ask the county office")
        clue = clue_of(mapping.clue_fields(form, state.campaign, partner.channel))
        principal = partner.account.principal()
        try:
            refuse_unacceptable(clue, state.campaign, principal)
            accepted = await accept_clue(state, principal, clue, idempotency_key_of(request))
        except HTTPException as exc:
            raise open311_error(exc) from None
        await run_in_threadpool(state.open311_requests.record, accepted.clue_id,
                                partner.account.id, clue.category, datetime.now(timezone.utc))
    except Open311Error as exc:
        return refusal(fmt, exc)
    return answer(fmt, "service_requests", mapping.accepted(accepted.clue_id))


async def form_of(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "请以表单格式提交(application/x-www-form-urlencoded)",
                           "send the request form-encoded (application/x-www-form-urlencoded)")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def clue_of(fields: dict) -> ClueIn:
    """The fields as the API's clue, or a 400 naming the first problem in both languages."""
    try:
        return ClueIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"])
        zh = SCHEMA_ERRORS_ZH.get(first["type"], "格式不正确").format(**first.get("ctx", {}))
        raise mapping.bad(f"{name}:{zh}", f"{name}: {first['msg']}") from None


def open311_error(exc: HTTPException) -> Open311Error:
    """The door's refusal (403 for a channel, 422 for a clue) in Open311's terms."""
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    status = 403 if exc.status_code in (401, 403) else 400
    return Open311Error(status, detail.get("message_zh", "请求被拒绝"),
                        detail.get("message", "refused"))


@router.get("/requests.{fmt}")
async def request_list(fmt: str, request: Request) -> Response:
    """The partner's own requests: newest first, at most 1,000, by the filters."""
    state = request.app.state
    params = request.query_params
    try:
        mapping.check_request(fmt, params, state.campaign)
        partner = await partner_of(request, params)
        filters = mapping.parse_filters(params, state.campaign, datetime.now(timezone.utc))
        return answer(fmt, "service_requests", await requests_of(state, partner, filters))
    except Open311Error as exc:
        return refusal(fmt, exc)


@router.get("/requests/{request_id}.{fmt}")
async def request_one(request_id: str, fmt: str, request: Request) -> Response:
    """One of the partner's requests, as a list of one (404 for any other id)."""
    state = request.app.state
    try:
        mapping.check_request(fmt, request.query_params, state.campaign)
        partner = await partner_of(request, request.query_params)
        now = datetime.now(timezone.utc)
        found = []
        if mapping.CLUE_ID.match(request_id):
            found = await requests_of(state, partner,
                                      Filters((request_id,), (), now, now, frozenset()),
                                      with_text=True)
        if not found:
            raise Open311Error(404, "没有该请求", "no such service request")
        return answer(fmt, "service_requests", found)
    except Open311Error as exc:
        return refusal(fmt, exc)


async def requests_of(state, partner: Partner, filters: Filters,
                      with_text: bool = False) -> list[dict]:
    """The partner's records (gateway), their states (one ledger call), as Open311 shows.
    ``with_text``: with the description (one request; a list leaves it out, the partner
    sent it and 1,000 of them would weigh megabytes)."""
    records = await run_in_threadpool(state.open311_requests.find, partner.account.id, filters)
    if not records:
        return []
    found = await state.broker.call("ledger", "problem_states", with_text=with_text,
                                    clue_ids=[r["clue_id"] for r in records])
    columns = found["columns"]
    states = [dict(zip(columns, row)) for row in found["rows"]]
    return mapping.requests_view(records, states, state.campaign, filters.statuses)
