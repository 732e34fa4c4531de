"""One shape for every error body: a stable snake_case code, an English and a Chinese message.

Nothing internal ever reaches a caller: a service's answer passes only when it is one of
``kit.errors``' refusals, and any other failure is a bilingual 5xx carrying a correlation
id, under which the details are logged.
"""
from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.broker import BrokerUnavailable, RemoteCallError, RpcTimeout, ServiceUnavailable
from kit import logs
from kit.errors import refusal_from_reply

log = logging.getLogger("gateway.errors")


def problem(status: int, code: str, message: str, message_zh: str,
            field: str | None = None) -> HTTPException:
    detail = {"code": code, "message": message, "message_zh": message_zh}
    if field:
        detail["field"] = field
    return HTTPException(status_code=status, detail=detail)


def _body(code: str, message: str, message_zh: str, **extra) -> dict:
    return {"detail": {"code": code, "message": message, "message_zh": message_zh, **extra}}


class ErrorDetail(BaseModel):
    """An error: what went wrong, in English and Chinese (错误说明)."""

    code: str = Field(description="stable snake_case code", examples=["not_found"])
    message: str = Field(description="English")
    message_zh: str = Field(description="中文说明")
    field: str | None = Field(None, description="the input it is about, if any")
    correlation_id: str | None = Field(None, description="5xx only: quote it to the "
                                       "operators, who find the details in the logs under it")


class ErrorBody(BaseModel):
    detail: ErrorDetail


def correlation_id() -> str:
    """The request's correlation id (``gateway.request_log``), which its log lines carry."""
    return logs.correlation_id() or uuid.uuid4().hex


def internal_error(status: int = 500) -> tuple[str, JSONResponse]:
    """A bilingual 5xx that says nothing but a correlation id; the caller logs the rest."""
    cid = correlation_id()
    return cid, JSONResponse(status_code=status, headers={"X-Correlation-ID": cid}, content=_body(
        "internal_error" if status == 500 else "upstream_error",
        f"Something went wrong on our side; please retry later. Reference: {cid}",
        f"服务器内部出错,请稍后重试。如需联系运维人员,请提供编号:{cid}",
        correlation_id=cid))


# Chinese for pydantic's error types, so that a schema error reads in both languages like
# every other error here (``{name}`` is filled from the error's ctx).
SCHEMA_ERRORS_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "不接受此字段",
    "json_invalid": "请求内容不是有效的 JSON",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "value_error": "内容不符合要求",
}


def schema_error_zh(error: dict) -> str:
    template = SCHEMA_ERRORS_ZH.get(error.get("type", ""))
    try:
        return template.format(**(error.get("ctx") or {})) if template else "内容不符合要求"
    except (KeyError, IndexError):
        return "内容不符合要求"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _schema(_: Request, exc: RequestValidationError):
        """FastAPI's shape (``detail``: one entry per problem, with ``loc``, ``type`` and
        ``msg``), each entry with ``message_zh`` beside the English ``msg``."""
        return JSONResponse(status_code=422, content={"detail": [
            {**error, "message_zh": schema_error_zh(error)}
            for error in jsonable_encoder(exc.errors())]})

    @app.exception_handler(BrokerUnavailable)
    async def _broker(_: Request, exc: BrokerUnavailable):
        return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content=_body(
            "broker_unavailable", "The message broker did not confirm; nothing was accepted. "
            "Retry with the same Idempotency-Key.", "消息服务暂不可用,本次提交未被受理,请稍后重试。"))

    @app.exception_handler(ServiceUnavailable)
    async def _service(_: Request, exc: ServiceUnavailable):
        log.warning("service unavailable: %s", exc)
        return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content=_body(
            "service_unavailable", "A back-end service is not available; retry shortly.",
            "后台服务暂不可用,请稍后重试。"))

    @app.exception_handler(RpcTimeout)
    async def _timeout(_: Request, exc: RpcTimeout):
        log.warning("rpc timeout: %s", exc)
        return JSONResponse(status_code=504, content=_body(
            "timeout", "A back-end service did not answer in time; retry shortly.",
            "后台服务响应超时,请稍后重试。"))

    @app.exception_handler(RemoteCallError)
    async def _remote(request: Request, exc: RemoteCallError):
        refusal = refusal_from_reply(exc.error)
        if refusal is not None:
            extra = {"field": refusal.field} if refusal.field else {}
            return JSONResponse(status_code=refusal.status, content=_body(
                refusal.code, refusal.message, refusal.message_zh, **extra))
        cid, reply = internal_error(502)
        log.error("upstream error [%s] %s %s: %s: %s", cid, request.method, request.url.path,
                  exc.error.get("exc_path") or exc.exc_type, exc.error.get("value"))
        return reply


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a bilingual 500 that carries
    only a correlation id; the exception is logged, with its traceback, under that id."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - the one place a crash becomes an answer
            cid, reply = internal_error(500)
            log.exception("unhandled error [%s] %s %s", cid, scope.get("method"),
                          scope.get("path"))
            try:
                await reply(scope, receive, send)
            except RuntimeError:  # half an answer went out already: nothing more to say
                raise exc from None
