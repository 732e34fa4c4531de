"""The gateway's index of stored files (文件索引), in the gateway's own store.

One row per original (its digest, type, size, name as uploaded) with its redacted copy's
digest, and the references that decide who may see it: who uploaded it (``uploader``), the
unit they uploaded it for (``unit``) and each problem it is evidence of (``problem``).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, String, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

metadata = MetaData()

files = Table(
    "files", metadata,
    Column("sha256", String(64), primary_key=True),           # the sealed original
    Column("media_type", String(100), nullable=False),
    Column("kind", String(16), nullable=False),               # image | document | video
    Column("size", BigInteger, nullable=False),
    Column("redacted_sha256", String(64), nullable=False, index=True),
    Column("redacted_size", BigInteger, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

file_refs = Table(
    "file_refs", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("ref_kind", String(16), primary_key=True),         # uploader | unit | problem
    Column("ref", String(128), primary_key=True),
)

UPLOADER, UNIT, PROBLEM = "uploader", "unit", "problem"


@dataclass(frozen=True)
class FileRecord:
    sha256: str
    media_type: str
    kind: str
    size: int
    redacted_sha256: str
    redacted_size: int
    filename: str

    @property
    def sealed(self) -> bool:
        """The original differs from what everyone else sees (原件封存)."""
        return self.sha256 != self.redacted_sha256


class FileIndex:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql"
                        else sqlite.insert)

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def record(self, record: FileRecord, refs: Iterable[tuple[str, str]]) -> None:
        """Remember a file (once per original) and who it belongs to."""
        with self.engine.begin() as conn:
            conn.execute(self._insert(files).values(
                **record.__dict__, created_at=int(time.time())).on_conflict_do_nothing())
            self._refs(conn, [(record.sha256, kind, ref) for kind, ref in refs])

    def link(self, originals: Iterable[str], kind: str, ref: str) -> None:
        with self.engine.begin() as conn:
            self._refs(conn, [(sha, kind, ref) for sha in originals])

    def _refs(self, conn, rows: list[tuple[str, str, str]]) -> None:
        if rows:
            conn.execute(self._insert(file_refs).values(
                [{"sha256": s, "ref_kind": k, "ref": r} for s, k, r in rows]
            ).on_conflict_do_nothing())

    def find(self, sha256: str) -> list[FileRecord]:
        """The files whose original or redacted copy has this digest (one original; a
        redacted copy may be shared: the same photo with other metadata redacts alike)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*[c for c in files.c if c.name != "created_at"]).where(
                or_(files.c.sha256 == sha256, files.c.redacted_sha256 == sha256)
            ).order_by(files.c.sha256 != sha256, files.c.sha256).limit(100)).mappings()
            return [FileRecord(**row) for row in rows]

    def refs(self, original: str) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(file_refs.c.ref_kind, file_refs.c.ref).where(
                    file_refs.c.sha256 == original))]
