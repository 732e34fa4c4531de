"""Outbox relay: publishes stored events with publisher confirms, then deletes them.

A crash between publish and delete republishes on restart; consumers' inboxes make
that harmless. An unroutable message (no queue bound yet) is kept and retried.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from contextlib import contextmanager

import amqp
from kombu import Connection
from sqlalchemy.orm import sessionmaker

from contracts.topology import event_exchange
from kit import metrics
from kit.db import make_engine
from kit.store import Outbox

log = logging.getLogger(__name__)


class Unroutable(Exception):
    pass


def json_message(body: dict, message_id: str, properties: dict) -> amqp.Message:
    """A persistent JSON message as kombu's Producer would send it with serializer="json",
    built directly: the Producer's per-message preparation cost more than publishing.
    ``properties`` are AMQP's, except ``headers`` (kombu's name for application_headers)."""
    properties = dict(properties)
    if "headers" in properties:
        properties["application_headers"] = properties.pop("headers")
    return amqp.Message(json.dumps(body, ensure_ascii=False).encode(),
                        content_type="application/json", content_encoding="utf-8",
                        delivery_mode=2, message_id=message_id, priority=0, **properties)


@contextmanager
def coalesced_writes(transport):
    """Gather what py-amqp writes to the socket while the block runs, and send it in one
    ``sendall`` at the end: a batch of publishes costs one system call, not one a message.

    py-amqp writes each frame through ``transport._write`` (the socket's ``sendall``),
    handing it a view of a buffer it reuses for the next frame, hence the copy. Nothing is
    sent if the block raises: the caller drops the connection then, as after any error."""
    pending = bytearray()
    send = transport._write
    transport._write = pending.extend
    try:
        yield
    finally:
        transport._write = send
    if pending:
        transport.write(pending)


class BatchPublisher:
    """Publishes a batch in confirm mode, then waits once for the broker's confirms: one
    round trip per batch instead of one per message."""

    CONFIRMED, UNROUTABLE, REFUSED = "confirmed", "unroutable", "refused"

    def __init__(self, amqp_uri: str, heartbeat: int = 0, confirm_timeout: float = 30.0):
        self.amqp_uri = amqp_uri
        self.heartbeat = heartbeat
        self.confirm_timeout = confirm_timeout
        self._conn: Connection | None = None
        self._channel = None
        self._next_tag = 1
        self._settled: dict[int, bool] = {}
        self._returned: set[str] = set()

    def _ensure(self):
        if self._channel is None:
            self._conn = Connection(self.amqp_uri, heartbeat=self.heartbeat, connect_timeout=5)
            channel = self._conn.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(lambda tag, multiple: self._settle(tag, multiple,
                                                                               True))
            channel.events["basic_nack"].add(lambda tag, multiple: self._settle(tag, multiple,
                                                                                False))
            channel.events["basic_return"].add(self._on_return)
            self._channel = channel
            self._next_tag = 1
        return self._channel

    def close(self) -> None:
        """Drop the connection (after any error); the next publish opens a fresh one."""
        try:
            if self._conn is not None:
                self._conn.release()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
        self._conn = None
        self._channel = None

    def _settle(self, tag: int, multiple: bool, ok: bool) -> None:
        for pending in ([t for t in self._settled if t <= tag] if multiple else [tag]):
            if self._settled.get(pending) is None:
                self._settled[pending] = ok

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))

    def publish_many(self, items: list[dict]) -> set[str]:
        """Publish ``{"id", "body", "exchange", "routing_key"}`` items; return the ids the
        broker confirmed and routed to at least one queue."""
        return {i for i, outcome in zip((item["id"] for item in items), self.publish_batch(items))
                if outcome == self.CONFIRMED}

    def _publish_each(self, channel, items: list[dict], tags: list[int]) -> None:
        for item in items:
            message = json_message(item["body"], item["id"], item.get("properties", {}))
            channel.basic_publish(message, exchange=item["exchange"],
                                  routing_key=item["routing_key"], mandatory=True)
            tags.append(self._next_tag)
            self._settled[self._next_tag] = None
            self._next_tag += 1

    def publish_batch(self, items: list[dict]) -> list[str]:
        """Publish ``{"id", "body", "exchange", "routing_key", "properties"?}`` items
        (persistent, mandatory, ``id`` as the message id); return each one's outcome:
        CONFIRMED, UNROUTABLE (no queue took it) or REFUSED (the broker nacked it).
        Raises, after closing the connection, if the broker cannot be reached or does not
        confirm in time: then nothing is known of the batch."""
        self._settled, self._returned = {}, set()
        tags: list[int] = []
        try:
            channel = self._ensure()
            with coalesced_writes(self._conn.connection.transport):
                self._publish_each(channel, items, tags)
            deadline = time.monotonic() + self.confirm_timeout
            while any(v is None for v in self._settled.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the broker did not confirm in time")
                self._conn.drain_events(timeout=remaining)
        except Exception:
            self.close()
            raise
        return [self.UNROUTABLE if item["id"] in self._returned
                else self.CONFIRMED if self._settled.get(tag) else self.REFUSED
                for item, tag in zip(items, tags)]


RELAY_BATCH = 500


def relay_once(session_factory, outbox: Outbox, publisher: BatchPublisher,
               batch: int = RELAY_BATCH) -> int:
    """Publish up to ``batch`` pending events; remove those the broker confirmed.

    ``session_factory`` may be an autocommit one (``relay_sessions``): the read and
    the delete are one statement each and need no transaction of their own.

    Raises Unroutable when some had no queue to go to: they stay in the outbox."""
    with session_factory() as session:
        rows = outbox.pending(session, batch)
        session.commit()
    if not rows:
        return 0
    confirmed = publisher.publish_many([
        {"id": row["event_id"], "body": row["body"], "routing_key": row["event_type"],
         "exchange": event_exchange(row["source"]).name} for row in rows])
    done = [row["id"] for row in rows if row["event_id"] in confirmed]
    published = Counter((row["source"], row["event_type"]) for row in rows
                        if row["event_id"] in confirmed)
    for (source, event_type), n in published.items():  # one increment per type, not per row
        metrics.PUBLISHED.labels(source, event_type).inc(n)
    if done:
        with session_factory() as session:
            outbox.remove(session, done)
            session.commit()
    if len(done) < len(rows):
        raise Unroutable(f"{len(rows) - len(done)} event(s) were not routed or confirmed; "
                         "they stay in the outbox")
    return len(done)


def relay_sessions(engine) -> sessionmaker:
    """Sessions for the relay: on PostgreSQL a connection of its own in autocommit, which
    spares the BEGIN and COMMIT round trips around its one-statement read and delete (with
    the test of every checkout that ``kit.db`` no longer makes, its three transactions a
    relayed batch were half a quiet service's statements). SQLite keeps the service's
    ``engine`` and its transactions: the engine begins them itself (``BEGIN IMMEDIATE``,
    ``kit.db``), which autocommit would leave open."""
    if engine.dialect.name == "postgresql":
        engine = make_engine(engine.url, pool_size=1, autocommit=True)
    return sessionmaker(engine, expire_on_commit=False)
