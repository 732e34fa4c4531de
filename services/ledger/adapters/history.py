"""The hash-chained history in the ledger's store: appending, reading, and the reads that
verification streams (entries in order; each problem's row beside its latest entry's state).
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, Integer, Text, bindparam, case, cast, func, insert, literal, or_,
    select, text, update,
)
from sqlalchemy.orm import Session

from kit import deferred
from services.ledger.adapters.orm import chain_head, history, problems
from services.ledger.domain import chain

INSERT_HISTORY = insert(history)
HEAD_FOR_UPDATE = select(chain_head.c.seq, chain_head.c.hash).where(
    chain_head.c.id == 1).with_for_update()
MOVE_HEAD = update(chain_head).where(chain_head.c.id == 1).values(
    seq=bindparam("new_seq"), hash=bindparam("new_hash"))
# A problem's row is bound whole, but for when it was last written (``chain.row_text``).
# JSON columns are bound as the text the store keeps (``json.dumps``, as SQLAlchemy writes
# them), so verification hashes them without parsing them.
UNBOUND_COLUMNS = ("updated_at",)
BOUND_COLUMNS = tuple(sorted(c.name for c in problems.columns
                             if c.name not in UNBOUND_COLUMNS))
JSON_COLUMNS = tuple(c for c in BOUND_COLUMNS if isinstance(problems.c[c].type, JSON))
_CHAIN = "ledger.chain_head"


def state_digest(values: dict) -> str:
    """The digest of a problem's row from the values the repository writes."""
    return chain.state_digest(values, BOUND_COLUMNS)


def append_history(session: Session, *, problem_id: str | None, action: str, actor: str,
                   at: datetime, data: dict, state: str | None = None) -> int:
    """Append one entry to the hash chain; the head row serializes concurrent writers.

    An entry about a problem binds the problem's row after the change: ``state`` is its
    digest (``repository.state_digest``, from the values just written), or, when not
    given, the row is read back from this transaction and digested: append after the row
    is written.

    The head is locked and read once per transaction and kept in the transaction's scratch;
    the entries and the head's new place are written at the commit (``kit.deferred``), so
    a batch of registrations costs one lock and one multi-row insert."""
    if problem_id is not None and state is None:
        state = current_state(session, problem_id)
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


def lock_head(session: Session) -> dict:
    row = session.execute(HEAD_FOR_UPDATE).one()
    return {"seq": row.seq, "hash": row.hash}


def entries(session: Session, action: str) -> list[dict]:
    rows = session.execute(select(history.c.seq, history.c.hash, history.c.content)
                           .where(history.c.problem_id.is_(None), history.c.action == action)
                           .order_by(history.c.seq.desc()))   # ix_history_problem_seq: no scan
    return [{"seq": r.seq, "hash": r.hash, **json.loads(r.content)} for r in rows]


def problems_with(session: Session, actions: tuple[str, ...]) -> list[str]:
    """The problems with an entry of any of ``actions``, the latest entry's first."""
    rows = session.execute(select(history.c.problem_id, func.max(history.c.seq).label("last"))
                           .where(history.c.action.in_(actions),
                                  history.c.problem_id.is_not(None))
                           .group_by(history.c.problem_id).order_by(text("last DESC")))
    return [r.problem_id for r in rows]


# verification reads ---------------------------------------------------------------------------
def snapshot(session: Session) -> None:
    """Make the verification's reads one snapshot (PostgreSQL: repeatable read; SQLite's
    transaction already is one), so concurrent appends cannot look like a broken chain."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


CHAIN = (select(history.c.seq, history.c.prev_hash, history.c.hash, history.c.content,
                history.c.problem_id, history.c.state_digest)
         .where(history.c.seq > bindparam("after")).order_by(history.c.seq))


def _driver_cursor(session: Session, statement, **params):
    """Run a Core statement on the driver's own cursor, in the session's transaction: the
    fastest way to read a million rows of plain columns."""
    compiled = statement.compile(dialect=session.get_bind().dialect)
    args = compiled.construct_params(params)
    if compiled.positional:
        args = tuple(args[name] for name in compiled.positiontup)
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute(str(compiled), args)
    return cursor


def iter_chain(session: Session, batch: int = 20_000, between_batches=None):
    """Every history entry in order as (seq, prev_hash, hash, canonical content, problem_id
    column, state digest column) (``chain.verify_stored``), read in batches by key (no
    OFFSET).

    ``between_batches`` is called after each batch: the service passes a cooperative yield
    so a long verification never starves the broker's heartbeats."""
    last = 0
    while True:
        if between_batches is not None:
            between_batches()
        cursor = _driver_cursor(session, CHAIN.limit(batch), after=last)
        rows = cursor.fetchall()
        cursor.close()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _latest_state():
    """The state digest of the problem's latest entry: '' if that entry binds none, NULL if
    the problem has no entry at all (one probe of the (problem_id, seq) index)."""
    return (select(func.coalesce(history.c.state_digest, ""))
            .where(history.c.problem_id == problems.c.id)
            .order_by(history.c.seq.desc()).limit(1).correlate(problems).scalar_subquery())


