"""Write-behind for one transaction: writes that need no answer wait until the commit and
go to the database as one statement per kind (a multi-row INSERT, a batch of UPDATEs).

A consumer applies a batch of messages in one transaction. Written one by one, each
message costs several round trips (inbox row, effect, outbox row, counters); deferred,
the batch costs one per kind of write. On PostgreSQL that is most of a consumer's time.

Rules that keep this invisible to the code using it:

- Deferred writes run in the order their statements were first deferred, each statement's
  rows together. Deferring a statement whose table has meanwhile received rows from a
  later-deferred statement first flushes what is pending, so a write never overtakes one
  it could depend on.
- Any other statement that touches a table with pending writes (a SELECT reading back,
  an immediate UPDATE) first flushes the writes on that table (and on the tables it
  references by foreign key): a transaction always reads its own writes, and the
  other tables' rows keep waiting for the commit.
- ``accumulate`` sums deltas per key (counters), so a batch bumping one counter 64 times
  writes it once; ``gather`` collects keys for one ``UPDATE ... WHERE key IN (...)``.
- ``at_flush`` hooks run after the rows (e.g. moving a hash chain's head once).
- Committing the session flushes first; a rollback drops what is pending.
  Transaction-scoped caches live in ``scratch(session)``.
- Not for use inside a SAVEPOINT (``begin_nested``): rolling one back would not drop the
  rows deferred inside it. Nothing here uses savepoints.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import find_tables

_KEY = "kit.deferred"


class _Pending:
    __slots__ = ("groups", "tables", "hooks", "scratch", "flushing")

    def __init__(self):
        self.groups: dict = {}      # statement -> [params], {key: params} summed, or _Gathered
        self.tables: dict = {}      # table name -> statements deferred on it, in order
        self.hooks: dict = {}       # name -> (fn, table names)
        self.scratch: dict = {}
        self.flushing = False

    def empty(self) -> bool:
        return not self.groups and not self.hooks


def _pending(session: Session) -> _Pending:
    pending = session.info.get(_KEY)
    if pending is None:
        pending = session.info[_KEY] = _Pending()
    return pending


def scratch(session: Session) -> dict:
    """A dict living as long as the session's current transaction (caches such as a
    locked row's value)."""
    return _pending(session).scratch


def _add(session: Session, statement, store) -> None:
    pending = _pending(session)
    table = statement.table.name
    others = [s for s in pending.tables.get(table, ()) if s is not statement]
    if others and statement in pending.groups:  # only then can a write overtake another
        order = list(pending.groups)
        mine = order.index(statement)
        if any(order.index(s) > mine for s in others):
            flush(session)
            pending = _pending(session)
    if statement not in pending.groups:
        pending.tables.setdefault(table, []).append(statement)
    store(pending)


def defer(session: Session, statement, params: dict) -> None:
    """Run ``statement`` (an INSERT or UPDATE with bound parameters) with ``params`` at
    the next flush, together with the other rows deferred on the same statement object
    (so build statements once, at import, as the adapters do)."""
    _add(session, statement, lambda p: p.groups.setdefault(statement, []).append(params))


def accumulate(session: Session, statement, key: dict, field: str, delta: int) -> None:
    """Add ``delta`` to ``field`` of the row ``key`` at the next flush; ``statement`` is an
    upsert taking ``key`` and ``field`` (one row per key per flush)."""
    def store(pending):
        rows = pending.groups.setdefault(statement, {})
        ident = tuple(key.items())
        row = rows.get(ident)
        if row is None:
            rows[ident] = {**key, field: delta}
        else:
            row[field] += delta
    _add(session, statement, store)


class _Gathered(dict):
    """Rows of a gathering statement: one execution per distinct set of fixed values."""


def gather(session: Session, statement, fixed: dict, list_name: str, value,
           first: dict | None = None) -> None:
    """Add ``value`` to the list parameter ``list_name`` (an expanding ``IN``) of
    ``statement``, run once per distinct ``fixed`` values at the next flush: a batch's
    ``UPDATE ... WHERE id IN (...)`` in one statement. ``first`` gives parameters taken
    from the first call of a group (a timestamp, say)."""
    def store(pending):
        rows = pending.groups.setdefault(statement, _Gathered())
        ident = tuple(fixed.items())
        row = rows.get(ident)
        if row is None:
            rows[ident] = {**(first or {}), **fixed, list_name: [value]}
        else:
            row[list_name].append(value)
    _add(session, statement, store)


def at_flush(session: Session, name: str, fn, tables: tuple[str, ...]) -> None:
    """Call ``fn(session)`` at the next flush (once per name); statements touching
    ``tables`` flush first."""
    pending = _pending(session)
    pending.hooks[name] = (fn, tables)


def _with_parents(names: set[str], statements) -> set[str]:
    """The tables named, and every table they reference by foreign key (rows a written
    row may point to are written first)."""
    tables = {s.table.name: s.table for s in statements}
    todo, done = list(names), set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        table = tables.get(name)
        for fk in (table.foreign_keys if table is not None else ()):
            todo.append(fk.column.table.name)
    return done


def flush(session: Session, only: set[str] | None = None) -> None:
    """Write what is pending now (still inside the transaction): everything, or only the
    writes on the tables ``only`` names (and on the tables they reference)."""
    pending = session.info.get(_KEY)
    if pending is None or pending.empty() or pending.flushing:
        return
    if only is None:
        groups, hooks = pending.groups, pending.hooks
        pending.groups, pending.tables, pending.hooks = {}, {}, {}
    else:
        wanted = _with_parents(set(only), pending.groups)
        groups = {st: rows for st, rows in pending.groups.items() if st.table.name in wanted}
        hooks = {name: hook for name, hook in pending.hooks.items() if set(hook[1]) & wanted}
        pending.groups = {st: rows for st, rows in pending.groups.items() if st not in groups}
        pending.tables = {name: sts for name, sts in pending.tables.items()
                          if name not in wanted}
        pending.hooks = {name: hook for name, hook in pending.hooks.items()
                         if name not in hooks}
    pending.flushing = True
    try:
        for statement, rows in groups.items():
            if isinstance(rows, _Gathered):  # expanding IN lists cannot go as executemany
                for params in rows.values():
                    session.execute(statement, params)
                continue
            params = list(rows.values()) if isinstance(rows, dict) else rows
            if params:
                session.execute(statement, params)
        for fn, _tables in hooks.values():
            fn(session)
    finally:
        pending.flushing = False


def _touched(pending: _Pending) -> set[str]:
    names = set(pending.tables)
    for _fn, tables in pending.hooks.values():
        names.update(tables)
    return names


@event.listens_for(Session, "do_orm_execute")
def _read_your_writes(state) -> None:
    pending = state.session.info.get(_KEY)
    if pending is None or pending.flushing or pending.empty():
        return
    touched = _touched(pending)
    statement = state.statement
    table = getattr(statement, "table", None)
    names = {table.name} if table is not None and hasattr(table, "name") else {
        t.name for t in find_tables(statement, include_crud=True) if hasattr(t, "name")}
    if not names:  # a statement we cannot see into (text) flushes everything
        flush(state.session)
    elif names & touched:  # only the writes it could read back (a batch's others wait)
        flush(state.session, names & touched)


@event.listens_for(Session, "before_commit")
def _flush_before_commit(session: Session) -> None:
    flush(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
