"""One shape for every error body: a stable code, an English and a Chinese message."""
from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
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


def install_error_handlers(app: FastAPI) -> None:
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
