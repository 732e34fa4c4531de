"""Signed checkpoints (签名的链头): the ledger signs its head with Ed25519, so that a head
published in the monthly bulletin can be checked by anyone, offline, with the ledger's public
key alone, and today's chain can then be verified against it (``chain.Published``).

Signed bytes: ``ledger-checkpoint-v1`` and a newline, then the canonical JSON of
``{"at", "hash", "seq"}``. A key is named by the first 16 hex digits of the SHA-256 of its
raw 32-byte public key.
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.ledger.domain.chain import canonical

TAG = b"ledger-checkpoint-v1\n"


class BadCheckpoint(Exception):
    """The checkpoint is malformed, signed by another key, or its signature does not hold."""


def signed_bytes(seq: int, head_hash: str, at: str) -> bytes:
    return TAG + canonical({"seq": seq, "hash": head_hash, "at": at})


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def public_key_from(text: str) -> Ed25519PublicKey:
    """A public key from its base64 raw 32 bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise BadCheckpoint(f"not an Ed25519 public key (base64 of 32 bytes): {exc}") from None


def private_key_from(text: str) -> Ed25519PrivateKey:
    """A private key from its base64 raw 32 bytes (``LEDGER_SIGNING_KEY``)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise ValueError(f"not an Ed25519 private key (base64 of 32 bytes): {exc}") from None


def sign(key: Ed25519PrivateKey, seq: int, head_hash: str, at: str) -> dict:
    public = key.public_key()
    return {"seq": seq, "hash": head_hash, "at": at, "key_id": key_id(public),
            "public_key": base64.b64encode(public_bytes(public)).decode(),
            "signature": base64.b64encode(key.sign(signed_bytes(seq, head_hash, at))).decode()}


def check(checkpoint: dict, public: Ed25519PublicKey) -> dict:
    """The checkpoint's {seq, hash, at} if ``public`` signed it; else BadCheckpoint."""
    try:
        seq, head_hash, at = int(checkpoint["seq"]), str(checkpoint["hash"]), str(checkpoint["at"])
        signature = base64.b64decode(str(checkpoint["signature"]), validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadCheckpoint(f"malformed checkpoint: {exc!r}") from None
    if checkpoint.get("key_id") not in (None, key_id(public)):
        raise BadCheckpoint(f"signed by key {checkpoint.get('key_id')}, not by {key_id(public)}")
    try:
        public.verify(signature, signed_bytes(seq, head_hash, at))
    except InvalidSignature:
        raise BadCheckpoint("the signature does not hold for this key "
                            "(the checkpoint was altered or signed by another key)") from None
    return {"seq": seq, "hash": head_hash, "at": at}
