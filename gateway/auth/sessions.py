"""Revocable tokens (令牌吊销): every request with a token checks it is still current.

A token carries its account's token version. Signing out or deactivating an account raises
the version, so every token issued before stops working. The check is one indexed read per
account, remembered for ``ttl_seconds`` (2 s): a change made through this process is seen at
once (``forget``), one made through another gateway process within the TTL. Requests without
a token (the public clue route) never come here.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool


@dataclass(frozen=True)
class TokenState:
    active: bool
    version: int


class SessionCheck:
    def __init__(self, read: Callable[[str], TokenState | None], *, ttl_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self._read = read
        self._ttl = ttl_seconds
        self._clock = clock
        self._seen: dict[str, tuple[float, TokenState | None]] = {}

    async def is_current(self, account_id: str, token_version: int) -> bool:
        """True if the account exists, is active and the token's version is its current one."""
        now = self._clock()
        seen = self._seen.get(account_id)
        if seen is None or now - seen[0] >= self._ttl:
            state = await run_in_threadpool(self._read, account_id)
            # Only accounts that signed tokens reach here, so the map stays as small as the
            # account list; entries of deleted accounts are dropped.
            if state is None:
                self._seen.pop(account_id, None)
                return False
            seen = self._seen[account_id] = (now, state)
        state = seen[1]
        return state is not None and state.active and state.version == token_version

    def forget(self, account_id: str) -> None:
        self._seen.pop(account_id, None)
