"""The error vocabulary: refusals a service answers over RPC, and what the gateway makes of them.

A refusal is a ``RemoteError``: a snake_case ``code``, an English and a fully Chinese
message, and the ``field`` it is about (if any). nameko sends ``exc_type``, ``exc_path`` and
``exc_args`` (message, message_zh, code, field) in its error reply; the gateway turns the
four kinds below into 404/422/409/403 with the one error shape, and nothing else a service
raises ever reaches a caller's answer (``gateway.errors``).

Each ``@rpc`` that may refuse declares ``expected_exceptions=EXPECTED``: nameko then logs
the refusal as expected, which ``kit.logs`` turns into one line without a traceback.
"""
from __future__ import annotations

import re
from typing import ClassVar

CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class RemoteError(Exception):
    """Base of the refusals meant for the caller (每个错误都有中英文说明)."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "refused"

    def __init__(self, message: str, message_zh: str, code: str | None = None,
                 field: str | None = None):
        code = code or self.default_code
        if not CODE.match(code):
            raise ValueError(f"error codes are snake_case: {code!r}")
        # nameko stringifies every argument (None would travel as "None")
        super().__init__(message, message_zh, code, field or "")
        self.message = message
        self.message_zh = message_zh
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message


class NotFound(RemoteError):
    """未找到 (404)."""
    status = 404
    default_code = "not_found"


class Invalid(RemoteError):
    """输入有误 (422)."""
    status = 422
    default_code = "invalid_input"


class Conflict(RemoteError):
    """与当前状态冲突 (409)."""
    status = 409
    default_code = "conflict"


class Forbidden(RemoteError):
    """无权操作 (403)."""
    status = 403
    default_code = "forbidden"


EXPECTED: tuple[type[RemoteError], ...] = (NotFound, Invalid, Conflict, Forbidden)
"""What ``@rpc(expected_exceptions=EXPECTED)`` declares: the refusals a caller may get."""

HTTP_STATUS = {kind.__name__: kind.status for kind in EXPECTED}


def refusal_from_reply(error: dict) -> RemoteError | None:
    """The refusal a nameko error reply carries, or None when the reply is anything else
    (a crash, a foreign exception): its text must not reach a caller."""
    kind = next((k for k in EXPECTED if k.__name__ == error.get("exc_type")), None)
    if kind is None or error.get("exc_path") != f"{kind.__module__}.{kind.__name__}":
        return None
    args = error.get("exc_args")
    if not isinstance(args, list) or len(args) != 4 or not all(isinstance(a, str) for a in args):
        return None
    message, message_zh, code, field = args
    if not message or not message_zh:
        return None
    try:
        return kind(message, message_zh, code, field or None)
    except ValueError:  # a code outside the vocabulary's shape
        return None
