"""Clue submission (问题线索) and the reporter's follow-up by receipt code."""
from __future__ import annotations

import base64
import re
import secrets
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from contracts.events import ClueFields, ClueSubmitted, receipt_digest
from gateway.auth.channels import check_clue_at_door, check_partner_channel
from gateway.auth.guards import Principal, allow
from gateway.auth.roles import Role
from gateway.errors import problem
from gateway.idempotency import Answer, Idempotency, KeyReused, StoreUnavailable, scope_of
from kit.periods import county_today
from kit.sealing import seal

router = APIRouter(prefix="/api/v1", tags=["clues 线索"])


class ReporterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9\- ]{5,19}$")
    email: EmailStr | None = None


class ClueIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str = Field(max_length=64, description="channel code 线索来源渠道")
    title: str = Field(min_length=2, max_length=200, description="标题")
    description: str = Field(min_length=5, max_length=5000, description="问题描述")
    subject_unit: str | None = Field(None, max_length=64, description="被反映单位 code")
    category: str | None = Field(None, max_length=64, description="问题类别 code")
    kind: str | None = Field(None, max_length=64, description="不作为/乱作为/慢作为 code")
    place: str | None = Field(None, max_length=200, description="地点")
    occurred_on: date | None = Field(None, description="发生日期")
    anonymous: bool = Field(True, description="匿名举报")
    reporter: ReporterIn | None = None


class ClueAcceptedOut(BaseModel):
    clue_id: str
    receipt_code: str
    status: str = "accepted"
    status_url: str


def new_receipt_code() -> str:
    """回执码: 80 random bits (``secrets``) as 16 base32 characters, ``XXXX-XXXX-XXXX-XXXX``.
    Known only to the reporter: the gateway keeps nothing of it but, for a keyed request,
    a copy sealed under that request's key and body (``gateway.idempotency``); intake
    keeps its digest, and only the digest goes on the wire."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}"


UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""What a store cannot keep (PostgreSQL refuses NUL; a lone surrogate is not UTF-8) and
no reporter types: control characters other than tab and line breaks, and surrogates."""


def unstorable_field(clue: ClueIn) -> str | None:
    """The first field of the clue holding a character no store keeps, if any."""
    fields = [(name, value) for name, value in clue.__dict__.items() if isinstance(value, str)]
    if clue.reporter is not None:
        fields += [(f"reporter.{name}", value) for name, value in clue.reporter.__dict__.items()
                   if isinstance(value, str)]
    return next((name for name, value in fields if UNSTORABLE.search(value)), None)


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,128}$")
IDEMPOTENCY_KEY_DOC = {"parameters": [{
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Client-chosen key, 8-128 printable ASCII characters, scoped to the "
                   "caller (a staff account; the public share one scope). A retry with the "
                   "same key and the same body returns the first answer; the same key with "
                   "another body is a 422 (同一调用方以同一键、同一内容重试返回首次结果;"
                   "同一键用于不同内容则拒绝). Answers are kept for at least 24 hours.",
    "schema": {"type": "string", "minLength": 8, "maxLength": 128,
               "pattern": "^[\\x21-\\x7e]+$"}}]}


def idempotency_key_of(request: Request) -> str | None:
    """The Idempotency-Key header, checked here rather than as a FastAPI header parameter:
    the error is bilingual like the rest, and FastAPI's header handling cost a fifth of
    the route's time."""
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise problem(422, "invalid_idempotency_key",
                      "Idempotency-Key must be 8-128 printable ASCII characters without spaces",
                      "Idempotency-Key 须为 8 至 128 个可打印 ASCII 字符(不含空格)",
                      "Idempotency-Key")
    return key


