"""Password hashing with argon2id (argon2-cffi). Pass a cheaper ``PasswordHasher`` in tests."""
from __future__ import annotations

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
