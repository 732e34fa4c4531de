"""Records of other services in the ledger's hash chain (留痕): the spot-check team's
manifests, seeds and results, the accountability ladder's steps (``ChainRecord``).

The chain is the platform's one tamper-evident record, so a commitment published there (a
manifest's SHA-256 before its seed is rolled; who confirmed a notice, when) is verified by
``GET /api/v1/ledger/verify`` with everything else and cannot be rewritten afterwards. An
entry has ``problem_id`` none, action ``record:<kind>``, and holds the key and the record.

``append`` is idempotent per (kind, key): the caller (the audit service) may retry after a
crash between its own commit and this call; the same record returns the first entry, a
different record under the same key is refused. Who may write each kind is checked here too.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

from contracts.vocabulary import ChainRecord
from kit.errors import Conflict, Forbidden, Invalid
from services.ledger.adapters.orm import utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain.actions import Actor

PREFIX = "record:"
MAX_RECORD_BYTES = 64 * 1024
KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")
WRITERS: dict[ChainRecord, tuple[str, ...]] = {
    ChainRecord.SPOT_CHECK_MANIFEST: ("spot_check", "county_office"),
    ChainRecord.SPOT_CHECK_SEED: ("spot_check", "county_office"),
    ChainRecord.SPOT_CHECK_CLOSED: ("spot_check", "county_office"),
    ChainRecord.ACCOUNTABILITY_STEP: ("county_office",),
}
READERS = ("county_office", "spot_check", "custodian")


def _kind(kind: str) -> ChainRecord:
    try:
        return ChainRecord(kind)
    except ValueError:
        raise Invalid(f"unknown record kind {kind!r}", f"未知的留痕类型“{kind}”",
                      "invalid_input", "kind") from None


def _canonical(record: dict) -> str:
    if not isinstance(record, dict):
        raise Invalid("the record is an object", "留痕内容应为对象", "invalid_input", "record")
    text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if len(text.encode()) > MAX_RECORD_BYTES:
        raise Invalid(f"the record exceeds {MAX_RECORD_BYTES} bytes",
                      f"留痕内容超过 {MAX_RECORD_BYTES} 字节", "too_large", "record")
    return text


def _found(uow: LedgerUnitOfWork, kind: ChainRecord, key: str | None = None) -> list[dict]:
    return [e for e in uow.history.entries(PREFIX + kind.value)
            if key is None or (e.get("data") or {}).get("key") == key]


def _answer(kind: ChainRecord, entry: dict) -> dict:
    data = entry.get("data") or {}
    return {"kind": kind.value, "key": data.get("key"), "record": data.get("record"),
            "seq": entry["seq"], "hash": entry["hash"], "actor": entry.get("actor"),
            "at": entry.get("at")}


def append(uow: LedgerUnitOfWork, *, actor: Actor, kind: str, key: str, record: dict,
           now: datetime | None = None) -> dict:
    chosen = _kind(kind)
    if actor.role not in WRITERS[chosen]:
        raise Forbidden(f"a {actor.role} may not write {chosen.value} records",
                        "无权写入此类留痕记录", "forbidden", "kind")
    if not isinstance(key, str) or not KEY.match(key):
        raise Invalid("the key is 1-200 letters, digits or _.:-", "留痕键应为 1 至 200 个字母、数字或 _.:-",
                      "invalid_input", "key")
    text = _canonical(record)
    with uow:
        uow.history.lock_head()   # one writer at a time: a key is written once
        found = _found(uow, chosen, key)
        if found:
            first = found[-1]
            stored = json.dumps((first.get("data") or {}).get("record"), ensure_ascii=False,
                                sort_keys=True, separators=(",", ":"))
            if stored != text:
                raise Conflict(f"{chosen.value} {key} is recorded already with other content",
                               f"该记录({key})已留痕,内容不同,不能更改", "conflict", "record")
            return _answer(chosen, first)
        seq = uow.history.append(problem_id=None, action=PREFIX + chosen.value,
                                 actor=actor.username, at=now or utcnow(),
                                 data={"key": key, "record": json.loads(text)})
        uow.commit()
    with uow:
        entry = next(e for e in _found(uow, chosen, key) if e["seq"] == seq)
    return _answer(chosen, entry)


def listing(uow: LedgerUnitOfWork, *, actor: Actor, kind: str, key: str | None = None) -> dict:
    chosen = _kind(kind)
    if actor.role not in READERS:
        raise Forbidden("records are for the county office, the spot-check team and the "
                        "custodian", "仅县委办公室、抽查组和保管人可查看留痕记录", "forbidden")
    with uow:
        items = [_answer(chosen, e) for e in _found(uow, chosen, key)]
    return {"items": items, "total": len(items)}
