"""The stores a backup copies and a restore fills: a service's database (SQLite or
PostgreSQL, as ``Settings.database_url`` chooses it) and the folders under DATA_DIR.

Snapshots are opened for every database first, back to back, and copied afterwards, so the
copies are of moments milliseconds apart however long the copying takes:

- SQLite: a read transaction on each file (WAL lets writers go on); SQLite's online backup
  API (``sqlite3.Connection.backup``) copies that transaction's snapshot, whole, to a new
  file, which is then switched out of WAL mode so that it is one self-contained file.
- PostgreSQL: a REPEATABLE READ transaction on each database exports its snapshot
  (``pg_export_snapshot``) and ``pg_dump --snapshot`` dumps exactly that (custom format).
  The ledger's chain head is read in the same snapshot, so the manifest's head is the
  dump's. ``pg_dump`` must be at least the server's major version (it refuses otherwise).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

SQLITE, POSTGRESQL, FOLDER = "sqlite", "postgresql", "folder"


class StoreError(RuntimeError):
    """A store could not be copied or filled; the message is bilingual."""


def kind_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in (SQLITE, POSTGRESQL):
        raise StoreError(f"unsupported store {backend} / 不支持的存储类型 {backend}")
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise StoreError(f"{url} is not a SQLite file / 不是 SQLite 文件")
    return Path(database)


# ── PostgreSQL: libpq's view of a SQLAlchemy URL ─────────────────────────────────────────
def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A conninfo URI without the password, and the environment carrying it (PGPASSWORD),
    so that no password shows in a process listing."""
    parsed: URL = make_url(url)
    host = parsed.host or "localhost"
    netloc = (quote(parsed.username, safe="") + "@" if parsed.username else "") + host
    if parsed.port:
        netloc += f":{parsed.port}"
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in parsed.query.items())
    uri = f"postgresql://{netloc}/{quote(parsed.database or '', safe='')}" + \
        (f"?{query}" if query else "")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return uri, env


def _pg_connect(url: str):
    import psycopg2

    uri, env = libpq(url)
    return psycopg2.connect(uri, password=env.get("PGPASSWORD"))


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise StoreError(f"{what} failed / {what} 失败:\n{done.stderr.strip()}")


# ── snapshots ─────────────────────────────────────────────────────────────────────────────
class SqliteSnapshot:
    kind = SQLITE
    suffix = ".db"

    def __init__(self, store: str, url: str):
        path = sqlite_path(url)
        if not path.is_file():
            raise StoreError(f"the {store} store {path} does not exist / {store} 的存储 "
                             f"{path} 不存在")
        self.store = store
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.conn.execute("BEGIN")   # deferred: the snapshot is fixed by the first read
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

    def chain_head(self) -> dict | None:
        row = self.conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        return {"seq": row[0], "hash": row[1]} if row else None

    def write(self, target: Path) -> None:
        copy = sqlite3.connect(target)
        try:
            self.conn.backup(copy)   # the whole file in one step: the open transaction's view
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class PostgresSnapshot:
    kind = POSTGRESQL
    suffix = ".dump"

    def __init__(self, store: str, url: str):
        if shutil.which("pg_dump") is None:
            raise StoreError("pg_dump is not installed / 未安装 pg_dump")
        self.store, self.url = store, url
        self.conn = _pg_connect(url)
        self.conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            self.snapshot = cur.fetchone()[0]

    def chain_head(self) -> dict | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT seq, hash FROM chain_head WHERE id = 1")
            row = cur.fetchone()
        return {"seq": row[0], "hash": row[1]} if row else None

    def write(self, target: Path) -> None:
        uri, env = libpq(self.url)
        try:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={self.snapshot}", f"--file={target}", f"--dbname={uri}"],
                 env, f"pg_dump of {self.store}")
        finally:
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None


def snapshot(store: str, url: str) -> SqliteSnapshot | PostgresSnapshot:
    return SqliteSnapshot(store, url) if kind_of(url) == SQLITE else PostgresSnapshot(store, url)


def copy_folder(source: Path, target: Path, skip: tuple[str, ...] = ("tmp",)) -> list[Path]:
    """Copy every file under ``source`` (but its top-level ``skip`` folders) to ``target``;
    the copies' paths. A blob is written whole and renamed into place, so a copied file is
    whole (``gateway.files.store``); an unfinished upload's partial file holds at least the
    bytes its row's offset claims (``gateway.uploads.store``), and the row was copied first."""
    copied = []
    if not source.is_dir():
        return copied
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or relative.parts[0] in skip:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied.append(destination)
    return copied


# ── restoring ─────────────────────────────────────────────────────────────────────────────
def tables_in(url: str) -> list[str]:
    """The tables a database holds (none: it is empty; a missing one is empty too)."""
    if kind_of(url) == SQLITE:
        path = sqlite_path(url)
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    if not _pg_database_exists(url):
        return []
    conn = _pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname "
                        "NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _pg_database_exists(url: str) -> bool:
    conn = _pg_connect(_admin_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (make_url(url).database,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def _pg_create_database(url: str) -> None:
    conn = _pg_connect(_admin_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            name = make_url(url).database.replace('"', '""')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def restore_database(url: str, copy: Path, *, replace: bool) -> None:
    """Fill the database at ``url`` from ``copy``; ``replace``: it may hold data (dropped)."""
    if kind_of(url) == SQLITE:
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            for extra in ("-wal", "-shm"):
                Path(f"{target}{extra}").unlink(missing_ok=True)
        part = target.with_name(target.name + ".restoring")
        shutil.copyfile(copy, part)
        with open(part, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(part, target)
        return
    if not _pg_database_exists(url):
        _pg_create_database(url)
    uri, env = libpq(url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", *(["--clean", "--if-exists"] if replace else []),
          f"--dbname={uri}", str(copy)], env, "pg_restore")


def folder_files(folder: Path, skip: tuple[str, ...] = ("tmp",)) -> list[str]:
    if not folder.is_dir():
        return []
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).parts[0] not in skip]
