"""After a restore: what the restored stores lack of the clue's path, re-driven or reported
(``python -m infra.backup reconcile``).

Two gaps, two remedies:

1. **Between the stores.** Each snapshot is consistent in itself, but an event published
   shortly before its producer's snapshot and consumed after its consumer's is in neither
   copy (the outbox row was deleted once the broker confirmed it). For the clue's path the
   events' ids are fixed by the clue (``accepted-<clue>``, ``registered-<problem>``) and
   every consumer records the ids it applied in its inbox, so the gap is exact: an event
   some consumer of it has not recorded. Such events are rebuilt from the producer's rows
   and put back in the producer's outbox; its relay publishes them when it runs, and the
   consumers that had them skip them by id.
2. **After the backup.** A clue the gateway accepted after the snapshots is in no store;
   only its client knows it. The client's receipts (a JSON line per accepted clue:
   ``idempotency_key``, ``clue_id``, ``body``, optionally ``receipt_code``) are compared with
   intake's store; the missing are listed, and with ``--redrive URL`` submitted again with
   their own Idempotency-Key: a keyed clue's id is derived from key and body
   (``gateway.idempotency``), so the re-driven clue has the id the client holds and is
   registered once. Its receipt code is the first one only if the gateway's copy still
   remembered the key; otherwise the answer carries a new code (counted in the report;
   the new codes go only to ``--answers FILE``, written owner-only, for the client to hand
   on: a receipt code is never printed).

Not reconciled (reported in the README): staff actions after the backup (the ledger's
chain ends at the backup's head; they are redone), and other events than the clue's path.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ACCEPTED, REGISTERED = "accepted-", "registered-"
CONSUMERS_OF = {ACCEPTED: ("ledger", "audit"), REGISTERED: ("intake", "notify", "audit")}
"""The stores whose inboxes record each event of the clue's path (``reliable_event_handler``
for ``clue_accepted`` and ``problem_registered`` in ``services/*/service.py``)."""


# ── pure: what is missing ─────────────────────────────────────────────────────────────────
def unapplied(produced: Iterable[str], inbox: Iterable[tuple[str, str]], prefix: str
              ) -> set[str]:
    """The ``produced`` message ids (all starting with ``prefix``) that some consumer in the
    store has not recorded. ``inbox`` is the store's (consumer, message id) rows; the
    consumers expected are those that recorded any message with the prefix (a handler that
    never ran on this store expects nothing)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for consumer, message_id in inbox:
        if message_id.startswith(prefix):
            seen[consumer].add(message_id)
    if not seen:
        return set()
    return {mid for mid in produced if any(mid not in ids for ids in seen.values())}


@dataclass(frozen=True)
class Receipt:
    idempotency_key: str
    clue_id: str
    body: dict
    receipt_code: str | None = None


def read_receipts(lines: Iterable[str]) -> list[Receipt]:
    receipts = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            receipts.append(Receipt(str(raw["idempotency_key"]), str(raw["clue_id"]),
                                    dict(raw["body"]), raw.get("receipt_code")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"receipts line {number}: {exc}") from None
    return receipts


def missing_receipts(receipts: list[Receipt], stored_clue_ids: set[str]) -> list[Receipt]:
    """The client's accepted clues that no restored store holds, each once."""
    seen, missing = set(), []
    for receipt in receipts:
        if receipt.clue_id not in stored_clue_ids and receipt.clue_id not in seen:
            seen.add(receipt.clue_id)
            missing.append(receipt)
    return missing


@dataclass
class Report:
    requeued_accepted: list[str] = field(default_factory=list)    # clue ids
    requeued_registered: list[str] = field(default_factory=list)  # problem ids
    receipts: int = 0
    missing: list[str] = field(default_factory=list)              # clue ids
    redriven: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"requeued": {"clue_accepted": len(self.requeued_accepted),
                             "problem_registered": len(self.requeued_registered)},
                "requeued_clue_ids": self.requeued_accepted,
                "requeued_problem_ids": self.requeued_registered,
                "receipts": self.receipts, "missing": self.missing,
                "redriven": [{k: v for k, v in r.items() if k != "receipt_code"}
                             for r in self.redriven],
                "receipt_codes_changed": sum(1 for r in self.redriven
                                             if r.get("receipt_kept") is False)}


# ── the stores ────────────────────────────────────────────────────────────────────────────
class Stores:
    """Engines on the restored stores (as the services would open them)."""

    def __init__(self, settings):
        from kit.db import make_engine

        self.engines = {name: make_engine(settings.database_url(name), pool_size=1)
                        for name in ("gateway", "intake", "ledger", "notify", "audit")}

    def rows(self, store: str, sql: str, **params) -> list:
        from sqlalchemy import text

        with self.engines[store].connect() as conn:
            return list(conn.execute(text(sql), params))

    def inbox(self, store: str, prefix: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.rows(
            store, "SELECT consumer, message_id FROM inbox WHERE message_id LIKE :p",
            p=prefix + "%")]

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def clue_gaps(stores: Stores) -> list:
    clues = stores.rows("intake", "SELECT id, channel, title, description, subject_unit, "
                                  "category, kind, place, occurred_on, submitted_by, "
                                  "submitted_at FROM clues")
    produced = {ACCEPTED + r.id for r in clues}
    gaps = set()
    for store in CONSUMERS_OF[ACCEPTED]:
        gaps |= unapplied(produced, stores.inbox(store, ACCEPTED), ACCEPTED)
    registered = {r[0] for r in stores.rows("ledger", "SELECT clue_id FROM problems")}
    return [r for r in clues if ACCEPTED + r.id in gaps or r.id not in registered]


def problem_gaps(stores: Stores) -> list:
    problems = stores.rows("ledger", "SELECT id, clue_id, unit, category, kind, title, "
                                     "registered_at FROM problems")
    produced = {REGISTERED + r.id for r in problems}
    gaps = set()
    for store in CONSUMERS_OF[REGISTERED]:
        gaps |= unapplied(produced, stores.inbox(store, REGISTERED), REGISTERED)
    return [r for r in problems if REGISTERED + r.id in gaps]


def _submitters(stores: Stores) -> dict[str, tuple[str, str | None]]:
    return {r[0]: (r[1], r[2]) for r in stores.rows(
        "gateway", "SELECT username, role, org_code FROM accounts")}


def accepted_event(row, submitters: dict):
    """``clue_accepted`` as intake announced it, rebuilt from its row. The submitter's role
    and organization come from the gateway's accounts (intake keeps only the username);
    files an exposure case carried are not in intake's row and are not rebuilt."""
    from contracts.events import ClueAccepted, ClueFields

    role, org = ("public", None) if row.submitted_by is None else \
        submitters.get(row.submitted_by, (None, None))
    occurred = row.occurred_on
    if isinstance(occurred, str):
        occurred = datetime.fromisoformat(occurred).date()
    return ClueAccepted(
        event_id=ACCEPTED + row.id, clue_id=row.id,
        clue=ClueFields(channel=row.channel, title=row.title, description=row.description,
                        subject_unit=row.subject_unit, category=row.category, kind=row.kind,
                        place=row.place, occurred_on=occurred),
        submitted_at=_aware(row.submitted_at), submitter_role=role, submitter_org=org)


def registered_event(row):
    from contracts.events import ProblemRegistered

    return ProblemRegistered(event_id=REGISTERED + row.id, problem_id=row.id,
                             clue_id=row.clue_id, unit=row.unit, category=row.category,
                             kind=row.kind, title=row.title,
                             registered_at=_aware(row.registered_at))


def requeue(stores: Stores, store: str, events: list) -> None:
    """Put ``events`` in ``store``'s outbox (once: the outbox's event ids are unique)."""
    if not events:
        return
    from kit.store import insert_new

    table = _outbox_table(store)
    engine = stores.engines[store]
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert_new(table, engine.dialect.name), [
            {"event_id": e.event_id, "source": e.source, "event_type": e.routing_key,
             "body": e.to_message(), "created_at": now} for e in events])


def _outbox_table(store: str):
    if store == "intake":
        from services.intake.adapters.orm import outbox_table
    else:
        from services.ledger.adapters.orm import outbox_table
    return outbox_table


def redrive(base_url: str, receipt: Receipt, token: str | None = None) -> dict:
    """Submit a missing clue again, with its own Idempotency-Key and body."""
    import httpx

    headers = {"Idempotency-Key": receipt.idempotency_key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    reply = httpx.post(f"{base_url.rstrip('/')}/api/v1/clues", json=receipt.body,
                       headers=headers, timeout=30)
    result = {"clue_id": receipt.clue_id, "status": reply.status_code}
    if reply.status_code == 202:
        answer = reply.json()
        result["same_clue_id"] = answer["clue_id"] == receipt.clue_id
        result["receipt_code"] = answer["receipt_code"]  # kept out of the printed report
        if receipt.receipt_code is not None:
            result["receipt_kept"] = answer["receipt_code"] == receipt.receipt_code
    else:
        result["error"] = reply.text[:500]
    return result


def write_answers(path: Path, redriven: list[dict]) -> None:
    """The re-driven clues' answers (clue id, receipt code), a JSON line each, owner-only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for r in redriven:
            if "receipt_code" in r:
                f.write(json.dumps({"clue_id": r["clue_id"],
                                    "receipt_code": r["receipt_code"]}) + "\n")


def reconcile(settings, receipts_file: Path | None = None, redrive_url: str | None = None,
              token: str | None = None, answers_file: Path | None = None) -> Report:
    stores = Stores(settings)
    report = Report()
    try:
        clue_rows = clue_gaps(stores)
        submitters = _submitters(stores) if clue_rows else {}
        requeue(stores, "intake", [accepted_event(r, submitters) for r in clue_rows])
        report.requeued_accepted = sorted(r.id for r in clue_rows)
        problem_rows = problem_gaps(stores)
        requeue(stores, "ledger", [registered_event(r) for r in problem_rows])
        report.requeued_registered = sorted(r.id for r in problem_rows)
        if receipts_file is not None:
            receipts = read_receipts(Path(receipts_file).read_text(encoding="utf-8")
                                     .splitlines())
            stored = {r[0] for r in stores.rows("intake", "SELECT id FROM clues")}
            missing = missing_receipts(receipts, stored)
            report.receipts, report.missing = len(receipts), [r.clue_id for r in missing]
            if redrive_url:
                report.redriven = [redrive(redrive_url, r, token) for r in missing]
                if answers_file is not None:
                    write_answers(Path(answers_file), report.redriven)
    finally:
        stores.dispose()
    return report
