"""Open311 benchmark: ``python -m bench.open311 [--requests 100000] [--samples 200]
[--pg-url URL | --sqlite]``.

Is ``GET /open311/v2/requests.json`` fast enough for a partner with a large history?
Target: p99 under 100 ms with 100,000 requests of one partner.

1. Makes fresh stores (PostgreSQL databases as ``bench.workbench`` does, or SQLite files with
   ``--sqlite``), migrates the ledger, and writes ``--requests`` problems straight into the
   ledger's ``problems`` table (ids ``problem_id_for(clue_id)``, states of every kind, one in
   three closed, registered over the last 120 days: three quarters fall in the default
   90-day window) and the same requests into the gateway's ``open311_requests`` record for
   one partner, whose account and API key are made in the gateway's store. Nothing else of
   the ledger (history, counts) is written: the Open311 read touches only these rows.
2. Starts the real stack (``tests.support.stack.Stack``: gateway and the four services on
   those stores, on a fresh RabbitMQ vhost), the services at normal CPU priority.
3. Requests, one after another on a keep-alive connection, after a warm-up, ``--samples``
   times each: ``requests.json`` (the default: the newest 1,000 of the last 90 days),
   ``requests.json?service_code=…`` (one category), ``requests.json?status=closed`` and
   ``requests/{id}.json`` (one). Each answer is checked (1,000 requests for the default).
   Time is the client's round trip (httpx on loopback: the gateway's reading of its record,
   the one ``problem_states`` RPC to the ledger, JSON out). Prints p50/p95/p99 against the
   target and writes JSON to ``bench/results/open311-<timestamp>.json``. Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import text

from bench import ledger as ledger_bench
from contracts.campaign import load_campaign
from contracts.events import problem_id_for
from kit.db import default_url, make_engine
from kit.migrate import upgrade
from kit.settings import DEFAULT_CAMPAIGN_FILE, ROOT

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_P99_MS = 100.0
CHANNEL = "partner_conduct_platform"
STATES = (("registered", None), ("dispatched", None), ("verified", None),
          ("rectifying", None), ("rectified", None), ("closed", "rectified"),
          ("closed", "unfounded"), ("closed", "merged"), ("dispatched", None))


def seed(urls: dict[str, str], campaign, n: int, rng: random.Random) -> dict:
    """The ledger's problems and the gateway's record of one partner's ``n`` requests; the
    partner's key and a request id. Written in batches, straight into the tables."""
    from gateway.auth.accounts import AccountStore
    from gateway.auth.partners import PartnerStore, secret_sealer
    from gateway.open311.store import PartnerRequests, open311_requests
    from services.ledger.adapters.orm import problems

    started = time.perf_counter()
    gateway = make_engine(urls["gateway"])
    accounts = AccountStore(gateway)
    accounts.create_schema()
    partners = PartnerStore(accounts, secret_sealer("bench"), secret_sealer("bench-notify"))
    partners.create_schema()
    PartnerRequests(gateway).create_schema()
    partner, key = partners.create("bench-partner", "基准测试协作平台", [CHANNEL], None, None,
                                   "bench")
    units = [o.code for o in campaign.organizations if o.type in ledger_bench.UNIT_TYPES]
    categories = [c.code for c in campaign.categories]
    kinds = [k.code for k in campaign.kinds]
    now = datetime.now(timezone.utc)
    ledger = make_engine(urls["ledger"])
    some_id = None
    for start in range(0, n, 5000):
        rows, records = [], []
        for _ in range(min(5000, n - start)):
            clue_id = uuid.UUID(int=rng.getrandbits(128)).hex
            at = now - timedelta(seconds=rng.uniform(60, 120 * 86400))
            state, outcome = rng.choice(STATES)
            category = rng.choice(categories)
            rows.append({"id": problem_id_for(clue_id), "clue_id": clue_id, "channel": CHANNEL,
                         "title": "协作平台转来的问题线索", "description":
                         "群众反映某单位办事推诿扯皮、多次往返仍未办结,请核实处理。",
                         "unit": rng.choice(units), "category": category,
                         "kind": rng.choice(kinds), "state": state, "outcome": outcome,
                         "self_found": False, "details": {}, "version": 1,
                         "registered_at": at, "updated_at": at + timedelta(days=1)})
            records.append({"clue_id": clue_id, "partner_id": partner.account.id,
                            "service_code": category, "requested_at": at})
            some_id = clue_id
        with ledger.begin() as conn:
            conn.execute(problems.insert(), rows)
        with gateway.begin() as conn:
            conn.execute(open311_requests.insert(), records)
    for engine, table in ((ledger, "problems"), (gateway, "open311_requests")):
        if engine.dialect.name == "postgresql":  # as autovacuum would soon: fresh statistics
            with engine.begin() as conn:
                conn.execute(text(f"ANALYZE {table}"))
    ledger.dispose()
    gateway.dispose()
    return {"key": key, "some_id": some_id, "seconds": round(time.perf_counter() - started, 1)}


