"""A backup of real stores (migrated SQLite files, or PostgreSQL databases through pg_dump)
restores into empty ones as it was; a restore refuses, and changes nothing, when the
backup differs from its manifest, when a target holds data, or when a target is of another
kind than the copy."""
from __future__ import annotations

import hashlib
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from infra.backup import operations
from infra.backup.stores import tables_in
from kit.migrate import upgrade
from kit.settings import ROOT, SERVICES, Settings
from tests.support.infra import Databases, postgres_server

STORES = (*SERVICES, "gateway")
BLOB = b"evidence bytes " * 1000
BLOB_SHA = hashlib.sha256(BLOB).hexdigest()


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request):
    return request.param


@pytest.fixture
def new_stores(kind, tmp_path):
    """Makes a set of empty stores (a DATA_DIR, and databases on PostgreSQL) per call."""
    made = []

    def make() -> Settings:
        data_dir = tmp_path / f"data-{len(made)}"
        urls = {}
        if kind == "postgresql":
            urls = {f"{s}_database_url": databases.create(f"k{s[:3]}") for s in STORES}
        made.append(data_dir)
        return Settings(data_dir=data_dir, **urls)

    if kind == "sqlite":
        yield make
        return
    with postgres_server() as server:
        databases = Databases(server)
        try:
            yield make
        finally:
            databases.drop_all()


def run(url: str, sql: str, **params) -> list:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def filled(settings: Settings) -> Settings:
    """Every service migrated, a marker row in every store, a blob and a partial upload."""
    for store in STORES:
        url = settings.database_url(store)
        if store != "gateway":
            upgrade(ROOT / "services" / store, url)
        run(url, "CREATE TABLE marker (store VARCHAR(16))")
        run(url, "INSERT INTO marker VALUES (:s)", s=store)
    blob = settings.data_dir / "blobs" / BLOB_SHA[:2] / BLOB_SHA[2:4] / BLOB_SHA
    blob.parent.mkdir(parents=True)
    blob.write_bytes(BLOB)
    (settings.data_dir / "blobs" / "tmp").mkdir()
    (settings.data_dir / "blobs" / "tmp" / "half.part").write_bytes(b"not yet a blob")
    (settings.data_dir / "uploads").mkdir()
    (settings.data_dir / "uploads" / ("a" * 32)).write_bytes(b"partial upload")
    return settings


@pytest.fixture
def backup(new_stores, tmp_path):
    folder = tmp_path / "backup"
    manifest = operations.create(folder, filled(new_stores()))
    return folder, manifest


def test_a_backup_restores_into_empty_stores_as_it_was(backup, new_stores, kind):
    folder, manifest = backup
    assert {s.store: s.kind for s in manifest.stores} == {
        **{s: kind for s in STORES}, "blobs": "folder", "uploads": "folder"}
    assert manifest.ledger_head["seq"] == 0    # the migrated chain's genesis
    assert not any(f.path.startswith("blobs/tmp") for f in manifest.files)
    target = new_stores()
    operations.restore(folder, target)
    for store in STORES:
        assert run(target.database_url(store), "SELECT store FROM marker") == [(store,)]
    head = run(target.database_url("ledger"), "SELECT seq, hash FROM chain_head")
    assert [tuple(r) for r in head] == [(0, manifest.ledger_head["hash"])]
    assert (target.data_dir / "blobs" / BLOB_SHA[:2] / BLOB_SHA[2:4] / BLOB_SHA
            ).read_bytes() == BLOB
    assert (target.data_dir / "uploads" / ("a" * 32)).read_bytes() == b"partial upload"


def test_a_store_that_is_not_empty_is_refused_unless_replaced(backup, new_stores):
    folder, _ = backup
    target = new_stores()
    operations.restore(folder, target)
    run(target.database_url("intake"), "INSERT INTO marker VALUES ('later')")
    with pytest.raises(operations.Refused, match="目标存储非空") as refused:
        operations.restore(folder, target)
    assert "--replace" in str(refused.value) and "nothing was changed" in str(refused.value)
    assert len(run(target.database_url("intake"), "SELECT * FROM marker")) == 2
    operations.restore(folder, target, replace=True)
    assert run(target.database_url("intake"), "SELECT store FROM marker") == [("intake",)]


@pytest.mark.parametrize("damage", ["a byte of the ledger", "a blob removed", "a file added",
                                    "the manifest's digest"])
def test_a_backup_that_differs_from_its_manifest_is_refused_and_changes_nothing(
        backup, new_stores, damage, tmp_path, kind):
    folder, manifest = backup
    tampered = tmp_path / "tampered"
    shutil.copytree(folder, tampered)
    ledger = tampered / manifest.store("ledger").path
    if damage == "a byte of the ledger":
        data = bytearray(ledger.read_bytes())
        data[len(data) // 2] ^= 0x01
        ledger.write_bytes(bytes(data))
    elif damage == "a blob removed":
        next((tampered / "blobs").rglob(BLOB_SHA)).unlink()
    elif damage == "a file added":
        (tampered / "blobs" / "extra").write_bytes(b"x")
    else:
        text_ = (tampered / "manifest.json").read_text()
        (tampered / "manifest.json").write_text(text_.replace(BLOB_SHA, "0" * 64, 1))
    target = new_stores()
    with pytest.raises(operations.Refused, match="备份与清单不符"):
        operations.restore(tampered, target)
    assert all(tables_in(target.database_url(s)) == [] for s in STORES)
    assert not (target.data_dir / "blobs").exists()


def test_a_copy_is_not_restored_into_a_store_of_another_kind(backup, kind, tmp_path):
    folder, _ = backup
    other = {"sqlite": {"intake_database_url": f"postgresql+psycopg2://postgres@127.0.0.1/"
                                               f"never_{uuid.uuid4().hex[:6]}"},
             "postgresql": {}}[kind]
    target = Settings(data_dir=tmp_path / "other", **other)
    with pytest.raises(operations.Refused, match="类型不符"):
        operations.restore(folder, target)


def test_a_backup_goes_only_to_a_new_folder(backup, new_stores):
    folder, _ = backup
    with pytest.raises(operations.Refused, match="非空"):
        operations.create(folder, new_stores())
