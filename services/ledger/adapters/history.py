"""The hash-chained history in the ledger's store: appending, reading, and the reads that
verification streams (entries in order; each problem's row beside its latest entry's state).
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from kit import deferred
from services.ledger.adapters.orm import chain_head, history, problems
from services.ledger.domain import chain

INSERT_HISTORY = insert(history)
HEAD_FOR_UPDATE = select(chain_head.c.seq, chain_head.c.hash).where(
    chain_head.c.id == 1).with_for_update()
MOVE_HEAD = update(chain_head).where(chain_head.c.id == 1).values(
    seq=bindparam("new_seq"), hash=bindparam("new_hash"))
# A problem's row is bound whole, but for when it was last written.
UNBOUND_COLUMNS = ("updated_at",)
BOUND_COLUMNS = tuple(c.name for c in problems.columns if c.name not in UNBOUND_COLUMNS)
_CHAIN = "ledger.chain_head"


def state_digest(row: dict) -> str:
    """The digest of a problem's row (as written by the repository, or as read back)."""
    return chain.state_digest(row, BOUND_COLUMNS)


def append_history(session: Session, *, problem_id: str | None, action: str, actor: str,
                   at: datetime, data: dict, state: str | None = None) -> int:
    """Append one entry to the hash chain; the head row serializes concurrent writers.
    ``state`` is the digest of the problem's row after this change (``state_digest``).

    The head is locked and read once per transaction and kept in the transaction's scratch;
    the entries and the head's new place are written at the commit (``kit.deferred``), so
    a batch of registrations costs one lock and one multi-row insert."""
    tx = deferred.scratch(session)
    head = tx.get(_CHAIN)
    if head is None:
        row = session.execute(HEAD_FOR_UPDATE).one()
        head = tx[_CHAIN] = [row.seq, row.hash]
    seq, prev_hash = head[0] + 1, head[1]
    raw = chain.canonical(chain.entry_content(seq=seq, problem_id=problem_id, action=action,
                                              actor=actor, at=at, data=data, state=state))
    digest = chain.hash_bytes(prev_hash, raw)
    deferred.defer(session, INSERT_HISTORY, {
        "seq": seq, "problem_id": problem_id, "action": action, "actor": actor, "at": at,
        "content": raw.decode(), "prev_hash": prev_hash, "hash": digest,
        "state_digest": state if problem_id is not None else None})
    head[0], head[1] = seq, digest
    deferred.at_flush(session, _CHAIN, _move_head, ("chain_head", "history"))
    return seq


def _move_head(session: Session) -> None:
    seq, digest = deferred.scratch(session)[_CHAIN]
    session.execute(MOVE_HEAD, {"new_seq": seq, "new_hash": digest})


def timeline(session: Session, problem_id: str) -> list[dict]:
    rows = session.execute(select(history).where(history.c.problem_id == problem_id)
                           .order_by(history.c.seq))
    return [{"seq": r.seq, "hash": r.hash, **json.loads(r.content)} for r in rows]


def head(session: Session) -> dict:
    row = session.execute(select(chain_head).where(chain_head.c.id == 1)).one()
    return {"seq": row.seq, "hash": row.hash}


# verification reads ---------------------------------------------------------------------------
def snapshot(session: Session) -> None:
    """Make the verification's reads one snapshot (PostgreSQL: repeatable read; SQLite's
    transaction already is one), so concurrent appends cannot look like a broken chain."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


CHAIN_COLUMNS = select(history.c.seq, history.c.prev_hash, history.c.hash, history.c.content,
                       history.c.problem_id, history.c.state_digest)


def iter_chain(session: Session, batch: int = 20_000, between_batches=None):
    """Every history entry in order, with the columns it is filed under, read in batches by
    key (no OFFSET).

    ``between_batches`` is called after each batch: the service passes a cooperative yield
    so a long verification never starves the broker's heartbeats."""
    last = 0
    Entry = chain.Entry
    while True:
        if between_batches is not None:
            between_batches()
        rows = session.execute(CHAIN_COLUMNS.where(history.c.seq > last)
                               .order_by(history.c.seq).limit(batch)).all()
        if not rows:
            return
        for seq, prev_hash, digest, content, problem_id, state in rows:
            yield Entry(seq, prev_hash, digest, None, content.encode(), (problem_id, state))
        last = rows[-1][0]


def _latest_state():
    """The state digest of the problem's latest entry: '' if that entry binds none, NULL if
    the problem has no entry at all (one probe of the (problem_id, seq) index)."""
    return (select(func.coalesce(history.c.state_digest, ""))
            .where(history.c.problem_id == problems.c.id)
            .order_by(history.c.seq.desc()).limit(1).correlate(problems).scalar_subquery())


def iter_problem_states(session: Session, batch: int = 5_000, between_batches=None):
    """(id, bound row, its latest entry's state digest: '' when that entry binds none, None
    when the problem has no entry) for every problem, in id order, read in batches by key."""
    columns = [problems.c[name] for name in BOUND_COLUMNS]
    query = select(*columns, _latest_state().label("bound_state"))
    last = None
    while True:
        if between_batches is not None:
            between_batches()
        page = query if last is None else query.where(problems.c.id > last)
        rows = session.execute(page.order_by(problems.c.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            values = row._mapping
            yield values["id"], values, values["bound_state"]
        last = rows[-1].id


def problems_without_rows(session: Session, limit: int) -> list[str]:
    """Problems the history tells of whose row is gone."""
    known = select(problems.c.id).where(problems.c.id == history.c.problem_id).exists()
    return list(session.execute(
        select(history.c.problem_id).where(history.c.problem_id.is_not(None), ~known)
        .group_by(history.c.problem_id).order_by(history.c.problem_id).limit(limit)).scalars())
