"""Create, verify and restore a backup of every store (``python -m infra.backup``).

A backup is a folder: ``<store>.db`` (SQLite) or ``<store>.dump`` (pg_dump's custom format)
per service and the gateway, ``blobs/`` and ``uploads/`` as under DATA_DIR, and
``manifest.json`` (``infra.backup.manifest``). The stores are those the services would use:
``Settings.database_url`` (``*_DATABASE_URL``, else SQLite files under DATA_DIR).
"""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from infra.backup import stores
from infra.backup.manifest import (
    AFTER_DATABASES, BEFORE_DATABASES, MANIFEST, STORE_ORDER, Entry, Manifest, StoreInfo, check, digest_file, files_under,
    refusal,
)
from kit.settings import Settings


class Refused(RuntimeError):
    """A bilingual refusal: nothing was changed."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def create(target: Path, settings: Settings | None = None) -> Manifest:
    """Copy every store into the new folder ``target`` and write its manifest."""
    settings = settings or Settings()
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise Refused(f"{target} is not empty; a backup goes to a new folder / "
                      f"{target} 非空,备份须写入新目录")
    made_here = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        return _create(target, settings)
    except BaseException:
        # a backup without its manifest is none (restore refuses it); leave no half of one
        if made_here:
            shutil.rmtree(target, ignore_errors=True)
        raise


def _create(target: Path, settings: Settings) -> Manifest:
    created_at = _now()
    data_dir = Path(settings.data_dir)
    infos, files, notes = [], [], []
    for folder in BEFORE_DATABASES:
        _copy_folder(data_dir, target, folder, infos, files, notes)
    snapshots = []
    try:
        for store in STORE_ORDER:  # every snapshot opened before any is copied
            snapshots.append(stores.snapshot(store, settings.database_url(store)))
    except Exception:
        for opened in snapshots:
            opened.close()
        raise
    ledger_head = snapshots[STORE_ORDER.index("ledger")].chain_head()
    for snap in snapshots:
        path = target / f"{snap.store}{snap.suffix}"
        snap.write(path)
        infos.append(StoreInfo(snap.store, snap.kind, path.name))
        files.append(_entry(target, path, snap.store))
    for folder in AFTER_DATABASES:
        if folder == "blobs" and settings.blob_store != "folder":
            notes.append(f"BLOB_STORE={settings.blob_store}: the blobs are not in this "
                         "backup; back up the bucket with its own tools")
            continue
        _copy_folder(data_dir, target, folder, infos, files, notes)
    manifest = Manifest(created_at=created_at, finished_at=_now(), stores=infos, files=files,
                        ledger_head=ledger_head, notes=notes)
    _write_durably(target / MANIFEST, manifest.to_json())
    return manifest


def _copy_folder(data_dir: Path, target: Path, folder: str, infos: list, files: list,
                 notes: list) -> None:
    infos.append(StoreInfo(folder, stores.FOLDER, folder))
    for copy in stores.copy_folder(data_dir / folder, target / folder):
        entry = _entry(target, copy, folder)
        if folder == "blobs" and copy.name != entry.sha256:
            notes.append(f"blob {copy.name} does not match its name on disk (damaged before "
                         "the backup)")
        files.append(entry)


def _entry(root: Path, path: Path, store: str) -> Entry:
    sha256, size = digest_file(path)
    return Entry(path.relative_to(root).as_posix(), sha256, size, store)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def load(backup: Path) -> Manifest:
    path = Path(backup) / MANIFEST
    if not path.is_file():
        raise Refused(f"{path} is missing: not a backup / 缺少 {path},不是备份目录")
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise Refused(f"{path}: {exc} / 清单无法读取") from None


def verify(backup: Path) -> Manifest:
    """The manifest, once every file's size and SHA-256 match it; ``Refused`` otherwise."""
    backup = Path(backup)
    manifest = load(backup)
    found: dict[str, tuple[str, int] | None] = {}
    for entry in manifest.files:
        path = backup / entry.path
        found[entry.path] = digest_file(path) if path.is_file() else None
    for extra in files_under(backup):
        if extra not in found:
            found[extra] = digest_file(backup / extra)
    findings = check(manifest.files, found)
    if findings:
        raise Refused(refusal(findings))
    return manifest


def restore(backup: Path, settings: Settings | None = None, *, replace: bool = False) -> Manifest:
    """Verify the backup, check every target store is empty (or ``replace``), then fill
    them. Every check runs before the first store is touched."""
    settings = settings or Settings()
    backup = Path(backup)
    manifest = verify(backup)
    plan = _plan(manifest, settings)
    if not replace:
        full = [f"  {name}: {what}" for name, what in plan.occupied]
        if full:
            raise Refused("refusing to restore into stores that are not empty (give --replace "
                          "to overwrite them); nothing was changed.\n"
                          "目标存储非空,拒绝恢复(如确需覆盖请加 --replace);未做任何改动。\n"
                          + "\n".join(full))
    for info, url in plan.databases:
        stores.restore_database(url, backup / info.path, replace=replace)
    data_dir = Path(settings.data_dir)
    for info in plan.folders:
        for entry in (e for e in manifest.files if e.store == info.store):
            relative = Path(entry.path).relative_to(info.path)
            destination = data_dir / info.store / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            part = destination.with_name(destination.name + ".restoring")
            shutil.copyfile(backup / entry.path, part)
            os.replace(part, destination)
    return manifest


class _Plan:
    def __init__(self):
        self.databases: list[tuple[StoreInfo, str]] = []
        self.folders: list[StoreInfo] = []
        self.occupied: list[tuple[str, str]] = []


def _plan(manifest: Manifest, settings: Settings) -> _Plan:
    plan = _Plan()
    for name in STORE_ORDER:
        info = manifest.store(name)
        if info is None:
            raise Refused(f"the backup has no {name} store / 备份中缺少 {name} 的存储")
        url = settings.database_url(name)
        if stores.kind_of(url) != info.kind:
            raise Refused(f"the backup's {name} store is {info.kind} but the target is "
                          f"{stores.kind_of(url)} / 备份中 {name} 为 {info.kind},目标为 "
                          f"{stores.kind_of(url)},类型不符")
        tables = stores.tables_in(url)
        if tables:
            plan.occupied.append((name, f"{len(tables)} table(s), e.g. {tables[0]}"))
        plan.databases.append((info, url))
    for info in manifest.stores:
        if info.kind != stores.FOLDER:
            continue
        present = stores.folder_files(Path(settings.data_dir) / info.store)
        if present:
            plan.occupied.append((info.store, f"{len(present)} file(s)"))
        plan.folders.append(info)
    return plan
