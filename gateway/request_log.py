"""Each request's correlation id and its one line in the log.

The id is the caller's ``X-Request-ID`` when it is a sane token, else the trace id of a
W3C ``traceparent``, else a new one; it is bound for the request (``kit.logs``), sent
with every RPC and event the request causes, and answered in ``X-Request-ID``. One line
per request (method, path, route, status, milliseconds) once it is answered; probes and
scrapes (``/healthz``, ``/readyz``, ``/metrics``) only when they fail.
"""
from __future__ import annotations

import logging
import re
import time

from kit import logs

log = logging.getLogger("gateway.requests")

REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}$")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id_from(x_request_id: str | None, traceparent: str | None) -> str:
    """The caller's id if it is one we can log and pass on safely, else a new one."""
    if x_request_id and REQUEST_ID.match(x_request_id):
        return x_request_id
    if traceparent:
        found = TRACEPARENT.match(traceparent.strip().lower())
        if found and found.group(1) != "0" * 32 and not traceparent.startswith("ff"):
            return found.group(1)
    return logs.new_correlation_id()


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class RequestLog:
    """Pure ASGI middleware, outermost of ours, so that even a crash's 500 carries the id."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cid = request_id_from(_header(scope, b"x-request-id"), _header(scope, b"traceparent"))
        token = logs.bind(cid)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", cid.encode("latin-1"))

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            if status >= 400 or path not in PROBES:
                route = getattr(scope.get("route"), "path", None)
                log.info("%s %s %s", scope.get("method"), path, status, extra={
                    "status": status, "route": route,
                    "ms": round((time.perf_counter() - started) * 1000, 1)})
            logs.unbind(token)
