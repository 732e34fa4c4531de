"""The reporter's follow-up (进度查询与回访), by receipt code only, never an account.

* the look-up's answer carries the stages the reporter may see with their dates, in public
  words (the ledger's ``public_progress``; ``services/ledger/domain/public.py``);
* ``POST /api/v1/receipts/supplement``: add information and photos to an open case
  (补充材料): ``multipart/form-data`` with ``receipt_code`` and ``text`` first, then up to
  ``SUPPLEMENT_PHOTOS_MAX`` photos. The receipt and the case are checked before a photo is
  stored; photos go through the evidence pipeline (typed by content, size-limited, the
  original sealed, a copy without location for staff) and are tied to the problem;
* ``POST /api/v1/receipts/satisfaction``: the return visit (回访满意度), once per receipt and
  outcome (a second answer is refused; the first stands).

The code travels in bodies only; every path here is under ``/api/v1/receipt``, so each
request spends the per-client receipt budget (``gateway.limits.ThrottleByPath``). The ledger
hears the reporter as a pseudonym (``reporter:`` and the start of the code's digest).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from contracts.actions import SUPPLEMENT_PHOTOS_MAX
from contracts.events import receipt_digest
from contracts.vocabulary import Action, Satisfaction
from gateway.auth.guards import allow
from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.errors import problem
from gateway.files.index import PROBLEM, UPLOADER
from gateway.files.intake import Limits, Refused, receive
from gateway.routes.clues import UNSTORABLE, ReceiptIn
from kit.errors import refusal_from_reply

router = APIRouter(prefix="/api/v1", tags=["clues 线索"])


def _storable(value: str | None) -> str | None:
    """No control character or lone surrogate (``clues.UNSTORABLE``): no store keeps them."""
    if value is not None and UNSTORABLE.search(value):
        raise ValueError("contains a control character or an unpaired surrogate")
    return value


Storable = AfterValidator(_storable)
NO_PROGRESS = {"stages": [], "may_supplement": False, "may_rate": False, "rating": None}


def reporter_of(receipt_code: str) -> dict:
    """The reporter as the ledger hears them: a pseudonym, never the code."""
    pseudonym = receipt_digest(receipt_code)[:10]
    return {"username": f"reporter:{pseudonym}", "role": "reporter", "org_code": None}


async def _case(broker, receipt_code: str) -> tuple[dict, str | None, dict]:
    """(receipt view, problem id, public progress) of a receipt code; 404 unknown_receipt."""
    found = await broker.call("intake", "receipt_and_problem", receipt_code=receipt_code)
    receipt, problem_id = found["receipt"], found["problem_id"]
    if problem_id is None:
        return receipt, None, dict(NO_PROGRESS)
    # Asked even while intake still says "received": the ledger may have registered it.
    try:
        progress = await broker.call("ledger", "public_progress", problem_id=problem_id,
                                     reporter=reporter_of(receipt_code)["username"])
    except RemoteCallError as exc:
        refusal = refusal_from_reply(exc.error)
        if refusal is None or refusal.code != "not_found":
            raise
        return receipt, None, dict(NO_PROGRESS)  # registration is on its way
    return receipt, problem_id, progress


async def follow_up(broker, receipt_code: str) -> dict:
    """进度查询: the receipt's status and the stages the reporter may see, nothing else."""
    receipt, _, progress = await _case(broker, receipt_code)
    return {**receipt, **progress}


@router.post("/receipts/lookup", dependencies=[allow(Role.PUBLIC)])
async def follow_receipt(receipt: ReceiptIn, request: Request) -> dict:
    """进度查询: what a reporter may see of their clue: its progress and the stages of its
    case with their dates in public words, nothing else. The code goes in the body, so it
    stays out of URLs, logs and browser history."""
    return await follow_up(request.app.state.broker, receipt.receipt_code)


# ── 补充材料: information and photos for an open case ──────────────────────────────────────

class SupplementIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    receipt_code: str = Field(min_length=8, max_length=40, description="回执码")
    text: Annotated[str, Storable] = Field(min_length=5, max_length=2000,
                                           description="补充的情况")


SUPPLEMENT_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["receipt_code", "text"], "properties": {
        "receipt_code": {"type": "string", "description": "回执码 (before the photos)"},
        "text": {"type": "string", "minLength": 5, "maxLength": 2000,
                 "description": "补充的情况 (before the photos)"},
        "photo": {"type": "array", "maxItems": SUPPLEMENT_PHOTOS_MAX,
                  "items": {"type": "string", "format": "binary"}}}}}}}}


def _supplement_of(fields: dict[str, str]) -> SupplementIn:
    try:
        return SupplementIn.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                      for e in exc.errors(include_url=False)]) from None


async def _open_case_of(request: Request, given: SupplementIn) -> str:
    """The problem an open case's supplement goes to; 409 when there is none to add to."""
    _, problem_id, progress = await _case(request.app.state.broker, given.receipt_code)
    if problem_id is None:
        raise problem(409, "not_yet_registered", "The report is not registered in the ledger "
                      "yet; try again in a moment.", "举报尚未登记入台账,请稍后再试。")
    if not progress["may_supplement"]:
        raise problem(409, "case_closed", "The case is closed; information can no longer be "
                      "added. If you disagree with the outcome, you may dispute it.",
                      "该问题已办结,不能再补充材料;如对办理结果有异议,可以提出异议。")
    return problem_id


