"""``python -m infra.backup create DIR | verify DIR | restore DIR [--replace] |
reconcile [--receipts FILE] [--redrive URL [--answers FILE]]``

Reads the stores' settings as the services do (DATA_DIR, ``*_DATABASE_URL``, BLOB_STORE).
Prints JSON; exit 0 on success, 1 when refused (the message bilingual, nothing changed),
2 for bad arguments.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.backup import operations, reconcile
from infra.backup.stores import StoreError


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.backup",
                                     description="Back up and restore every store.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="write a backup of every store to a new folder")
    create.add_argument("backup", type=Path)
    verify = commands.add_parser("verify", help="check a backup's files against its manifest")
    verify.add_argument("backup", type=Path)
    restore = commands.add_parser("restore", help="verify a backup, then fill empty stores")
    restore.add_argument("backup", type=Path)
    restore.add_argument("--replace", action="store_true",
                         help="overwrite stores that are not empty")
    rec = commands.add_parser("reconcile", help="re-drive what the restored stores lack")
    rec.add_argument("--receipts", type=Path,
                     help="the client's accepted clues, a JSON line each")
    rec.add_argument("--redrive", metavar="URL",
                     help="the gateway to submit missing clues to again")
    rec.add_argument("--token", help="a bearer token to submit them with (staff clues)")
    rec.add_argument("--answers", type=Path,
                     help="write the re-driven clues' new receipt codes here (owner-only)")
    args = parser.parse_args(argv)
    if args.command == "reconcile" and args.redrive and not args.receipts:
        parser.error("--redrive needs --receipts")
    if args.command == "reconcile" and args.answers and not args.redrive:
        parser.error("--answers needs --redrive")
    return args


def summary(manifest) -> dict:
    return {"created_at": manifest.created_at, "finished_at": manifest.finished_at,
            "ledger_head": manifest.ledger_head, "files": len(manifest.files),
            "bytes": sum(f.size for f in manifest.files),
            "stores": {s.store: s.kind for s in manifest.stores}, "notes": manifest.notes}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        if args.command == "create":
            result = {"ok": True, **summary(operations.create(args.backup))}
        elif args.command == "verify":
            result = {"ok": True, **summary(operations.verify(args.backup))}
        elif args.command == "restore":
            result = {"ok": True, **summary(operations.restore(args.backup,
                                                               replace=args.replace))}
        else:
            from kit.settings import Settings

            result = {"ok": True, **reconcile.reconcile(
                Settings(), args.receipts, args.redrive, args.token, args.answers).to_dict()}
    except (operations.Refused, StoreError) as exc:
        print(str(exc), file=sys.stderr)
        print(json.dumps({"ok": False, "problem": str(exc)}, ensure_ascii=False, indent=2))
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
