"""One shape for every error body: a stable code, an English and a Chinese message."""
from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway.broker import BrokerUnavailable, RemoteCallError, RpcTimeout, ServiceUnavailable
from kit.errors import HTTP_STATUS


def problem(status: int, code: str, message: str, message_zh: str,
            field: str | None = None) -> HTTPException:
    detail = {"code": code, "message": message, "message_zh": message_zh}
    if field:
        detail["field"] = field
    return HTTPException(status_code=status, detail=detail)


def _body(code: str, message: str, message_zh: str) -> dict:
    return {"detail": {"code": code, "message": message, "message_zh": message_zh}}


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
        return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content=_body(
            "service_unavailable", str(exc), "后台服务暂不可用,请稍后重试。"))

    @app.exception_handler(RpcTimeout)
    async def _timeout(_: Request, exc: RpcTimeout):
        return JSONResponse(status_code=504, content=_body(
            "timeout", str(exc), "后台服务响应超时,请稍后重试。"))

    @app.exception_handler(RemoteCallError)
    async def _remote(_: Request, exc: RemoteCallError):
        status = HTTP_STATUS.get(exc.exc_type, 502)
        code = exc.exc_type if status != 502 else "upstream_error"
        return JSONResponse(status_code=status, content=_body(code, exc.value, exc.value_zh))
