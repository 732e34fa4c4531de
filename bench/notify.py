"""Fan-out benchmark of notify: ``python -m bench.notify [--events 10000] [--recipients 2000]
[--per-unit 2] [--rate 300] [--backend sqlite|postgresql]``.

Only notify runs (as ``make run`` runs it: ``python -m kit.run notify``, at SERVICE_NICE) on a
fresh RabbitMQ vhost and a fresh store. The benchmark publishes the account directory
(``AccountChanged``, ``recipients`` unit handlers, ``per-unit`` to a unit) to the gateway's
exchange, waits until notify holds it, then publishes ``events`` dispatches
(``problem.dispatched``, persistent, confirmed) open loop at ``rate`` events/s, spread over
the units round robin, so every event reaches ``per-unit`` people: an inbox item each (and
nothing else: nobody has an email address or a webhook, so the figures are the inbox's).

Measured: inbox deliveries/s = inbox items / (first publish -> last item's ``created_at``);
event-to-inbox latency per item = ``created_at`` (stamped by notify as it routes the
event, in the transaction that commits it) - the event's publish time (this process's
clock; one machine). Targets (issue 10): >= 500 deliveries/s, p99 < 2 s. Exactly-once is
checked too: items = events x per-unit, no (event, account) twice.
"""
from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from kombu import Connection, Producer

from contracts.events import AccountChanged, ProblemTransitioned
from contracts.topology import declare_all, event_exchange
from tests.support.infra import broker_vhost
from tests.support.stack import Stack


def publish(producer: Producer, event) -> None:
    producer.publish(event.to_message(), exchange=event_exchange(event.source),
                     routing_key=event.routing_key, delivery_mode=2, retry=True,
                     message_id=event.event_id, serializer="json")


def rows(db: Path, sql: str, *args):
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(events: int, recipients: int, per_unit: int, rate: float) -> dict:
    units = max(1, recipients // per_unit)
    with broker_vhost() as amqp, tempfile.TemporaryDirectory(prefix="bench-notify-") as data:
        stack = Stack(amqp_uri=amqp, data_dir=Path(data))
        db = Path(data) / "notify.db"
        stack.start("notify")
        try:
            wait(lambda: db.exists() and rows(db, "SELECT count(*) FROM sqlite_master WHERE "
                                                  "name = 'notices'")[0][0], 60, "notify up")
            with Connection(amqp) as conn:
                declare_all(conn.default_channel)
                producer = Producer(conn.channel())
                producer.channel.confirm_select()
                for i in range(units * per_unit):
                    publish(producer, AccountChanged(
                        account_id=f"acct{i:05d}", username=f"h{i}", display_name=f"h{i}",
                        role="unit_handler", org_code=f"org_bench_{i % units:05d}"))
                wait(lambda: rows(db, "SELECT count(*) FROM directory")[0][0]
                     >= units * per_unit, 120, "directory")
                sent: dict[str, float] = {}
                start = time.time()
                for n in range(events):
                    due = start + n / rate
                    pause = due - time.time()
                    if pause > 0:
                        time.sleep(pause)
                    event = ProblemTransitioned(
                        name="dispatched", problem_id=uuid.uuid4().hex, action="dispatch",
                        from_state="registered", to_state="dispatched",
                        unit=f"org_bench_{n % units:05d}", actor="bench",
                        actor_role="county_office", history_seq=n)
                    sent[event.event_id] = time.time()
                    publish(producer, event)
                published = time.time()
            expected = events * per_unit
            wait(lambda: rows(db, "SELECT count(*) FROM notices")[0][0] >= expected,
                 600, "every inbox item")
            found = rows(db, "SELECT event_id, created_at FROM notices")
            doubled = rows(db, "SELECT count(*) FROM (SELECT event_id, account_id FROM notices "
                               "GROUP BY 1, 2 HAVING count(*) > 1)")[0][0]
        finally:
            stack.stop_all()
    stamps = [(e, datetime.fromisoformat(c).replace(tzinfo=timezone.utc).timestamp())
              for e, c in found]
    latencies = [at - sent[e] for e, at in stamps if e in sent]
    last = max(at for _, at in stamps)
    return {"events": events, "recipients": units * per_unit, "per_unit": per_unit,
            "offered_events_per_s": rate, "publish_s": round(published - start, 2),
            "inbox_items": len(found), "expected": expected, "doubled": doubled,
            "deliveries_per_s": round(len(found) / (last - start), 1),
            "p50_s": round(percentile(latencies, 50), 3),
            "p99_s": round(percentile(latencies, 99), 3),
            "max_s": round(max(latencies), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=2_000)
    parser.add_argument("--per-unit", type=int, default=2)
    parser.add_argument("--rate", type=float, default=300.0, help="events/s offered")
    args = parser.parse_args()
    result = run(args.events, args.recipients, args.per_unit, args.rate)
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    ok = (result["inbox_items"] == result["expected"] and not result["doubled"]
          and result["deliveries_per_s"] >= 500 and result["p99_s"] < 2)
    print(f"{'targets (>=500/s, p99<2s)':>22}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
