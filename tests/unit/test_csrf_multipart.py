"""The workbench's CSRF check reads a multipart form's token (asgi-csrf's reader replaced,
``gateway.workbench.session``): the token before any file passes, a file first or a wrong
token is refused, and the body reaches the app whole."""
from __future__ import annotations

import asyncio

import httpx
from asgi_csrf import FileBeforeToken, asgi_csrf

from gateway.workbench.session import _multipart_csrftoken


def body_of(data: dict, files: list) -> tuple[bytes, bytes]:
    request = httpx.Request("POST", "http://x/", data=data, files=files)
    return request.read(), request.headers["content-type"].encode()


def chunks(body: bytes, size: int = 7):
    messages = [{"type": "http.request", "body": body[i:i + size], "more_body": True}
                for i in range(0, len(body), size)]
    messages[-1]["more_body"] = False

    async def receive():
        return messages.pop(0)
    return receive


def boundary_of(content_type: bytes) -> bytes:
    return content_type.split(b"; boundary=")[1]


def test_the_token_before_the_files_is_found_and_the_body_replays_whole():
    body, content_type = body_of({"csrftoken": "tok", "note": "x"},
                                 [("file:evidence", ("a.pdf", b"%PDF-1.4 " * 100, "x/y"))])

    async def run():
        token, replay = await _multipart_csrftoken(boundary_of(content_type), chunks(body))
        seen = b""
        while True:
            message = await replay()
            seen += message["body"]
            if not message["more_body"]:
                return token, seen
    token, seen = asyncio.run(run())
    assert token == "tok" and seen == body


def test_a_file_before_the_token_is_refused():
    body, content_type = body_of({}, [("f", ("a.pdf", b"%PDF", "x/y"))])

    async def run():
        return await _multipart_csrftoken(boundary_of(content_type), chunks(body))
    try:
        asyncio.run(run())
    except FileBeforeToken:
        pass
    else:
        raise AssertionError("a file before the token passed")


def test_asgi_csrf_passes_the_right_token_and_refuses_a_wrong_one():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    protected = asgi_csrf(app, signing_secret="s" * 32, cookie_name="c")

    async def post(token: str, cookie: str) -> int:
        body, content_type = body_of({"csrftoken": token},
                                     [("f", ("a.pdf", b"%PDF", "application/pdf"))])
        sent = []

        async def send(event):
            sent.append(event)
        scope = {"type": "http", "method": "POST", "path": "/p", "headers": [
            (b"content-type", content_type), (b"cookie", f"c={cookie}".encode())]}
        await protected(scope, chunks(body), send)
        return sent[0]["status"]
    from itsdangerous.url_safe import URLSafeSerializer

    cookie = URLSafeSerializer("s" * 32).dumps("secret", "csrftoken")
    assert asyncio.run(post(cookie, cookie)) == 200 and reached == ["/p"]
    assert asyncio.run(post("forged", cookie)) == 403 and reached == ["/p"]
