"""Clue submission (问题线索) and the reporter's follow-up by receipt code."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from contracts.events import ClueFields, ClueSubmitted, ReporterContact
from gateway.auth.channels import check_clue_at_door
from gateway.auth.guards import Principal, allow
from gateway.auth.roles import Role
from gateway.errors import problem

router = APIRouter(prefix="/api/v1", tags=["clues 线索"])
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c3c1e-7d55-4d0c-9a55-0c1f6c1e2a17")


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


def clue_id_for(idempotency_key: str | None) -> str:
    """A fresh id, or for a keyed request ``uuid5(IDEMPOTENCY_NAMESPACE, key).hex``, built
    here from its definition (RFC 4122 4.3; the uuid module's object costs more than
    the hash)."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + idempotency_key.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


_NAMESPACE_BYTES = IDEMPOTENCY_NAMESPACE.bytes


def receipt_code_for(clue_id: str, secret: str) -> str:
    """Unguessable, derived: a retry with the same key gets the same receipt. The code is
    the first 16 base32 characters of an HMAC, which are those of its first 10 bytes."""
    digest = hmac.new(secret.encode(), clue_id.encode(), hashlib.sha256).digest()
    raw = base64.b32encode(digest[:10]).decode()
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}"


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,128}$")
IDEMPOTENCY_KEY_DOC = {"parameters": [{
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Client-chosen key, 8-128 printable ASCII characters; a retry with the "
                   "same key returns the first answer (同一键重试返回首次结果)",
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
    campaign = request.app.state.campaign
    has_contact = bool(clue.reporter and (clue.reporter.phone or clue.reporter.email))
    problems = check_clue_at_door(
        campaign, principal, channel=clue.channel, subject_unit=clue.subject_unit,
        category=clue.category, kind=clue.kind, occurred_on=clue.occurred_on,
        anonymous=clue.anonymous, has_contact=has_contact, today=date.today(),
        has_identity=bool(clue.reporter and clue.reporter.name))
    if problems:
        first = problems[0]
        exc = problem(422, first.code, first.message, first.message_zh, first.field)
        exc.detail["errors"] = [p.__dict__ for p in problems]
        raise exc
    clue_id = clue_id_for(idempotency_key)
    receipt = receipt_code_for(clue_id, request.app.state.settings.secret_key)
    fields = ClueFields(**clue.model_dump(exclude={"anonymous", "reporter"}))
    event = ClueSubmitted(
        event_id=clue_id, clue_id=clue_id, receipt_code=receipt, clue=fields,
        anonymous=clue.anonymous,
        reporter=ReporterContact(**clue.reporter.model_dump()) if clue.reporter else None,
        submitted_by=principal.username, submitter_role=principal.role.value,
        submitter_org=principal.org_code)
    await request.app.state.broker.publish_event(event)
    request.app.state.metrics.clues_accepted.inc()
    # Sent as built: FastAPI would validate and re-encode the model (response_model stays
    # for the API docs); the busiest route skips that work.
    accepted = ClueAcceptedOut(clue_id=clue_id, receipt_code=receipt,
                               status_url=f"/api/v1/receipts/{receipt}")
    return Response(accepted.model_dump_json(), status_code=202,
                    media_type="application/json")


@router.get("/receipts/{receipt_code}", dependencies=[allow(Role.PUBLIC)])
async def follow_receipt(receipt_code: str, request: Request) -> dict:
    """What a reporter may see of their clue: its progress, nothing else."""
    if not 8 <= len(receipt_code) <= 40:
        raise problem(404, "unknown_receipt", "no clue has this receipt code",
                      "未找到该回执码对应的线索")
    return await request.app.state.broker.call("intake", "get_receipt",
                                                receipt_code=receipt_code)


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=5, max_length=2000, description="异议理由")


@router.post("/receipts/{receipt_code}/dispute", dependencies=[allow(Role.PUBLIC)])
async def dispute_closure(receipt_code: str, dispute: DisputeIn, request: Request) -> dict:
    """举报人异议: the reporter disputes a closure (rectified or unfounded); it is reopened."""
    broker = request.app.state.broker
    problem_id = await broker.call("intake", "problem_for_receipt", receipt_code=receipt_code)
    pseudonym = hashlib.sha256(receipt_code.upper().encode()).hexdigest()[:10]
    reporter = {"username": f"reporter:{pseudonym}", "role": "reporter", "org_code": None}
    await broker.call("ledger", "act", problem_id=problem_id, action="reopen", actor=reporter,
                      args={"source": "reporter_dispute", "reason": dispute.reason})
    return {"status": "reopened", "status_zh": "已受理异议,问题重新启动办理",
            "status_en": "Dispute received; the problem is reopened"}
