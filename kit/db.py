"""Engines for the per-service stores: SQLite by default, PostgreSQL in production."""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url


HIDE = True
"""A failed statement's error names the statement, never its values (a reporter's sealed
contact, a clue's text, a secret): that error is logged (kit.logs)."""


def default_url(service: str, data_dir: str | Path) -> str:
    path = Path(data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / (service + '.db')}"


PING_AFTER_IDLE = 1.0
"""Seconds a pooled PostgreSQL connection may rest before its next checkout tests it."""


def make_engine(url: str, *, pool_size: int = 10,
                ping_after_idle: float = PING_AFTER_IDLE, autocommit: bool = False) -> Engine:
    """Build an engine; SQLite gets WAL with synchronous=FULL so a commit survives a power cut.

    ``autocommit`` (PostgreSQL): every statement commits by itself, for work of one
    statement at a time; its connections are never switched back and forth (switching
    costs a ``SET`` round trip each time a connection is returned)."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    # values_plus_batch: a deferred batch of UPDATEs (kit.deferred) goes as pages of
    # statements in one round trip each, as INSERTs already go as multi-row VALUES.
    # LIFO: the connection used last is used next, so the hot ones stay hot and the
    # spares rest (and are tested when they are taken again, see ping_rested).
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                           pool_use_lifo=True, executemany_mode="values_plus_batch",
                           hide_parameters=HIDE, **options)
    ping_rested(engine, ping_after_idle)
    return engine


def ping_rested(engine: Engine, after: float) -> None:
    """Test a pooled connection at checkout when it has rested ``after`` seconds or more;
    a dead one is replaced before anyone uses it (SQLAlchemy's documented checkout-event
    way: raising ``DisconnectionError`` makes the pool reconnect and try again).

    SQLAlchemy's ``pool_pre_ping`` tests every checkout: a round trip in every
    transaction, an eighth of a quiet service's CPU (py-spy, intake at 20 clues/s). A
    connection returned a moment ago is as alive as the ping would say. One that died
    while in use (a server restart under load) fails its statement instead: consumers
    hold their batch and try again (``kit.uow.apply_each``), the relay tries again, and
    SQLAlchemy then drops every connection of the pool older than the failure."""

    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_conn, record):
        record.info["rested_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test_if_rested(dbapi_conn, record, _proxy):
        rested_from = record.info.get("rested_from")  # none yet: connected just now
        if rested_from is None or time.monotonic() - rested_from < after:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)  # what pool_pre_ping runs
        except Exception as error:  # noqa: BLE001 - any failure: this connection is gone
            raise sa_exc.DisconnectionError(f"a rested connection failed its test: {error}") \
                from error


def _sqlite_engine(url: str) -> Engine:
    # The driver's own transaction handling is switched off so that we can BEGIN IMMEDIATE:
    # a writer takes the lock at the start and never dead-locks on a lock upgrade.
    engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30},
                           hide_parameters=HIDE)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def green_postgres() -> None:
    """Let psycopg2 yield to eventlet while it waits on the network."""
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()


def w3c_text(column, hours: int):
    """PostgreSQL: a ``timestamptz`` column as W3C text at a fixed UTC offset (e.g.
    ``2017-06-05T09:30:00+08:00``, seconds, as ``isoformat(timespec="seconds")`` writes it),
    formatted by the server: a page of a thousand rows makes no Python datetimes (a third of
    the gateway's CPU for an Open311 page)."""
    from sqlalchemy import func, literal_column

    sign = "+" if hours >= 0 else "-"
    offset = f"{sign}{abs(hours):02d}:00"
    local = func.timezone(literal_column(f"INTERVAL '{offset}'"), column)
    return func.to_char(local, f'YYYY-MM-DD"T"HH24:MI:SS"{offset}"')
