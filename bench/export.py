"""Export benchmark: ``python -m bench.export [--rows 100000] [--backend sqlite|postgresql]
[--formats csv,xlsx]``.

Does the ledger's export stream, with the gateway's memory flat whatever the row count?
Starts the real stack on a fresh RabbitMQ vhost (and fresh databases on PostgreSQL), writes
``--rows`` problems straight into the ledger's store (registered by the domain's own
``registration.register``, rows as ``adapters.problems._values`` makes them, like ``bench.ledger``),
then downloads ``GET /api/v1/problems.{csv,xlsx}`` as the county office, first a tenth of
the rows (one unit's) and then all of them. It prints, per format and size, rows/s, the
time to the first byte and the gateway's peak RSS sampled from ``/proc/<pid>/status``
every 20 ms during the download, and the growth of that peak per extra row. Writes JSON to
``bench/results/export-<timestamp>.json``. Not a test: it prints figures.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

from services.ledger.adapters import problems as problem_rows
from services.ledger.adapters.orm import problems
from services.ledger.domain.registration import register

RESULTS = Path(__file__).resolve().parent / "results"
SMALL_UNIT, LARGE_UNIT = "org_tw_hanji", "org_tw_qiantong"
CATEGORIES = ("c1_information_disclosure", "c2_safety_oversight", "c5_government_services",
              "c7_livelihood_services", "c9_public_security")
CHANNELS = ("letter", "phone_call", "public_report_platform", "questionnaire", "field_visit")


def fill_ledger(database_url: str, units: dict[str, int], *, batch: int = 5000) -> None:
    """Registered problems written straight into the ledger's store (no history, no
    counts: only the list reads them)."""
    engine = create_engine(database_url, **(
        {"connect_args": {"timeout": 60}} if database_url.startswith("sqlite") else {}))
    start = datetime.now(timezone.utc) - timedelta(days=30)
    n = 0
    try:
        with engine.begin() as conn:
            rows = []
            for unit, count in units.items():
                for _ in range(count):
                    n += 1
                    problem = register(
                        clue_id=uuid.uuid4().hex, channel=CHANNELS[n % len(CHANNELS)],
                        title=f"批量问题 {n}:窗口办事推诿", unit=unit,
                        description="群众来信反映窗口工作人员推诿扯皮,多次往返无果。" * 4,
                        category=CATEGORIES[n % len(CATEGORIES)], kind="inaction",
                        self_found=False, now=start + timedelta(milliseconds=20 * n))
                    rows.append(problem_rows._values(problem, "org_county_office"))
                    if len(rows) == batch:
                        conn.execute(insert(problems), rows)
                        rows = []
            if rows:
                conn.execute(insert(problems), rows)
        with engine.connect() as conn:  # a store in use has its statistics
            conn.execute(text("ANALYZE problems" if engine.dialect.name == "postgresql"
                              else "ANALYZE"))
            conn.commit()
    finally:
        engine.dispose()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def download(base_url: str, token: str, path: str, pid: int) -> dict:
    """Stream one export to nowhere, sampling the gateway's RSS meanwhile."""
    peak, done = [rss_kib(pid)], threading.Event()
    before = peak[0]

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size, lines, first_byte = 0, 0, None
    started = time.perf_counter()
    try:
        with httpx.stream("GET", f"{base_url}{path}", timeout=900,
                          headers={"Authorization": f"Bearer {token}"}) as reply:
            reply.raise_for_status()
            for chunk in reply.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\r\n")
    finally:
        done.set()
        sampler.join()
    return {"seconds": time.perf_counter() - started, "first_byte_s": first_byte,
            "bytes": size, "csv_lines": lines, "rss_before_kib": before,
            "rss_peak_kib": peak[0]}


def main() -> None:
    from tests.support.infra import DEFAULT_PG, Databases, broker_vhost
    from tests.support.stack import SERVICES, Stack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    small = args.rows // 10
    dbs = Databases(DEFAULT_PG) if args.backend == "postgresql" else None
    results = {"rows": args.rows, "backend": args.backend, "runs": []}
    with broker_vhost() as amqp, tempfile.TemporaryDirectory(prefix="bench-export-") as data:
        stack = None
        try:
            urls = {s: dbs.create(s) for s in (*SERVICES, "gateway")} if dbs else None
            stack = Stack(amqp_uri=amqp, data_dir=Path(data), database_urls=urls)
            stack.start_all()
            ledger_url = urls["ledger"] if urls else f"sqlite:///{data}/ledger.db"
            t0 = time.perf_counter()
            fill_ledger(ledger_url, {SMALL_UNIT: small, LARGE_UNIT: args.rows - small})
            print(f"[{args.backend}] {args.rows:,} problems written in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            token = stack.token("county", "dev-county-2017!")
            pid = stack.procs["gateway"].pid
            for fmt in args.formats.split(","):
                download(stack.base_url, token, f"/api/v1/problems.{fmt}?unit={SMALL_UNIT}",
                         pid)  # warm-up
                for label, rows, query in (("tenth", small, f"?unit={SMALL_UNIT}"),
                                           ("all", args.rows, "")):
                    run = download(stack.base_url, token, f"/api/v1/problems.{fmt}{query}", pid)
                    run.update(format=fmt, size=label, rows=rows,
                               rows_per_s=rows / run["seconds"])
                    results["runs"].append(run)
                    if fmt == "csv" and run["csv_lines"] != rows + 1:
                        print(f"!! {run['csv_lines'] - 1:,} rows exported, {rows:,} expected",
                              flush=True)
                    print(f"[{args.backend}] {fmt:4} {rows:>7,} rows: {run['rows_per_s']:>7,.0f} "
                          f"rows/s, {run['seconds']:.1f} s (first byte {run['first_byte_s']:.1f}"
                          f" s), {run['bytes'] / 1e6:.1f} MB, gateway RSS "
                          f"{run['rss_before_kib'] / 1024:.0f} → peak "
                          f"{run['rss_peak_kib'] / 1024:.0f} MiB", flush=True)
                tenth, full = results["runs"][-2], results["runs"][-1]
                growth = (full["rss_peak_kib"] - tenth["rss_peak_kib"]) * 1024
                per_row = growth / (args.rows - small)
                results[f"{fmt}_peak_growth_bytes_per_row"] = per_row
                print(f"[{args.backend}] {fmt:4} peak RSS growth from {small:,} to "
                      f"{args.rows:,} rows: {growth / 2**20:+.1f} MiB ({per_row:+.1f} B/row)",
                      flush=True)
        finally:
            if stack is not None:
                stack.stop_all()
            if dbs is not None:
                dbs.drop_all()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"export-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