@router.post("/receipts/supplement", dependencies=[allow(Role.PUBLIC)],
             openapi_extra=SUPPLEMENT_BODY, summary="补充材料 · Add information to a report",
             responses={
                 404: {"description": "No clue has this receipt code — `unknown_receipt`"},
                 409: {"description": "The case is closed (`case_closed`) or not registered "
                                      "yet (`not_yet_registered`)"},
                 415: {"description": "Not multipart/form-data, or a photo is not a JPEG, "
                                      "PNG or WebP image — `unsupported_file_type`"}})
async def add_information(request: Request) -> dict:
    """补充材料: the reporter adds information and up to five photos to an open case
    (``multipart/form-data``: ``receipt_code`` and ``text`` before the photos). Refused
    (409 ``case_closed``) once the case is closed; photos are typed by content and stored
    with a copy without location metadata for staff."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise problem(415, "unsupported_media_type", "Send the supplement as "
                      "multipart/form-data (receipt_code, text, photos)",
                      "请以 multipart/form-data 表单提交(回执码、补充情况、照片)")
    files = request.app.state.files
    settings = request.app.state.settings
    limits = Limits(settings.upload_max_image_bytes, settings.upload_max_image_bytes,
                    SUPPLEMENT_PHOTOS_MAX, frozenset({"image"}))
    fields: dict[str, str] = {}
    checked: dict[str, str] = {}

    async def before_photos(so_far: dict[str, str]) -> None:
        if "receipt_code" not in so_far or "text" not in so_far:
            raise problem(422, "receipt_code_required", "receipt_code and text must come "
                          "before the photos in the form", "请在照片之前填写回执码和补充情况",
                          "receipt_code")
        checked["problem_id"] = await _open_case_of(request, _supplement_of(so_far))

    try:
        records = await receive(request.headers, request.stream(), files.store, limits,
                                fields=fields, before_files=before_photos, require_file=False)
    except Refused as exc:
        raise problem(exc.status, exc.code, exc.message, exc.message_zh) from None
    given = _supplement_of(fields)
    problem_id = checked.get("problem_id") or await _open_case_of(request, given)
    reporter = reporter_of(given.receipt_code)
    for record in records:
        await run_in_threadpool(files.index.record, record, [(UPLOADER, reporter["username"])])
    await request.app.state.broker.call(
        "ledger", "act", problem_id=problem_id, action=Action.REPORTER_SUPPLEMENT.value,
        actor=reporter, args={"text": given.text, "photos": [r.sha256 for r in records]})
    if records:
        await run_in_threadpool(files.index.link, [r.sha256 for r in records], PROBLEM,
                                problem_id)
    return {"status": "received", "photos": len(records),
            "status_zh": "已收到您补充的材料,将转交承办单位一并核查",
            "status_en": "Your information was received and goes to the case's handlers"}


# ── 回访满意度: the return visit ──────────────────────────────────────────────────────────────

class SatisfactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    receipt_code: str = Field(min_length=8, max_length=40, description="回执码")
    satisfaction: Satisfaction = Field(description="满意 satisfied / 基本满意 "
                                       "basically_satisfied / 不满意 not_satisfied")
    reason: Annotated[str | None, Storable] = Field(
        None, max_length=2000, description="理由, required when not satisfied")


@router.post("/receipts/satisfaction", dependencies=[allow(Role.PUBLIC)],
             summary="回访满意度 · Rate the outcome", responses={
                 404: {"description": "No clue has this receipt code — `unknown_receipt`"},
                 409: {"description": "No outcome to rate yet (`not_ratable`), or rated "
                                      "already (`already_rated`; the first answer stands)"}})
async def rate_outcome(answer: SatisfactionIn, request: Request) -> dict:
    """回访满意度: once the case is rectified or closed as unfounded, the reporter says
    whether the outcome satisfies them (a reason when not). One answer per receipt and
    outcome: a second is refused (409 ``already_rated``) and the first stands."""
    broker = request.app.state.broker
    _, problem_id, progress = await _case(broker, answer.receipt_code)
    if progress["rating"] is not None:
        raise problem(409, "already_rated", "You have rated this outcome already; the first "
                      "answer stands.", "您已对本次办理结果作出评价,以首次评价为准。")
    if problem_id is None or not progress["may_rate"]:
        raise problem(409, "not_ratable", "The case has no outcome to rate yet.",
                      "该问题尚无可评价的办理结果,办结后再来评价。")
    await broker.call("ledger", "act", problem_id=problem_id,
                      action=Action.RATE_SATISFACTION.value,
                      actor=reporter_of(answer.receipt_code),
                      args={"satisfaction": answer.satisfaction.value,
                            "reason": answer.reason or None})
    return {"status": "recorded", "satisfaction": answer.satisfaction.value,
            "status_zh": "感谢您的评价,已记录", "status_en": "Thank you; your answer is recorded"}
