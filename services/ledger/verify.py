"""``python -m services.ledger.verify``: verify the ledger's whole history chain, each entry
filed under the problem it was hashed for, and each problem's row against the state its
history binds.

    python -m services.ledger.verify                         # the chain as it is today
    python -m services.ledger.verify --seq N --head H        # ... and that it extends a head
                                                             #     published earlier
    python -m services.ledger.verify --checkpoint FILE --public-key KEY [--offline]

A checkpoint is what ``GET /api/v1/ledger/head`` answers, saved to a file; KEY is the
ledger's public key (base64, or a file holding it). ``--offline`` checks only the
checkpoint's signature, without the store; otherwise the store is verified against it.

Exit 0 when everything holds, 1 naming what does not, 2 for bad arguments. Reads
LEDGER_DATABASE_URL (or the SQLite file under DATA_DIR) like the service does.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

HEX64 = re.compile(r"[0-9a-f]{64}")


def _hash(text: str) -> str:
    if not HEX64.fullmatch(text):
        raise argparse.ArgumentTypeError("a head hash is 64 lowercase hex digits")
    return text


def _seq(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise argparse.ArgumentTypeError("a sequence number is a whole number ≥ 0")
    return int(text)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.ledger.verify",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seq", type=_seq, help="the sequence number of a published head")
    parser.add_argument("--head", type=_hash, help="the published head's hash")
    parser.add_argument("--checkpoint", type=Path, help="a signed checkpoint (JSON file)")
    parser.add_argument("--public-key", help="the ledger's public key: base64, or a file")
    parser.add_argument("--offline", action="store_true",
                        help="check only the checkpoint's signature, not the store")
    args = parser.parse_args(argv)
    if (args.seq is None) != (args.head is None):
        parser.error("--seq and --head go together")
    if args.checkpoint is not None and args.seq is not None:
        parser.error("give either --checkpoint or --seq/--head")
    if (args.checkpoint is None) != (args.public_key is None):
        parser.error("--checkpoint and --public-key go together")
    if args.offline and args.checkpoint is None:
        parser.error("--offline checks a --checkpoint")
    return args


def check_checkpoint(path: Path, key_text: str) -> dict:
    from services.ledger.domain import checkpoint

    key_file = Path(key_text)
    if len(key_text) < 200 and key_file.is_file():
        key_text = key_file.read_text()
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict):
            raise checkpoint.BadCheckpoint("a checkpoint is a JSON object")
        return {"ok": True, **checkpoint.check(saved, checkpoint.public_key_from(key_text))}
    except (OSError, ValueError, checkpoint.BadCheckpoint) as exc:
        return {"ok": False, "problem": f"checkpoint {path}: {exc}"}


def verify_store(published: dict | None) -> dict:
    from services.ledger import handlers
    from services.ledger.bootstrap import bootstrap

    ledger = bootstrap()
    try:
        return handlers.verify_chain(ledger.new_uow(), published=published)
    finally:
        ledger.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    published = {"seq": args.seq, "hash": args.head} if args.seq is not None else None
    if args.checkpoint is not None:
        signed = check_checkpoint(args.checkpoint, args.public_key)
        if args.offline or not signed["ok"]:
            print(json.dumps({**signed, "checkpoint_signature_ok": signed["ok"]},
                             ensure_ascii=False, indent=2))
            return 0 if signed["ok"] else 1
        published = {"seq": signed["seq"], "hash": signed["hash"]}
    verdict = verify_store(published)
    if args.checkpoint is not None:
        verdict["checkpoint_signature_ok"] = True
    verdict["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(verdict, ensure_ascii=False, indent=2))
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