def _as_stored(name: str):
    column = problems.c[name]
    if name in JSON_COLUMNS:   # the text kept, JSON null as NULL
        return func.nullif(cast(column, Text), "null").label(name)
    return column


ROWS = select(*[_as_stored(name) for name in BOUND_COLUMNS])


def current_state(session: Session, problem_id: str) -> str:
    """The digest of the problem's row as this transaction sees it."""
    row = session.execute(ROWS.where(problems.c.id == problem_id)).first()
    if row is None:
        raise ValueError(f"no problem {problem_id} to bind in the history")
    return chain.state_digest_of(row, BOUND_COLUMNS)


def _as_text(name: str):
    """SQL for ``chain._text`` of a column on PostgreSQL."""
    column = problems.c[name]
    kind = column.type
    if isinstance(kind, JSON):
        return cast(column, Text)
    if isinstance(kind, Boolean):
        return case((column, literal("true")), else_=literal("false"))
    if isinstance(kind, DateTime):
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    if isinstance(kind, Date):
        return func.to_char(column, "YYYY-MM-DD")
    if isinstance(kind, Integer):
        return cast(column, Text)
    return cast(column, Text)


def _row_digest_sql():
    """``chain.state_digest`` of each row, computed by PostgreSQL (pg_catalog.sha256), so a
    million-entry ledger's rows are checked without shipping them: verification trusts the
    database to hash the bytes it keeps as it trusts it to return them."""
    parts = []
    for name in BOUND_COLUMNS:
        text = _as_text(name)
        absent = problems.c[name].is_(None)
        if name in JSON_COLUMNS:
            absent = or_(absent, cast(problems.c[name], Text) == "null")
        parts.append(case((absent, literal("")), else_=literal(f"{name}=")
                          + cast(func.length(text), Text) + literal(":") + text
                          + literal("\n")))
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + part
    return func.encode(func.sha256(func.convert_to(joined, "UTF8")), "hex")


def _problem_states(dialect: str):
    if dialect == "postgresql":
        return select(problems.c.id, _row_digest_sql(), _latest_state())
    return ROWS.add_columns(_latest_state())


def iter_problem_states(session: Session, batch: int = 5_000, between_batches=None):
    """(id, the digest of its row as it is now, the state digest its latest entry binds:
    '' when that entry binds none, None when the problem has no entry) for every problem,
    in id order, read in batches by key."""
    postgres = session.get_bind().dialect.name == "postgresql"
    query = _problem_states("postgresql" if postgres else "other")
    last = None
    width, at_id = len(BOUND_COLUMNS), BOUND_COLUMNS.index("id")
    while True:
        if between_batches is not None:
            between_batches()
        page = query if last is None else query.where(problems.c.id > last)
        rows = session.execute(page.order_by(problems.c.id).limit(batch)).all()
        if not rows:
            return
        if postgres:
            yield from rows
            last = rows[-1][0]
            continue
        for row in rows:
            yield row[at_id], chain.state_digest_of(row[:width], BOUND_COLUMNS), row[width]
        last = rows[-1][at_id]


def problems_without_rows(session: Session, limit: int) -> list[str]:
    """Problems the history tells of whose row is gone."""
    known = select(problems.c.id).where(problems.c.id == history.c.problem_id).exists()
    return list(session.execute(
        select(history.c.problem_id).where(history.c.problem_id.is_not(None), ~known)
        .group_by(history.c.problem_id).order_by(history.c.problem_id).limit(limit)).scalars())
