"""The nameko shell: a database dependency that hands out units of work, an outbox relay
running beside the workers, and an event handler on quorum queues that requeues on error."""
from __future__ import annotations

import logging

import eventlet
from eventlet.event import Event as GreenEvent
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from sqlalchemy.orm import sessionmaker

from contracts.topology import subscription
from kit.db import make_engine
from kit.relay import ConfirmedPublisher, relay_once
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork

log = logging.getLogger(__name__)


class Store(DependencyProvider):
    """Injects a factory of units of work on the service's own database.

    ``tables`` is a callable returning (metadata, outbox_table, inbox_table).
    Also relays the outbox: a green thread publishes committed events, woken after
    every commit and polling once a second in case another process wrote them.
    """

    def __init__(self, outbox_table, inbox_table, poll_interval: float = 1.0):
        self.outbox = Outbox(outbox_table)
        self.inbox = Inbox(inbox_table)
        self.poll_interval = poll_interval
        self._wake = GreenEvent()
        self._running = False

    def setup(self):
        config = self.container.config
        self.engine = make_engine(config["DATABASE_URL"])
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.publisher = ConfirmedPublisher(config["AMQP_URI"], heartbeat=0)

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._relay_forever, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self.wake()

    def kill(self):
        self.stop()

    def wake(self):
        if not self._wake.ready():
            self._wake.send(True)

    def _relay_forever(self):
        while self._running:
            try:
                moved = relay_once(self.session_factory, self.outbox, self.publisher)
            except Exception as exc:  # noqa: BLE001 - keep relaying after broker trouble
                log.warning("outbox relay: %s; retrying", exc)
                self.publisher.close()
                eventlet.sleep(1.0)
                continue
            if moved:
                continue
            with eventlet.Timeout(self.poll_interval, False):
                self._wake.wait()
            self._wake = GreenEvent()
        self.publisher.close()

    def new_uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.outbox, self.inbox, on_commit=self.wake)

    def get_dependency(self, worker_ctx):
        return self.new_uow


class ReliableEventHandler(EventHandler):
    """``@event_handler`` on a quorum queue declared in ``contracts.topology``.

    A handler that raises has its message requeued (nameko's default would ack and drop
    it); after the delivery limit the broker dead-letters it.
    """

    def __init__(self, source_service, event_type, **kwargs):
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        sub = subscription(self.source_service, self.event_type,
                           self.container.service_name, self.method_name)
        self.queue = sub.queue()
        Consumer.setup(self)


reliable_event_handler = ReliableEventHandler.decorator
