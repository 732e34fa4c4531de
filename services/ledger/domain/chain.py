"""The tamper-evident history: a hash chain over every change (防止弄虚作假).

Each entry holds the SHA-256 of the entry before it and its own hash: SHA-256 over that
previous hash and its canonical content, so editing, removing or reordering any entry breaks
the chain from there on. Canonical content: JSON with sorted keys, no spaces, UTF-8; stores
keep those exact bytes, so verification hashes without re-encoding.

What the ledger shows as a problem's current state is bound by its history: every entry about
a problem carries, inside its hashed content, the problem's id and ``state``, the SHA-256 of
the problem's row as written by that change (``state_digest``). Verification then checks that
each entry is filed under the problem it was hashed for, and that each problem's row still
hashes to the digest in its latest entry. The content's last keys are ``problem_id``, ``seq``
and ``state`` (sorted keys), so the columns an entry is filed under are checked against the
tail of its hashed bytes (``binding_tail``) without parsing it.

A head published earlier (seq N, hash H, e.g. in the monthly bulletin, or signed as a
checkpoint) proves that today's chain extends it: entry N must still hash to H. Then neither a
truncation below N nor a consistent rewrite of entries up to N passes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from operator import itemgetter
from typing import Iterable, Sequence

GENESIS = "0" * 64
NAMED_AT_MOST = 1000   # misfiled entries and disagreeing problems named in one verdict


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def hash_bytes(prev_hash: str, content_bytes: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + content_bytes).hexdigest()


def entry_hash(prev_hash: str, content: dict) -> str:
    """SHA-256 over the previous hash and this entry's canonical content."""
    return hash_bytes(prev_hash, canonical(content))


def entry_content(*, seq: int, problem_id: str | None, action: str, actor: str, at: datetime,
                  data: dict, state: str | None) -> dict:
    """An entry's hashed content; ``state`` (a problem's row digest) only for a problem."""
    content = {"seq": seq, "problem_id": problem_id, "action": action, "actor": actor,
               "at": at.isoformat(), "data": data}
    if problem_id is not None:
        if state is None:
            raise ValueError("an entry about a problem must bind the problem's state")
        content["state"] = state
    return content


# the state a problem's row shows, bound by its history -----------------------------------
def _text(value) -> str:
    """A column's value as text, the same whether it comes from the domain or back from a
    store: dates ISO, times in UTC with microseconds, JSON as ``json.dumps`` writes it."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).replace(tzinfo=None).isoformat(
            timespec="microseconds") + "+00:00"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def row_text(values: Sequence, columns: Sequence[str]) -> str:
    """What a row's digest is taken over: for each column in name order whose value is not
    null, ``name=<length>:<text>`` and a newline (length in characters)."""
    parts = []
    for column, value in sorted(zip(columns, values), key=itemgetter(0)):
        if value is not None:
            text = _text(value)
            parts.append(f"{column}={len(text)}:{text}\n")
    return "".join(parts)


def state_digest(row: dict, columns: Iterable[str]) -> str:
    """SHA-256 of a problem's row (``row_text`` of its bound columns, nulls left out).

    A null column counts as absent, so a nullable column added later leaves the digests of
    existing rows as they were; a column added with a value must be bound by a migration."""
    columns = tuple(columns)
    get = row.get
    return state_digest_of([get(c) for c in columns], columns)


def state_digest_of(values: Sequence, columns: Sequence[str]) -> str:
    """``state_digest`` of a row given as values in the order of ``columns``."""
    return hashlib.sha256(row_text(values, columns).encode()).hexdigest()


def _json_text(value: str | None) -> str:
    if value is None:
        return "null"
    return f'"{value}"' if value.isalnum() else json.dumps(value, ensure_ascii=False)


def binding_tail(problem_id: str | None, seq: int, state: str | None) -> str:
    """How the canonical content of entry ``seq`` filed under these columns must end."""
    if state is None:
        return f',"problem_id":{_json_text(problem_id)},"seq":{seq}}}'
    return f',"problem_id":{_json_text(problem_id)},"seq":{seq},"state":{_json_text(state)}}}'


# verification --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    seq: int
    prev_hash: str
    hash: str
    content: dict | None = None   # problem_id, action, actor, at, data, state, ...
    raw: bytes | None = None      # the canonical bytes as stored, when read from a store
    filed: tuple[str | None, str | None] | None = None   # (problem_id, state) columns as stored

    def content_bytes(self) -> bytes:
        return self.raw if self.raw is not None else canonical(self.content)


@dataclass(frozen=True)
class Published:
    """A head published earlier: entry ``seq`` had hash ``hash``."""
    seq: int
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head_hash: str
    first_broken_seq: int | None = None   # where the chain breaks
    problem: str | None = None            # why it breaks there
    misfiled: list = field(default_factory=list)   # entries filed under another problem
    misfiled_count: int = 0
    extends_published: bool | None = None          # None when no head was given


def _misfiled(seq: int, content: str, filed_under: str | None,
              filed_state: str | None) -> dict:
    try:
        hashed = json.loads(content)
        hashed_for, hashed_state = hashed.get("problem_id"), hashed.get("state")
    except (ValueError, AttributeError):
        hashed_for, hashed_state = None, None
    what = (f"filed under problem {filed_under} but hashed for {hashed_for} (moved)"
            if filed_under != hashed_for else
            "its state digest column differs from the state it was hashed with (edited)")
    return {"seq": seq, "filed_under": filed_under, "hashed_for": hashed_for,
            "filed_state": filed_state, "hashed_state": hashed_state, "problem": what}


def verify(entries: Iterable[Entry], published: Published | None = None) -> Verdict:
    """Walk the chain in sequence order; name the first entry that does not hold, every
    entry filed under another problem than it was hashed for, and a published head that
    today's chain does not extend."""
    return verify_stored(((e.seq, e.prev_hash, e.hash, e.content_bytes().decode(),
                           *(e.filed or (UNFILED, None))) for e in entries), published)


