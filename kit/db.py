"""Engines for the per-service stores: SQLite by default, PostgreSQL in production."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url


HIDE = True
"""A failed statement's error names the statement, never its values (a reporter's sealed
contact, a clue's text, a secret): that error is logged (kit.logs)."""


def default_url(service: str, data_dir: str | Path) -> str:
    path = Path(data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / (service + '.db')}"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build an engine; SQLite gets WAL with synchronous=FULL so a commit survives a power cut."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # values_plus_batch: a deferred batch of UPDATEs (kit.deferred) goes as pages of
    # statements in one round trip each, as INSERTs already go as multi-row VALUES.
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
                         executemany_mode="values_plus_batch", hide_parameters=HIDE)


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