def sample(client: httpx.Client, path: str, params: dict, n: int, warmup: int,
           check) -> dict:
    times = []
    for i in range(warmup + n):
        started = time.perf_counter()
        reply = client.get(path, params=params)
        elapsed = time.perf_counter() - started
        if reply.status_code != 200:
            raise SystemExit(f"{path}: {reply.status_code} {reply.text[:300]}")
        if i >= warmup:
            times.append(elapsed)
    body = reply.json()
    problem = check(body)
    if problem:
        raise SystemExit(f"{path} {params}: {problem}")
    q = ledger_bench.percentile
    return {"p50_ms": round(q(times, 0.5) * 1000, 1), "p95_ms": round(q(times, 0.95) * 1000, 1),
            "p99_ms": round(q(times, 0.99) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
            "n": len(times), "answered": len(body), "bytes": len(reply.content)}


def run(args) -> dict:
    from tests.support.infra import Databases, broker_vhost
    from tests.support.stack import SERVICES, Stack

    rng = random.Random(args.seed)
    campaign = load_campaign(DEFAULT_CAMPAIGN_FILE)
    dbs = None if args.sqlite else Databases(args.pg_url)
    stack = None
    with broker_vhost() as amqp, tempfile.TemporaryDirectory(prefix="bench-open311-") as tmp:
        folder = Path(tmp)
        try:
            names = (*SERVICES, "gateway")
            urls = ({s: default_url(s, folder / "stack") for s in names} if dbs is None
                    else {s: dbs.create(s) for s in names})
            (folder / "stack").mkdir(exist_ok=True)
            upgrade(ROOT / "services" / "ledger", urls["ledger"])
            print(f"[{args.requests:,} requests] seeding the ledger and the gateway's record "
                  f"({'SQLite' if dbs is None else 'PostgreSQL'}) ...", flush=True)
            seeded = seed(urls, campaign, args.requests, rng)
            print(f"  seeded in {seeded['seconds']} s", flush=True)
            stack = Stack(amqp_uri=amqp, data_dir=folder / "stack", database_urls=urls,
                          extra_env={"SERVICE_NICE": "0"})
            stack.start_all(timeout=180)
            from bench.workbench import wait_quiet

            wait_quiet(args.wait_quiet)
            key = seeded["key"]
            one = seeded["some_id"]
            checks = {
                "default": ("/open311/v2/requests.json", {},
                            lambda b: None if len(b) == 1000 else f"{len(b)} answered"),
                "service_code": ("/open311/v2/requests.json",
                                 {"service_code": "c7_livelihood_services"},
                                 lambda b: None if b and all(
                                     r["service_code"] == "c7_livelihood_services"
                                     for r in b) else "wrong services"),
                "status_closed": ("/open311/v2/requests.json", {"status": "closed"},
                                  lambda b: None if b and all(r["status"] == "closed"
                                                              for r in b) else "not closed"),
                "one": (f"/open311/v2/requests/{one}.json", {},
                        lambda b: None if [r["service_request_id"] for r in b] == [one]
                        else "not the one"),
            }
            figures = {}
            cpu = ledger_bench.CpuMeter()
            with httpx.Client(base_url=stack.base_url, timeout=60,
                              auth=("bench-partner", key)) as client:
                for name, (path, params, check) in checks.items():
                    f = figures[name] = sample(client, path, params, args.samples,
                                               args.warmup, check)
                    print(f"  {name:14} p50 {f['p50_ms']:7.1f}  p95 {f['p95_ms']:7.1f}  "
                          f"p99 {f['p99_ms']:7.1f} ms · {f['answered']:5} requests, "
                          f"{f['bytes'] / 1024:.0f} KiB", flush=True)
            return {"requests": args.requests, "store": "sqlite" if dbs is None else
                    "postgresql", "figures": figures, "machine_busy_cores": cpu.busy_cores(),
                    "load_average_after": round(os.getloadavg()[0], 2),
                    "seed_seconds": seeded["seconds"]}
        finally:
            if stack is not None:
                stack.stop_all()
            if dbs is not None:
                dbs.drop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--pg-url", default=ledger_bench.DEFAULT_PG)
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of "
                        "PostgreSQL databases (make run's default stores)")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before measuring, wait up to SECONDS for a 1-minute load "
                             "average under 1.0 (a shared machine)")
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):  # unwind: the stack, databases and vhost go
        signal.signal(sig, _interrupted)
    result = run(args)
    p99 = result["figures"]["default"]["p99_ms"]
    verdict = "meets" if p99 < TARGET_P99_MS else "MISSES"
    print(f"requests.json over {args.requests:,} requests of one partner: p99 {p99} ms "
          f"({verdict} the target of {TARGET_P99_MS:.0f} ms); machine busy "
          f"{result['machine_busy_cores'] or 0:.2f} cores, load average "
          f"{result['load_average_after']}", flush=True)
    result.update(when=datetime.now(timezone.utc).isoformat(), samples=args.samples,
                  warmup=args.warmup, target_p99_ms=TARGET_P99_MS,
                  timing="client: httpx round trip on loopback, keep-alive")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"open311-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {out.relative_to(ROOT)}")
    return 0


def _interrupted(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
