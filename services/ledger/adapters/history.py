"""The hash-chained history in the ledger's store (SQLAlchemy Core): append, the
timeline of one problem, the whole chain in order, and its head."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from kit import deferred
from services.ledger.adapters.orm import chain_head, history
from services.ledger.domain import chain

INSERT_HISTORY = insert(history)
HEAD_FOR_UPDATE = select(chain_head.c.seq, chain_head.c.hash).where(
    chain_head.c.id == 1).with_for_update()
MOVE_HEAD = update(chain_head).where(chain_head.c.id == 1).values(
    seq=bindparam("new_seq"), hash=bindparam("new_hash"))


def append_history(session: Session, *, problem_id: str | None, action: str, actor: str,
                   at: datetime, data: dict) -> int:
    """Append one entry to the hash chain; the head row serializes concurrent writers.

    The head is locked and read once per transaction and kept in the transaction's scratch;
    the entries and the head's new place are written at the commit (``kit.deferred``), so
    a batch of registrations costs one lock and one multi-row insert."""
    tx = deferred.scratch(session)
    head = tx.get(_CHAIN)
    if head is None:
        row = session.execute(HEAD_FOR_UPDATE).one()
        head = tx[_CHAIN] = [row.seq, row.hash]
    seq, prev_hash = head[0] + 1, head[1]
    content = {"seq": seq, "problem_id": problem_id, "action": action, "actor": actor,
               "at": at.isoformat(), "data": data}
    raw = chain.canonical(content)
    digest = chain.hash_bytes(prev_hash, raw)
    deferred.defer(session, INSERT_HISTORY, {
        "seq": seq, "problem_id": problem_id, "action": action, "actor": actor, "at": at,
        "content": raw.decode(), "prev_hash": prev_hash, "hash": digest})
    head[0], head[1] = seq, digest
    deferred.at_flush(session, _CHAIN, _move_head, ("chain_head", "history"))
    return seq


_CHAIN = "ledger.chain_head"


def _move_head(session: Session) -> None:
    seq, digest = deferred.scratch(session)[_CHAIN]
    session.execute(MOVE_HEAD, {"new_seq": seq, "new_hash": digest})


def timeline(session: Session, problem_id: str) -> list[dict]:
    import json

    rows = session.execute(select(history).where(history.c.problem_id == problem_id)
                           .order_by(history.c.seq))
    return [{"seq": r.seq, "hash": r.hash, **json.loads(r.content)} for r in rows]


def iter_chain(session: Session, batch: int = 20_000, between_batches=None):
    """Every history entry in order, read in batches by key (no OFFSET).

    ``between_batches`` is called after each batch: the service passes a cooperative yield
    so a long verification never starves the broker's heartbeats."""
    last = 0
    while True:
        if between_batches is not None:
            between_batches()
        rows = session.execute(
            select(history.c.seq, history.c.prev_hash, history.c.hash, history.c.content)
            .where(history.c.seq > last).order_by(history.c.seq).limit(batch)).all()
        if not rows:
            return
        for seq, prev_hash, digest, content in rows:
            yield chain.Entry(seq=seq, prev_hash=prev_hash, hash=digest, raw=content.encode())
        last = rows[-1][0]


def head(session: Session) -> dict:
    row = session.execute(select(chain_head).where(chain_head.c.id == 1)).one()
    return {"seq": row.seq, "hash": row.hash}

