"""The tamper-evident history: a hash chain over every change (防止弄虚作假).

Each entry holds the SHA-256 of the entry before it and its own hash: SHA-256 over that
previous hash and its canonical content, so editing, removing or reordering any entry breaks
the chain from there on. Canonical content: JSON with sorted keys, no spaces, UTF-8; stores
keep those exact bytes, so verification hashes without re-encoding.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

GENESIS = "0" * 64


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def hash_bytes(prev_hash: str, content_bytes: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + content_bytes).hexdigest()


def entry_hash(prev_hash: str, content: dict) -> str:
    """SHA-256 over the previous hash and this entry's canonical content."""
    return hash_bytes(prev_hash, canonical(content))


@dataclass(frozen=True)
class Entry:
    seq: int
    prev_hash: str
    hash: str
    content: dict | None = None   # problem_id, action, actor, at, data, ...
    raw: bytes | None = None      # the canonical bytes as stored, when read from a store

    def content_bytes(self) -> bytes:
        return self.raw if self.raw is not None else canonical(self.content)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None


def verify(entries: Iterable[Entry]) -> Verdict:
    """Walk the chain in sequence order; name the first entry that does not hold."""
    prev = GENESIS
    expected_seq = None
    checked = 0
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            return Verdict(False, checked, prev, entry.seq,
                           f"entry {expected_seq} is missing (found {entry.seq})")
        if entry.prev_hash != prev:
            return Verdict(False, checked, prev, entry.seq,
                           "its previous-hash does not match the entry before it")
        if hash_bytes(entry.prev_hash, entry.content_bytes()) != entry.hash:
            return Verdict(False, checked, prev, entry.seq,
                           "its content does not match its hash (edited)")
        prev = entry.hash
        expected_seq = entry.seq + 1
        checked += 1
    return Verdict(True, checked, prev)