def inline_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema with its nested models written in place (an operation's
    own schema cannot point into ``$defs``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


CLUE_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": inline_schema(ClueIn)}}}}


async def clue_of(request: Request) -> ClueIn:
    """The request body as a ClueIn, parsed and validated by pydantic in one pass.

    FastAPI's body parameter (JSON to Python objects, then validation, then its dependency
    machinery) cost a sixth of this route's time. Errors keep FastAPI's shape: a 422 with
    ``detail`` listing each problem, its ``loc`` starting with ``"body"``."""
    content_type = request.headers.get("content-type")
    if content_type and "json" not in content_type.split(";")[0].lower():
        raise problem(415, "unsupported_media_type", "Send the clue as JSON "
                      "(Content-Type: application/json)",
                      "请以 JSON 格式提交线索(Content-Type: application/json)")
    try:
        return ClueIn.model_validate_json(await request.body())
    except ValidationError as exc:  # (broken JSON: the body is not echoed back, as FastAPI)
        raise RequestValidationError([
            {**e, "loc": ("body", *e["loc"])} if e["type"] != "json_invalid"
            else {**e, "loc": ("body",), "input": {}}
            for e in exc.errors(include_url=False)]) from None


Anyone = Annotated[Principal, allow(Role.PUBLIC)]


@router.post("/clues", status_code=202, response_model=ClueAcceptedOut,
             openapi_extra={**IDEMPOTENCY_KEY_DOC, **CLUE_BODY_DOC})
async def submit_clue(request: Request, principal: Anyone) -> Response:
    """Accept a clue from any channel; 202 once the broker has confirmed it durably."""
    idempotency_key = idempotency_key_of(request)
    clue = await clue_of(request)
    state = request.app.state
    refuse_unacceptable(clue, state.campaign, principal)
    answer = await accept_clue(state, principal, clue, idempotency_key)
    # Sent as built: FastAPI would validate and re-encode the model (response_model stays
    # for the API docs); the busiest route skips that work.
    accepted = ClueAcceptedOut(clue_id=answer.clue_id, receipt_code=answer.receipt_code,
                               status_url="/api/v1/receipts/lookup")
    return Response(accepted.model_dump_json(), status_code=202,
                    media_type="application/json")


async def accept_clue(state, principal: Principal, clue: ClueIn,
                      idempotency_key: str | None, clue_id: str | None = None, *,
                      files: tuple[str, ...] = ()) -> Answer:
    """A clue the door let through: its answer (for a keyed retry, the first one given) once
    the broker has confirmed its event (again on a retry: applied once, by its id).
    ``files``: SHA-256 of files the clue carries as provenance (an exposure case's).
    A partner platform's account only on its own channels (whichever door it came by)."""
    if principal.role is Role.PARTNER:
        partner = await run_in_threadpool(state.partners.get, principal.username)
        check_partner_channel(clue.channel, partner.channels if partner else ())
    if idempotency_key is None:
        answer = Answer(clue_id or uuid.uuid4().hex, new_receipt_code())
    else:
        answer = await first_answer(state.idempotency, principal, idempotency_key, clue,
                                    clue_id)
    reporter = clue.reporter.model_dump() if clue.reporter else None
    event = ClueSubmitted(
        event_id=answer.clue_id, clue_id=answer.clue_id,
        receipt_digest=receipt_digest(answer.receipt_code),
        reporter_sealed=seal(state.contact_fernet, reporter),
        clue=ClueFields(**clue.model_dump(exclude={"anonymous", "reporter"}), files=files),
        anonymous=clue.anonymous, submitted_by=principal.username or None,
        submitter_role=principal.role.value, submitter_org=principal.org_code)
    await state.broker.publish_event(event)  # again on a retry: applied once, by its id
    state.metrics.clues_accepted.inc()
    return answer


def refuse_unacceptable(clue: ClueIn, campaign, principal: Principal) -> None:
    """A 422 for a clue no store could keep or the campaign's rules refuse."""
    unstorable = unstorable_field(clue)
    if unstorable is not None:
        raise problem(422, "unstorable_character",
                      f"{unstorable} contains a control character or an unpaired surrogate",
                      "内容含有无法保存的控制字符或无效字符,请删除后重新提交", unstorable)
    has_contact = bool(clue.reporter and (clue.reporter.phone or clue.reporter.email))
    problems = check_clue_at_door(
        campaign, principal, channel=clue.channel, subject_unit=clue.subject_unit,
        category=clue.category, kind=clue.kind, occurred_on=clue.occurred_on,
        anonymous=clue.anonymous, has_contact=has_contact, today=county_today(),
        has_identity=bool(clue.reporter and clue.reporter.name))
    if problems:
        first = problems[0]
        exc = problem(422, first.code, first.message, first.message_zh, first.field)
        exc.detail["errors"] = [p.__dict__ for p in problems]
        raise exc


async def first_answer(idempotency: Idempotency, principal: Principal, key: str,
                       clue: ClueIn, clue_id: str | None = None) -> Answer:
    """The answer this caller got first for this key and body (a fresh one, remembered, if
    none: the clue id derived from caller, key and body unless given, a new receipt code):
    see ``gateway.idempotency``."""
    keyed = idempotency.keyed(scope_of(principal), key, clue.model_dump_json().encode())
    fresh = Answer(clue_id or keyed.clue_id, new_receipt_code())
    try:
        return await idempotency.answer_for(keyed, fresh)
    except KeyReused:
        raise problem(422, "idempotency_key_reused",
                      "this Idempotency-Key was used for another clue; use a new key for a "
                      "new clue", "该 Idempotency-Key 已用于另一条线索,提交新线索请使用新的键",
                      "Idempotency-Key") from None
    except StoreUnavailable:
        raise problem(503, "store_unavailable", "the gateway could not record the request; "
                      "nothing was accepted. Retry with the same Idempotency-Key.",
                      "暂时无法记录本次提交,未被受理,请使用同一 Idempotency-Key 重试。") from None


class ReceiptIn(BaseModel):
    """A receipt code travels in the body, never in a URL (logs, browser history)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    receipt_code: str = Field(min_length=8, max_length=40, description="回执码")


class DisputeIn(ReceiptIn):
    reason: str = Field(min_length=5, max_length=2000, description="异议理由")


@router.post("/receipts/dispute", dependencies=[allow(Role.PUBLIC)])
async def dispute_closure(dispute: DisputeIn, request: Request) -> dict:
    """举报人异议: the reporter disputes a closure (rectified or unfounded); it is reopened.
    A merged report's dispute reopens the problem it was merged into."""
    broker = request.app.state.broker
    problem_id = await broker.call("intake", "problem_for_receipt",
                                   receipt_code=dispute.receipt_code)
    pseudonym = receipt_digest(dispute.receipt_code)[:10]
    reporter = {"username": f"reporter:{pseudonym}", "role": "reporter", "org_code": None}
    await broker.call("ledger", "act", problem_id=problem_id, action="reopen", actor=reporter,
                      args={"source": "reporter_dispute", "reason": dispute.reason})
    return {"status": "reopened", "status_zh": "已受理异议,问题重新启动办理",
            "status_en": "Dispute received; the problem is reopened"}
