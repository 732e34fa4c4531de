"""What the logs cost on the hot path: ``python -m bench.logs [--batches 60] [--batch 64]``.

1. One JSON line (``kit.logs``) against the plain text line it replaced, through the whole
   ``logging`` call, written to /dev/null: microseconds of CPU a line.
2. Intake applying ``clue_submitted`` batches through the real consumer path
   (``StoreAccess.each`` with ``services.intake.handlers.accept_clue`` on a fresh SQLite store,
   in one process, no broker): CPU a message with the logs at INFO (the batch's ``applied``
   line, the events carrying the correlation id) against WARNING (no line). The two
   alternate batch by batch, so a busy machine slows both alike; the minimum of each is the
   figure. The ledger and notify pay the same line a batch on costlier handlers; the
   gateway one line a request. ``--batch 1``: the light-load case, a line a message.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from contracts.events import ClueFields, ClueSubmitted, receipt_digest
from kit import logs
from kit.db import make_engine
from kit.migrate import upgrade
from kit.nameko_ext import StoreAccess
from kit.sealing import fernet_from
from kit.settings import ROOT
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork
from services.intake import handlers
from services.intake.adapters import orm


def line_cost(n: int = 3000) -> tuple[float, float]:
    """µs of CPU a line: (JSON, the old text format)."""
    logs.configure("intake", stream=open(os.devnull, "w"))
    root = logging.getLogger()
    handler = root.handlers[0]
    log = logging.getLogger("kit.nameko_ext")
    token = logs.bind(uuid.uuid4().hex)
    figures = {}
    for name, formatter in (("json", logs.formatter("intake")), ("text", logging.Formatter(
            "%(asctime)s intake %(levelname)s %(name)s: %(message)s"))):
        handler.setFormatter(formatter)
        best = float("inf")
        for _ in range(7):
            started = time.process_time()
            for _ in range(n):
                log.info("applied %s", "clue_submitted", extra={
                    "consumer": "intake.on_clue_submitted", "event_id": uuid.uuid4().hex})
            best = min(best, time.process_time() - started)
        figures[name] = best / n * 1e6
    logs.unbind(token)
    return figures["json"], figures["text"]


def submitted(cid: str) -> dict:
    clue_id = uuid.uuid4().hex
    return ClueSubmitted(
        event_id=clue_id, clue_id=clue_id, receipt_digest=receipt_digest(clue_id),
        correlation_id=cid, clue=ClueFields(
            channel="public_report_platform", title="食堂卫生问题", subject_unit="org_sch_yanshan_high",
            description="学校食堂卫生问题多次反映无人处理,请核查")).to_message()


def intake_cost(batches: int, size: int) -> dict[str, list[float]]:
    """CPU µs a message per batch, with the logs at INFO and at WARNING, alternating."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'intake.db'}"
        upgrade(ROOT / "services" / "intake", url)
        factory = sessionmaker(make_engine(url), expire_on_commit=False)
        outbox, inbox = Outbox(orm.outbox_table), Inbox(orm.inbox_table)
        access = StoreAccess(lambda: UnitOfWork(factory, outbox, inbox),
                             "intake.on_clue_submitted", ClueSubmitted)
        fernet = fernet_from(None, "development")
        root = logging.getLogger()
        logs.configure("intake", stream=open(os.devnull, "w"))
        logging.getLogger("alembic").setLevel(logging.WARNING)
        figures: dict[str, list[float]] = {"INFO": [], "WARNING": []}
        for i in range(batches * 2):
            level = ("INFO", "WARNING")[i % 2]
            root.setLevel(level)
            bodies = [submitted(uuid.uuid4().hex) for _ in range(size)]
            started = time.process_time()
            done = access.each(bodies, lambda uow, msg: handlers.accept_clue(uow, msg, fernet))
            figures[level].append((time.process_time() - started) / size * 1e6)
            assert all(done)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    json_us, text_us = line_cost()
    print(f"one log line, whole logging call: JSON {json_us:.1f} µs of CPU, the old text "
          f"line {text_us:.1f} µs (load average {load:.1f} on {os.cpu_count()} cores)")
    figures = intake_cost(args.batches, args.batch)
    info, warning = (min(figures[k]) for k in ("INFO", "WARNING"))
    med_info, med_warning = (statistics.median(figures[k]) for k in ("INFO", "WARNING"))
    print(f"intake applying clue_submitted, batches of {args.batch}, CPU a message: "
          f"logs on {info:.0f} µs (median {med_info:.0f}), off {warning:.0f} µs "
          f"(median {med_warning:.0f}): {info - warning:+.0f} µs, "
          f"{(info - warning) / warning:+.1%} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
