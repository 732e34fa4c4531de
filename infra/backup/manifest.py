"""A backup's manifest (备份清单): every file of the backup with its SHA-256, size and the
store it came from, when it was taken, and the ledger's chain head in the ledger's copy.

Pure: the caller reads the files (``digest_file``) and hands the figures in; ``check`` says
what differs, so a restore refuses a tampered or damaged backup before it touches a store.

What the digests prove, and what they do not: a file changed, cut, removed or added after
the backup is named. Someone who rewrites a file *and* the manifest is not caught here; the
ledger's chain is, by ``services.ledger.verify`` against a head published before (README,
"Backup and restore").
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20

STORE_ORDER = ("audit", "notify", "ledger", "intake", "gateway")
"""Stores in the order their snapshots are taken: the clue's path backwards (audit and notify
take the ledger's events, the ledger takes intake's, intake the gateway's). Each snapshot is
consistent in itself; across stores the later one can only hold *more* of the clue's path
than the one it feeds, never less, so what a downstream store lacks is re-driven from the
store upstream of it (``infra.backup.reconcile``)."""
BEFORE_DATABASES = ("uploads",)
"""Folders under DATA_DIR copied before the databases' snapshots: an unfinished resumable
upload's partial file then holds at most the bytes its copied row claims, and a restarted
gateway cuts the row back to what the file holds (``UploadStore.reconciled``)."""
AFTER_DATABASES = ("blobs",)
"""Folders copied after every database: a row refers to a blob only after the blob was
stored (``gateway.files``), so every blob a copied row names is in the copy."""


@dataclass(frozen=True)
class Entry:
    path: str     # relative to the backup folder, '/'-separated
    sha256: str
    size: int
    store: str    # a service's name, or a folder's (blobs, uploads)


@dataclass(frozen=True)
class StoreInfo:
    store: str
    kind: str     # sqlite | postgresql | folder
    path: str     # the file (or folder) in the backup


@dataclass
class Manifest:
    created_at: str                       # ISO 8601, UTC: when the first snapshot was taken
    finished_at: str
    stores: list[StoreInfo]
    files: list[Entry]
    ledger_head: dict | None              # {"seq", "hash"} in the ledger's copy
    format: int = FORMAT
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BadManifest(f"not a format-{FORMAT} backup manifest")
        try:
            return cls(created_at=raw["created_at"], finished_at=raw["finished_at"],
                       stores=[StoreInfo(**s) for s in raw["stores"]],
                       files=[Entry(**f) for f in raw["files"]],
                       ledger_head=raw.get("ledger_head"), notes=list(raw.get("notes", [])))
        except (KeyError, TypeError) as exc:
            raise BadManifest(f"the manifest lacks or mistypes a field: {exc}") from None

    def store(self, name: str) -> StoreInfo | None:
        return next((s for s in self.stores if s.store == name), None)


class BadManifest(ValueError):
    """The manifest cannot be read as one (清单无法读取)."""


@dataclass(frozen=True)
class Finding:
    path: str
    problem: str  # missing | changed | resized | unlisted | unsafe

    def text(self) -> str:
        return {"missing": "listed in the manifest but absent / 清单列出但文件缺失",
                "changed": "its SHA-256 differs from the manifest's / 摘要与清单不符",
                "resized": "its size differs from the manifest's / 大小与清单不符",
                "unlisted": "present but not in the manifest / 文件不在清单中",
                "unsafe": "its path leaves the backup folder / 路径越出备份目录"}[self.problem]


def safe_path(path: str) -> bool:
    """A manifest path stays inside the backup folder (no absolute path, no ``..``)."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts


def check(listed: list[Entry], found: dict[str, tuple[str, int] | None]) -> list[Finding]:
    """What differs between the manifest's entries and the files found: ``found`` maps each
    path (the listed ones and any other file in the backup) to its (sha256, size), or None
    when it is absent. Sizes are compared first: a cut file is named ``resized``."""
    findings: list[Finding] = []
    for entry in listed:
        if not safe_path(entry.path):
            findings.append(Finding(entry.path, "unsafe"))
            continue
        actual = found.get(entry.path)
        if actual is None:
            findings.append(Finding(entry.path, "missing"))
        elif actual[1] != entry.size:
            findings.append(Finding(entry.path, "resized"))
        elif actual[0] != entry.sha256:
            findings.append(Finding(entry.path, "changed"))
    names = {entry.path for entry in listed}
    findings += [Finding(path, "unlisted") for path, actual in sorted(found.items())
                 if path not in names and actual is not None]
    return findings


def digest_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def files_under(folder: Path) -> list[str]:
    """Every file under ``folder`` but the manifest, as '/'-separated relative paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST)


def refusal(findings: list[Finding]) -> str:
    """The bilingual refusal a restore prints before it changes anything."""
    lines = [f"refusing to restore: the backup does not match its manifest "
             f"({len(findings)} file(s)); nothing was changed.",
             f"备份与清单不符({len(findings)} 个文件),拒绝恢复;未做任何改动。"]
    lines += [f"  {f.path}: {f.text()}" for f in findings[:50]]
    if len(findings) > 50:
        lines.append(f"  … and {len(findings) - 50} more / 另有 {len(findings) - 50} 个")
    return "\n".join(lines)
