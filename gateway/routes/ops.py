"""Health, readiness and metrics for ops."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.auth.guards import allow
from gateway.auth.roles import Role
from kit.settings import SERVICES

router = APIRouter(tags=["ops 运维"])


@router.get("/healthz", dependencies=[allow(Role.PUBLIC)])
def healthz() -> dict:
    """The gateway process is alive."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[allow(Role.PUBLIC)])
async def readyz(request: Request) -> JSONResponse:
    """The broker and all four services answer."""
    broker = request.app.state.broker

    async def ping(service: str) -> str:
        try:
            await broker.call(service, "health", timeout=3.0)
            return "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return f"down: {type(exc).__name__}"

    checks = {"broker": "ok" if broker.connected else "down"}
    if broker.connected:
        checks.update(zip(SERVICES, await asyncio.gather(*(ping(s) for s in SERVICES))))
    else:
        checks.update({s: "unknown" for s in SERVICES})
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(status_code=200 if ready else 503,
                        content={"status": "ready" if ready else "not ready", "checks": checks})


@router.get("/metrics", dependencies=[allow(Role.OPS)])
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
