"""Outbox relay: publishes stored events with publisher confirms, then deletes them.

A crash between publish and delete republishes on restart; consumers' inboxes make
that harmless. An unroutable message (no queue bound yet) is kept and retried.
"""
from __future__ import annotations

import logging

from kombu import Connection, Producer

from contracts.topology import event_exchange
from kit.store import Outbox

log = logging.getLogger(__name__)


class Unroutable(Exception):
    pass


class ConfirmedPublisher:
    """Persistent, mandatory, broker-confirmed publishing on one channel."""

    def __init__(self, amqp_uri: str, heartbeat: int = 0):
        self.amqp_uri = amqp_uri
        self.heartbeat = heartbeat
        self._conn: Connection | None = None
        self._producer: Producer | None = None
        self._returned: list = []

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._conn = Connection(self.amqp_uri, heartbeat=self.heartbeat,
                                    transport_options={"confirm_publish": True})
            channel = self._conn.channel()
            self._producer = Producer(channel, on_return=self._on_return)
        return self._producer

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned.append((exchange, routing_key))

    def publish(self, body: dict, *, exchange: str, routing_key: str,
                headers: dict | None = None, **properties) -> None:
        """Return once the broker confirmed; raise Unroutable if no queue took it."""
        producer = self._ensure()
        self._returned.clear()
        try:
            producer.publish(body, exchange=exchange, routing_key=routing_key,
                             serializer="json", delivery_mode=2, mandatory=True,
                             headers=headers or {}, retry=False, **properties)
        except Exception:
            self.close()
            raise
        if self._returned:
            raise Unroutable(f"{exchange}/{routing_key} has no queue bound")

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.release()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
        self._conn = None
        self._producer = None


def relay_once(session_factory, outbox: Outbox, publisher: ConfirmedPublisher,
               batch: int = 200) -> int:
    """Publish up to ``batch`` pending events; return how many left the outbox."""
    with session_factory() as session:
        rows = outbox.pending(session, batch)
        session.commit()
    done: list[int] = []
    try:
        for row in rows:
            publisher.publish(row["body"], exchange=event_exchange(row["source"]).name,
                              routing_key=row["event_type"], message_id=row["event_id"])
            done.append(row["id"])
    finally:
        if done:
            with session_factory() as session:
                outbox.remove(session, done)
                session.commit()
    return len(done)
