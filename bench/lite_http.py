"""A small HTTP/1.1 keep-alive client for load generation.

httpx costs the load generator 2–4 ms of CPU per request, and on a 2-core machine the
client's CPU is taken from the servers under test. This client writes requests by hand
and parses only the status line, Content-Length and body: about a tenth of that.
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError)


class Response:
    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


class LiteClient:
    """``async with LiteClient(base, n) as http: await http.post(url, json=..., headers=...)``"""

    def __init__(self, concurrency: int, timeout: float = 30.0):
        self.concurrency = concurrency
        self.timeout = timeout
        self._idle: asyncio.LifoQueue = asyncio.LifoQueue()
        self._opened = 0

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()

    async def _connection(self, host: str, port: int):
        if self._idle.empty() and self._opened < self.concurrency:
            self._opened += 1
            try:
                return await asyncio.open_connection(host, port)
            except BaseException:
                self._opened -= 1
                raise
        return await self._idle.get()

    async def post(self, url: str, json: dict, headers: dict | None = None) -> Response:
        parts = urlsplit(url)
        payload = _dumps(json)
        head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
                "Content-Type: application/json", f"Content-Length: {len(payload)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        reader, writer = await self._connection(parts.hostname, parts.port or 80)
        try:
            writer.write(request)
            reply = await asyncio.wait_for(_read_response(reader), self.timeout)
        except BaseException:
            writer.close()
            self._opened -= 1
            raise
        self._idle.put_nowait((reader, writer))
        return reply


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return Response(status, await reader.readexactly(length))


def _dumps(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
