"""The ledger's checkpoint signing key: ``LEDGER_SIGNING_KEY`` (base64 of a raw 32-byte
Ed25519 private key). In development a key derived from a public phrase stands in; outside
development it must be set (like ``SECRET_KEY`` and ``CONTACT_KEY``)."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.ledger.domain import checkpoint

DEV_KEY_MATERIAL = b"development-only ledger signing key; never used outside development"
GENERATE = ("python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'")


def dev_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEV_KEY_MATERIAL).digest())


def signing_key_from(value: str | None, environment: str) -> Ed25519PrivateKey:
    if environment != "development":
        if not value:
            raise RuntimeError(f"LEDGER_SIGNING_KEY must be set outside development "
                               f"(ENVIRONMENT={environment}); generate one with: {GENERATE}")
        key = checkpoint.private_key_from(value)
        if checkpoint.key_id(key.public_key()) == checkpoint.key_id(dev_key().public_key()):
            raise RuntimeError("LEDGER_SIGNING_KEY is the development key: refused outside "
                               "development")
        return key
    return checkpoint.private_key_from(value) if value else dev_key()


class Signer:
    """Signs the chain's head as a checkpoint (``checkpoint.sign``)."""

    def __init__(self, key: Ed25519PrivateKey):
        self.key = key

    def checkpoint(self, seq: int, head_hash: str) -> dict:
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return checkpoint.sign(self.key, seq, head_hash, at)

    @property
    def public_key(self) -> str:
        return base64.b64encode(checkpoint.public_bytes(self.key.public_key())).decode()
