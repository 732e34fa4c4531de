"""``Server-Timing`` on the staff pages: how long the gateway took, from the request's
arrival at this middleware (the outermost but one) to the start of its response, the RPCs
to the services included. Browsers show it in their developer tools; ``bench/workbench.py``
reads it to time the pages without the client's own costs. Only ``/workbench`` (the public
and clue paths stay as they are; a staff page's time tells nobody anything they could not
measure themselves)."""
from __future__ import annotations

import time

PREFIX = "/workbench"


class ServerTiming:
    """Pure ASGI: adds ``Server-Timing: app;dur=<ms>`` to responses under ``/workbench``."""

    def __init__(self, app, prefix: str = PREFIX):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers") or [])
                headers.append((b"server-timing", f"app;dur={ms:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)
