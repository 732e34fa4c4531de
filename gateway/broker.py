"""The gateway's broker client: nameko's event and RPC wire formats spoken with kombu.

- Publishing (events and RPC requests) runs on the event loop itself
  (``gateway.publisher.LoopPublisher``): one confirm-mode connection whose socket asyncio
  serves; requests await their message's confirm, many sharing each write.
- One thread of its own reads RPC replies from one reply queue per gateway process.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import uuid

from kombu import Connection, Consumer, Exchange, Queue

from contracts.events import Event
from contracts.topology import RPC_EXCHANGE, declare_all, event_exchange
from gateway.publisher import BrokerUnavailable, LoopPublisher
from kit import logs
from kit.relay import Unroutable

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """No instance of the service is consuming its RPC queue."""


class RpcTimeout(Exception):
    pass


class RemoteCallError(Exception):
    """A service answered an RPC with an error; ``error`` is nameko's reply as it came
    (``exc_type``, ``exc_path``, ``exc_args``, ``value``). ``gateway.errors`` decides what
    of it a caller may see: only one of ``kit.errors``' refusals, never anything else."""

    def __init__(self, error: dict):
        super().__init__(str(error.get("exc_type", "RemoteError")))
        self.error = error
        self.exc_type = str(error.get("exc_type", "RemoteError"))


class Broker:
    def __init__(self, amqp_uri: str, *, rpc_timeout: float = 10.0):
        self.amqp_uri = amqp_uri
        self.rpc_timeout = rpc_timeout
        self._publisher = LoopPublisher(amqp_uri)
        self._pending: dict[str, concurrent.futures.Future] = {}
        self._reply_key = f"rpc.reply-gateway-{uuid.uuid4().hex}"
        self._stopping = threading.Event()
        self._consumer_ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.topology_declared = False

    # life cycle -------------------------------------------------------------
    def start(self) -> None:
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
        correlation_id = uuid.uuid4().hex  # AMQP's: pairs the reply with this call
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._pending[correlation_id] = future
        request_id = logs.correlation_id()  # the logs': the request's, in nameko's context
        headers = {"nameko.correlation_id": request_id} if request_id else {}
        try:
            try:
                await self._publisher.publish({"args": [], "kwargs": kwargs},
                                              exchange=RPC_EXCHANGE,
                                              routing_key=f"{service}.{method}",
                                              reply_to=self._reply_key,
                                              correlation_id=correlation_id,
                                              headers=headers)
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
            raise RemoteCallError(error if isinstance(error, dict) else {"value": str(error)})
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
