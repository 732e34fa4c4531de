"""Request limits: the body size, enforced before the body is read, and rate limits (429
with ``Retry-After``) on sign-in and receipt look-ups, per client and per account."""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, fields

from fastapi import HTTPException
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class BodyTooLarge(Exception):
    pass


# Routes that stream their body to disk under limits of their own (gateway.files).
STREAMED_UPLOADS = frozenset({"/api/v1/files", "/api/v1/receipts/supplement"})
# The workbench's forms that take files (gateway.workbench.attachments): a multipart post
# is read by ``gateway.files.intake.receive_form``, fields and files each under its limit.
STREAMED_FORMS = re.compile(r"^/workbench/(problems/[^/]{1,64}/[a-z_]{1,32}|work-plan)$")


def _streamed_form(scope) -> bool:
    if scope["method"] != "POST" or not STREAMED_FORMS.match(scope["path"]):
        return False
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return content_type.startswith(b"multipart/form-data")


class MaxBodySize:
    def __init__(self, app, max_bytes: int, exempt_prefixes: tuple[str, ...] = (),
                 streamed: frozenset[str] = STREAMED_UPLOADS):
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = exempt_prefixes
        self.streamed = streamed

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes)
                or (scope["path"] in self.streamed and scope["method"] == "POST")
                or _streamed_form(scope)):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(send)

    async def _refuse(self, send):
        body = json.dumps({"detail": {
            "code": "body_too_large",
            "message": f"The request body exceeds {self.max_bytes} bytes.",
            "message_zh": f"请求内容超过 {self.max_bytes} 字节上限。",
        }}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# --- rate limits (限流) -----------------------------------------------------------------------

@dataclass(frozen=True)
class ThrottlePolicy:
    """Budgets in the ``limits`` library's notation ("20/minute", "10 per 15 minutes")."""

    login_per_client: str = "20/minute"       # sign-in attempts from one client address
    login_per_account: str = "10/minute"      # sign-in attempts naming one username
    lockout_after: str = "10/15 minutes"      # wrong passwords for one username, then locked
    receipts_per_client: str = "60/minute"    # receipt look-ups and disputes from one client


class Throttle:
    """Per-client and per-account budgets, counted in moving windows in this process's memory
    (the ``limits`` library). Every key expires with its window, so memory stays bounded by
    the traffic of the last window; a lockout ends when its oldest failure leaves the window.
    """

    def __init__(self, policy: ThrottlePolicy = ThrottlePolicy()):
        self._window = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[str, RateLimitItem] = {
            f.name: parse(getattr(policy, f.name)) for f in fields(ThrottlePolicy)}

    def spend(self, budget: str, key: str) -> int | None:
        """Count one request against ``budget`` for ``key``; the seconds to wait when over."""
        item = self._items[budget]
        if self._window.hit(item, budget, key):
            return None
        return self._retry_after(item, budget, key)

    def locked_for(self, account: str) -> int | None:
        """Seconds until this account may try a password again, or None if it may now."""
        item = self._items["lockout_after"]
        if self._window.test(item, "lockout", account):
            return None
        return self._retry_after(item, "lockout", account)

    def wrong_password(self, account: str) -> None:
        self._window.hit(self._items["lockout_after"], "lockout", account)

    def signed_in(self, account: str) -> None:
        self._window.clear(self._items["lockout_after"], "lockout", account)

    def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        reset = self._window.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset - time.time()))


def too_many_body(retry_after: int, code: str = "too_many_requests") -> dict:
    if code == "account_locked":
        return {"detail": {
            "code": code,
            "message": f"Too many wrong passwords for this account; try again in {retry_after} s.",
            "message_zh": f"该账号密码错误次数过多，已暂时锁定，请 {retry_after} 秒后再试。"}}
    return {"detail": {
        "code": code, "message": f"Too many requests; try again in {retry_after} s.",
        "message_zh": f"请求过于频繁，请 {retry_after} 秒后再试。"}}


def too_many(retry_after: int, code: str = "too_many_requests") -> HTTPException:
    """A bilingual 429 with ``Retry-After``."""
    return HTTPException(429, too_many_body(retry_after, code)["detail"],
                         headers={"Retry-After": str(retry_after)})


def throttle_of(app) -> Throttle:
    """The app's throttle (``app.state.throttle``); a default one if the app set none."""
    throttle = getattr(app.state, "throttle", None)
    if throttle is None:
        throttle = app.state.throttle = Throttle()
    return throttle


def client_key(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class ThrottleByPath:
    """Spend a per-client budget on requests whose path starts with a given prefix (receipt
    look-ups: ``/api/v1/receipt`` covers ``/api/v1/receipts/…`` too). Any other path, the
    public clue route among them, passes after one ``startswith``."""

    def __init__(self, app, throttle: Throttle, budgets: dict[str, str]):
        self.app = app
        self.throttle = throttle
        self.budgets = budgets
        self.prefixes = tuple(budgets)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            budget = next(b for p, b in self.budgets.items() if scope["path"].startswith(p))
            retry_after = self.throttle.spend(budget, client_key(scope))
            if retry_after is not None:
                body = json.dumps(too_many_body(retry_after), ensure_ascii=False).encode()
                await send({"type": "http.response.start", "status": 429, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
