"""The CSRF token of a multipart form (a file upload), found as asgi-csrf means to find it.

asgi-csrf 0.11 reads a multipart body with ``python_multipart.FormParser(..., FileClass=...)``,
an argument python-multipart 0.0.34 no longer takes: every multipart post to the workbench
failed with a 500 before reaching its page. ``find_token`` does the same job with
python-multipart's streaming ``MultipartParser``: it reads the body only up to the
``csrftoken`` field (which the forms put first), refuses a file part that comes before it
(``FileBeforeToken``), and keeps what it read so the page gets the whole body again.
``install()`` puts it in asgi-csrf's place.
"""
from __future__ import annotations

import asgi_csrf
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD = b"csrftoken"
MAX_TOKEN_BYTES = 1024


async def find_token(boundary, receive):
    """(the csrftoken field's value or None, a receive that replays what was read)."""
    messages: list[dict] = []
    part: dict = {}

    async def replay_receive():
        return messages.pop(0) if messages else await receive()

    def on_part_begin():
        part.clear()
        part.update(headers={}, name=b"", value=b"", field=b"")

    def on_header_field(data, start, end):
        part["field"] += data[start:end]

    def on_header_value(data, start, end):
        key = part["field"].lower()
        part["headers"][key] = part["headers"].get(key, b"") + data[start:end]

    def on_header_end():
        part["field"] = b""

    def on_headers_finished():
        _, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if b"filename" in options:
            raise asgi_csrf.FileBeforeToken
        part["name"] = options.get(b"name", b"")

    def on_part_data(data, start, end):
        if part["name"] == FIELD:
            part["value"] += data[start:end]
            if len(part["value"]) > MAX_TOKEN_BYTES:
                raise asgi_csrf.TokenFound("")

    def on_part_end():
        if part["name"] == FIELD:
            raise asgi_csrf.TokenFound(part["value"].decode("utf-8", "replace"))

    if isinstance(boundary, bytes):
        boundary = boundary.strip(b'"')
    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end})
    more_body = True
    try:
        while more_body:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            parser.write(message.get("body", b""))
            more_body = message.get("more_body", False)
    except asgi_csrf.TokenFound as found:
        return found.args[0], replay_receive
    except asgi_csrf.FileBeforeToken:
        raise
    except Exception:  # noqa: BLE001 - a malformed body carries no token
        return None, replay_receive
    return None, replay_receive


WRITTEN_FOR = "0.11"  # asgi-csrf's version whose private ``_parse_multipart_form_data`` this replaces


def install() -> None:
    """Use ``find_token`` for asgi-csrf's multipart check (idempotent). Guarded by the
    version it was written for: a new asgi-csrf may have fixed its parser or renamed the
    function, so it must be looked at again rather than patched blindly."""
    from importlib.metadata import version

    if version("asgi-csrf") != WRITTEN_FOR or not hasattr(asgi_csrf, "_parse_multipart_form_data"):
        raise RuntimeError(f"gateway.workbench.csrf_multipart was written for asgi-csrf "
                           f"{WRITTEN_FOR}; check whether asgi-csrf {version('asgi-csrf')} "
                           "still needs it")
    asgi_csrf._parse_multipart_form_data = find_token
