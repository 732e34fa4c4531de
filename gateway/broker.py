"""The gateway's broker client: nameko's event and RPC wire formats spoken with kombu.

The gateway is asyncio and kombu blocks, so kombu runs in two threads of its own:

- one publisher thread owns a confirm-mode channel. Requests hand it their messages and
  await a future; it publishes whatever has queued up as one batch, waits once for the
  broker's confirms, and settles the batch's futures together (group commit). Under load
  a confirm round trip is shared by many requests and no request holds a thread.
- one consumer thread reads RPC replies from one reply queue per gateway process.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import uuid

from kombu import Connection, Consumer, Exchange, Queue

from contracts.events import Event
from contracts.topology import RPC_EXCHANGE, declare_all, event_exchange
from kit.relay import BatchPublisher, Unroutable

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not confirm the message; nothing is promised to the client."""


class ServiceUnavailable(Exception):
    """No instance of the service is consuming its RPC queue."""


class RpcTimeout(Exception):
    pass


class RemoteCallError(Exception):
    def __init__(self, exc_type: str, value: str, args: list | None = None):
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.value = value
        self.value_zh = args[1] if args and len(args) > 1 and isinstance(args[1], str) else value


class GroupPublisher:
    """Publishes for many asyncio tasks through a few confirm-mode channels (lanes), each
    publishing a batch at a time.

    A lane takes whatever requests have queued up, publishes them and waits for the
    broker's confirms; meanwhile the next lane takes the requests that arrived since, so a
    slow confirm (a quorum queue's fsync under load) does not hold back the next batch.

    ``await publish(...)`` returns once the broker confirmed the message as routed to a
    queue; it raises Unroutable if no queue took it, BrokerUnavailable if the broker
    refused it or could not be reached. A message marked ``retry_safe`` (an event, which
    consumers apply once by its id) gets one more try on a fresh connection; any other
    (an RPC request) does not, since it may have gone out before the connection broke.
    """

    def __init__(self, amqp_uri: str, *, lanes: int = 3, max_batch: int = 256):
        self._amqp_uri = amqp_uri
        self._lanes = lanes
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.lanes: list[BatchPublisher] = []

    def start(self) -> None:
        for n in range(self._lanes):
            publisher = BatchPublisher(self._amqp_uri, heartbeat=0, confirm_timeout=10.0)
            self.lanes.append(publisher)
            thread = threading.Thread(target=self._run, args=(publisher,),
                                      name=f"publisher-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads, self.lanes = [], []

    async def publish(self, body: dict, *, exchange: str, routing_key: str,
                      message_id: str | None = None, retry_safe: bool = False,
                      **properties) -> None:
        if not self._threads:
            raise BrokerUnavailable("the publisher is not running")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(({"id": message_id or uuid.uuid4().hex, "body": body,
                          "exchange": exchange, "routing_key": routing_key,
                          "properties": properties, "retry_safe": retry_safe}, future, loop))
        await future

    def _run(self, publisher: BatchPublisher) -> None:
        try:
            self._serve(publisher)
        finally:
            publisher.close()

    def _serve(self, publisher: BatchPublisher) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            outcomes = self._publish(publisher, [item for item, _, _ in batch])
            by_loop: dict = {}
            for (_, future, loop), outcome in zip(batch, outcomes):
                by_loop.setdefault(loop, []).append((future, outcome))
            for loop, settled in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle, settled)
                except RuntimeError:  # that event loop has closed; nobody is waiting
                    pass

    @staticmethod
    def _publish(publisher: BatchPublisher, items: list[dict]) -> list:
        """Each item's outcome: None (confirmed) or the exception to raise."""
        try:
            outcomes = publisher.publish_batch(items)
        except Exception as exc:  # noqa: BLE001 - connection trouble
            log.warning("publishing failed: %s; retrying what is safe to send twice", exc)
            results: list = [BrokerUnavailable(str(exc)) for _ in items]
            again = [i for i, item in enumerate(items) if item["retry_safe"]]
            if again:
                for i, outcome in zip(again, GroupPublisher._retry(
                        publisher, [items[i] for i in again])):
                    results[i] = outcome
            return results
        return GroupPublisher._outcomes(items, outcomes)

    @staticmethod
    def _retry(publisher: BatchPublisher, items: list[dict]) -> list:
        try:
            return GroupPublisher._outcomes(items, publisher.publish_batch(items))
        except Exception as exc:  # noqa: BLE001 - the broker is gone: tell the callers
            log.warning("publishing failed again: %s", exc)
            return [BrokerUnavailable(str(exc)) for _ in items]

    @staticmethod
    def _outcomes(items: list[dict], outcomes: list[str]) -> list:
        return [None if o == BatchPublisher.CONFIRMED
                else Unroutable(f"{item['exchange']}/{item['routing_key']} has no queue")
                if o == BatchPublisher.UNROUTABLE
                else BrokerUnavailable("the broker refused the message")
                for item, o in zip(items, outcomes)]


