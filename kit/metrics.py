"""Prometheus metrics of the nameko services: every definition in one place, and the
dependency that serves a process's ``/metrics`` (``METRICS_PORT``; 0 or unset: off).

Several processes of one service: each serves its own port and Prometheus scrapes each
(``infra/prometheus/prometheus.yml`` finds every replica by DNS), and the dashboards sum
over ``instance``. We chose that over prometheus-client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR): that mode shares mmap files, so it only works for processes on
one host and one file system, while the platform grows by adding processes on other
machines (README, "Growth"); it also needs the folder wiped at every start and cannot run
custom collectors. Counters from a killed process simply restart at 0, which ``rate()``
and ``increase()`` handle.

Hot path: a message costs counter increments only. Gauges that need the database (outbox
backlog, problems by state and light, rounds) are computed when Prometheus scrapes, by
one collector, from indexed or maintained-tally queries (``ServiceMetrics(gauges=...)``).
"""
from __future__ import annotations

import logging
import time
from datetime import timezone
from collections.abc import Callable, Iterable

from prometheus_client import (
    REGISTRY, Counter, Histogram, disable_created_metrics, make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

log = logging.getLogger(__name__)

disable_created_metrics()  # no ``*_created`` series: Prometheus does not use them

LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)

# -- RPC (every ``@rpc`` method of every service) -------------------------------------------
RPC_SECONDS = Histogram(
    "rpc_request_seconds", "RPC calls served, by service, method and outcome "
    "(ok, refused: an expected domain error, error: anything else)",
    ["service", "method", "outcome"], buckets=LATENCY_BUCKETS)
RPC_OUTCOMES = ("ok", "refused", "error")

# -- Messages (kit.nameko_ext's reliable event handler and the outbox relay) ----------------
CONSUMED = Counter("messages_consumed_total",
                   "Messages applied and acknowledged, per queue", ["queue"])
REQUEUED = Counter("messages_requeued_total",
                   "Messages returned to their queue after a failed apply, per queue", ["queue"])
REDELIVERED = Counter("messages_redelivered_total",
                      "Messages the broker delivered again (redelivered flag), per queue",
                      ["queue"])
DEAD_LETTERED = Counter("messages_dead_lettered_total",
                        "Poison messages sent to the dead letters at once, per queue",
                        ["queue"])
BATCH_SECONDS = Histogram("message_batch_seconds",
                          "Time to apply one batch of messages, per queue", ["queue"],
                          buckets=LATENCY_BUCKETS)
PUBLISHED = Counter("messages_published_total",
                    "Events the outbox relay published and the broker confirmed",
                    ["service", "event_type"])
INBOX_DUPLICATES = Counter("inbox_duplicates_skipped_total",
                           "Messages skipped because the consumer applied them before",
                           ["consumer"])

# -- Domain counters ---------------------------------------------------------------------------
DELIVERIES = Counter("notify_deliveries_total",
                     "Delivery attempts settled, by channel and the state they left",
                     ["channel", "outcome"])
DELIVERY_CHANNELS = ("email", "webhook")
DELIVERY_OUTCOMES = ("sent", "pending", "failed", "disabled", "dead")  # notify.domain.after_attempt


def queue_known(queue: str, consumer: str) -> None:
    """Create a handler's series at 0, so that dashboards and alerts see them before the
    first message (Prometheus' advice for known label values)."""
    for metric in (CONSUMED, REQUEUED, REDELIVERED, DEAD_LETTERED):
        metric.labels(queue)
    INBOX_DUPLICATES.labels(consumer)


def deliveries_known() -> None:
    for channel in DELIVERY_CHANNELS:
        for outcome in DELIVERY_OUTCOMES:
            DELIVERIES.labels(channel, outcome)


def delivered(channel: str, outcome: str) -> None:
    DELIVERIES.labels(str(channel), str(outcome)).inc()


def duplicate_skipped(consumer: str) -> None:
    INBOX_DUPLICATES.labels(consumer).inc()


# -- Gauges computed at scrape ----------------------------------------------------------------
Gauges = Callable[[object, dict], Iterable[GaugeMetricFamily]]
"""``gauges(session, config)``: a service's own gauges, read from its store."""


def outbox_gauges(service: str, outbox_table) -> Gauges:
    """Backlog and the age of the oldest row: the count and the first row by primary key."""
    def gauges(session, config):
        backlog = session.execute(select(func.count()).select_from(outbox_table)).scalar_one()
        oldest = session.execute(select(outbox_table.c.created_at)
                                 .order_by(outbox_table.c.id).limit(1)).scalar()
        age = max(0.0, time.time() - _epoch(oldest)) if oldest is not None else 0.0
        yield _single("outbox_backlog", "Events in the outbox not yet published",
                      "service", service, backlog)
        yield _single("outbox_oldest_age_seconds",
                      "Age of the oldest event waiting in the outbox (0: empty)",
                      "service", service, age)
    return gauges


def _epoch(at) -> float:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were written in UTC
        at = at.replace(tzinfo=timezone.utc)
    return at.timestamp()


def _single(name: str, doc: str, label: str, value: str, number: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    family.add_metric([value], number)
    return family


def family(name: str, doc: str, labels: list[str],
           rows: Iterable[tuple[tuple, float]]) -> GaugeMetricFamily:
    """A gauge family from ``((label values...), value)`` rows."""
    found = GaugeMetricFamily(name, doc, labels=labels)
    for values, number in rows:
        found.add_metric([str(v) for v in values], number)
    return found


def queue_gauges(amqp_uri: str, queues: list[str]):
    """Depth and consumers of the service's queues and of the dead letters, by a passive
    declare each on one short connection (a dozen round trips a scrape, none a message).
    Every process of a service reports the same queues: dashboards take ``max by (queue)``."""
    from kombu import Connection

    from contracts.topology import DEAD_LETTER_QUEUE

    def gauges():
        ready = GaugeMetricFamily("queue_messages_ready", "Messages waiting in the queue",
                                  labels=["queue"])
        consumers = GaugeMetricFamily("queue_consumers", "Consumers on the queue",
                                      labels=["queue"])
        with Connection(amqp_uri, connect_timeout=5) as conn:
            channel = conn.channel()
            for queue in [*queues, DEAD_LETTER_QUEUE]:
                _, messages, consuming = channel.queue_declare(queue, passive=True)
                ready.add_metric([queue], messages)
                consumers.add_metric([queue], consuming)
        return [ready, consumers]
    return gauges


class ScrapeGauges(Collector):
    """The one collector of the process: asks each running service for its gauges (its
    store's, its queues') when Prometheus scrapes. A source that fails is logged and left
    out of that scrape; the others are still served."""

    def __init__(self):
        self.sources: dict[int, list[Callable[[], Iterable[GaugeMetricFamily]]]] = {}

    def collect(self):
        for sources in list(self.sources.values()):
            for source in sources:
                try:
                    found = list(source())
                except Exception as exc:  # noqa: BLE001 - a scrape must not fail on one source
                    log.warning("metrics: a gauge source failed: %s", exc)
                    continue
                yield from found


def from_store(new_session, gauges: Gauges, config: dict):
    def source():
        with new_session() as session:
            return list(gauges(session, config))
    return source


SCRAPE_GAUGES = ScrapeGauges()
REGISTRY.register(SCRAPE_GAUGES)
