"""Alembic migrations per service, run as a start-up step before the service consumes.

Several processes of one service may start at once (``make run`` with worker counts, compose
replicas): each migrates, one at a time, under a lock on the store itself (PostgreSQL's
advisory lock; on SQLite a file lock beside the database), so the second finds the schema
at head and does nothing."""
from __future__ import annotations

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url


def alembic_config(service_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(service_dir: Path, url: str) -> None:
    with one_at_a_time(url, f"migrate:{service_dir.name}"):
        command.upgrade(alembic_config(service_dir, url), "head")


@contextmanager
def one_at_a_time(url: str, name: str):
    """Hold a lock named ``name`` on the store at ``url`` for the block, across processes
    and machines (PostgreSQL) or processes of this machine (SQLite's file)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            yield
            return
        with open(f"{database}.migrate-lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    key = zlib.crc32(name.encode())  # a stable 32-bit key for the advisory lock
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    finally:
        engine.dispose()


def run_env(metadata, service: str) -> None:
    """Body of each service's ``migrations/env.py``; each keeps its own version table."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          version_table=f"alembic_version_{service}")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          version_table=f"alembic_version_{service}",
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
