"""Password hashing with argon2id (argon2-cffi). Pass a cheaper ``PasswordHasher`` in tests."""
from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's default is the RFC 9106 "low memory" profile (argon2id, 64 MiB, t=3).
DEFAULT_HASHER = PasswordHasher()


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str, password: str,
                    hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True if ``password`` matches; False on mismatch or an unreadable hash."""
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True if the hash was made with other parameters than ``hasher``'s."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


class HashingBusy(Exception):
    """No hashing slot came free in time: answer 503 with Retry-After."""


class HashingSlots:
    """Bound concurrent password hashing (argon2id takes 64 MiB and most of a core for a tenth
    of a second each): at most ``slots`` at once, one per core by default; the rest wait up to
    ``wait_seconds`` in a queue of at most ``max_waiting``, else ``HashingBusy``."""

    def __init__(self, slots: int | None = None, *, wait_seconds: float = 10.0,
                 max_waiting: int = 64):
        self.slots = slots or os.cpu_count() or 1
        self._free = asyncio.Semaphore(self.slots)
        self._wait_seconds = wait_seconds
        self._max_waiting = max_waiting
        self._waiting = 0

    @asynccontextmanager
    async def slot(self):
        if self._waiting >= self._max_waiting:
            raise HashingBusy()
        self._waiting += 1
        try:
            await asyncio.wait_for(self._free.acquire(), self._wait_seconds)
        except TimeoutError:
            raise HashingBusy() from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._free.release()