UNFILED = object()   # an entry not read from a store: no columns to check


def verify_stored(rows: Iterable[tuple], published: Published | None = None) -> Verdict:
    """``verify`` over entries as a store keeps them, read fast: tuples of (seq, prev_hash,
    hash, canonical content as text, problem_id column, state digest column)."""
    prev = GENESIS
    expected_seq = None
    checked = 0
    misfiled, misfiled_count = [], 0
    extends = None
    sha256 = hashlib.sha256
    if published is not None and published.seq == 0:
        if published.hash != GENESIS:
            return Verdict(False, 0, prev, 0, "entry 0 is the genesis, whose hash is all zeros",
                           extends_published=False)
        extends = True
    watch = published.seq if published is not None else None

    def broken(seq, problem):
        return Verdict(False, checked, prev, seq, problem, misfiled, misfiled_count,
                       extends if published is None else False)

    for seq, prev_hash, digest, content, problem_id, state in rows:
        if seq != expected_seq and expected_seq is not None:
            return broken(seq, f"entry {expected_seq} is missing (found {seq})")
        if prev_hash != prev:
            return broken(seq, "its previous-hash does not match the entry before it")
        if sha256(f"{prev_hash}\n{content}".encode()).hexdigest() != digest:
            return broken(seq, "its content does not match its hash (edited)")
        if problem_id is UNFILED:
            filed = True
        elif state is not None and problem_id is not None and problem_id.isalnum() \
                and state.isalnum():   # binding_tail's usual case, inline
            filed = content.endswith(f',"problem_id":"{problem_id}","seq":{seq},'
                                     f'"state":"{state}"}}')
        else:
            filed = content.endswith(binding_tail(problem_id, seq, state))
        if not filed:
            misfiled_count += 1
            if len(misfiled) < NAMED_AT_MOST:
                misfiled.append(_misfiled(seq, content, problem_id, state))
        if seq == watch:
            if digest != published.hash:
                return broken(seq, (
                    f"entry {seq} does not have the published head hash: the history "
                    "up to it was rewritten after publication"))
            extends = True
        prev = digest
        expected_seq = seq + 1
        checked += 1
    if published is not None and not extends:
        last = (expected_seq - 1) if expected_seq is not None else 0
        return Verdict(False, checked, prev, published.seq, (
            f"the published head is entry {published.seq}, but the chain ends at entry {last}: "
            "it was truncated"), misfiled, misfiled_count, False)
    return Verdict(not misfiled_count, checked, prev, None, None, misfiled, misfiled_count,
                   extends)


@dataclass(frozen=True)
class RowsVerdict:
    checked: int
    disagreeing: list          # {"problem_id", "problem"}, at most NAMED_AT_MOST
    disagreeing_count: int


def verify_rows(rows: Iterable[tuple[str, str, str | None]],
                deleted: Iterable[str] = ()) -> RowsVerdict:
    """Does each problem's row still hash to the state its latest history entry binds?
    ``rows``: (problem id, its row's digest as it is now, the state digest its latest entry
    binds: '' when that entry binds none, None when the problem has no entry); ``deleted``:
    problems the history tells of that have no row. Names every problem that disagrees (the
    first NAMED_AT_MOST of them)."""
    named, count, checked = [], 0, 0

    def name(problem_id, problem):
        nonlocal count
        count += 1
        if len(named) < NAMED_AT_MOST:
            named.append({"problem_id": problem_id, "problem": problem})

    for problem_id, digest, bound in rows:
        checked += 1
        if digest == bound:
            continue
        if bound is None:
            name(problem_id, "it has no history (a row added behind the ledger's back)")
        elif not bound:
            name(problem_id, "its latest history entry binds no state")
        else:
            name(problem_id, "its row differs from the state its history binds (edited)")
    for problem_id in deleted:
        name(problem_id, "its history tells of it but its row is gone (deleted)")
    return RowsVerdict(checked, named, count)