def _settle(settled: list) -> None:
    for future, outcome in settled:
        if future.done():  # the request was cancelled (client went away)
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)


class Broker:
    def __init__(self, amqp_uri: str, *, rpc_timeout: float = 10.0):
        self.amqp_uri = amqp_uri
        self.rpc_timeout = rpc_timeout
        self._publisher = GroupPublisher(amqp_uri)
        self._pending: dict[str, concurrent.futures.Future] = {}
        self._reply_key = f"rpc.reply-gateway-{uuid.uuid4().hex}"
        self._stopping = threading.Event()
        self._consumer_ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.topology_declared = False

    # life cycle -------------------------------------------------------------
    def start(self) -> None:
        self._publisher.start()
        self._thread = threading.Thread(target=self._consume_replies, name="rpc-replies",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._publisher.stop()

    @property
    def connected(self) -> bool:
        return self._consumer_ready.is_set()

    # publishing -------------------------------------------------------------
    async def publish_event(self, event: Event) -> None:
        """Publish a persistent event; return only after the broker confirmed it."""
        try:
            await self._publisher.publish(event.to_message(),
                                          exchange=event_exchange(event.source).name,
                                          routing_key=event.routing_key,
                                          message_id=event.event_id, retry_safe=True)
        except Unroutable as exc:  # the topology is missing: nothing would keep it
            raise BrokerUnavailable(str(exc)) from None

    # RPC ----------------------------------------------------------------------
    async def call(self, service: str, method: str, *, timeout: float | None = None,
                   **kwargs):
        correlation_id = uuid.uuid4().hex
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._pending[correlation_id] = future
        try:
            try:
                await self._publisher.publish({"args": [], "kwargs": kwargs},
                                              exchange=RPC_EXCHANGE,
                                              routing_key=f"{service}.{method}",
                                              reply_to=self._reply_key,
                                              correlation_id=correlation_id)
            except Unroutable:
                raise ServiceUnavailable(f"{service} is not running") from None
            try:
                reply = await asyncio.wait_for(asyncio.wrap_future(future),
                                               timeout or self.rpc_timeout)
            except asyncio.TimeoutError:
                raise RpcTimeout(f"{service}.{method} did not answer in time") from None
        finally:
            self._pending.pop(correlation_id, None)
        error = reply.get("error")
        if error:
            raise RemoteCallError(error.get("exc_type", "RemoteError"), error.get("value", ""),
                                  error.get("exc_args"))
        return reply.get("result")

    def _on_reply(self, body, message) -> None:
        message.ack()
        future = self._pending.get(message.properties.get("correlation_id"))
        if future is not None and not future.done():
            future.set_result(body)

    def _consume_replies(self) -> None:
        while not self._stopping.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=30, connect_timeout=5) as conn:
                    conn.ensure_connection(max_retries=1)
                    if not self.topology_declared:
                        declare_all(conn.default_channel)
                        self.topology_declared = True
                    reply_queue = Queue(self._reply_key,
                                        exchange=Exchange(RPC_EXCHANGE, type="topic", durable=True),
                                        routing_key=self._reply_key, exclusive=True,
                                        auto_delete=True)
                    with Consumer(conn, queues=[reply_queue], callbacks=[self._on_reply],
                                  accept=["json"]):
                        self._consumer_ready.set()
                        while not self._stopping.is_set():
                            try:
                                conn.drain_events(timeout=1)
                            except TimeoutError:
                                conn.heartbeat_check()
            except Exception as exc:  # noqa: BLE001 - reconnect on any broker trouble
                self._consumer_ready.clear()
                log.warning("rpc reply consumer: %s; reconnecting", exc)
                self._stopping.wait(1.0)
        self._consumer_ready.clear()
