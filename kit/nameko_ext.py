"""The nameko shell: a database dependency that hands out units of work, an outbox relay
running beside the workers, an event handler on quorum queues that requeues on error, and
each worker's correlation id for the logs."""
from __future__ import annotations

import functools
import itertools
import logging
import time

import amqp
import eventlet
from eventlet.event import Event as GreenEvent
from kombu import Connection
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer, QueueConsumer
from nameko.rpc import Rpc, RpcConsumer
from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker

from contracts.events import ALL_EVENTS
from contracts.topology import DLX_NAME, subscription
from kit import logs, metrics
from kit.db import make_engine
from kit.relay import RELAY_BATCH, BatchPublisher, relay_once, relay_sessions
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork, apply_each, consumer_name

log = logging.getLogger(__name__)


class Store(DependencyProvider):
    """Injects units of work on the service's own database (its outbox and inbox tables).

    Also relays the outbox: a green thread publishes committed events, woken after
    every commit that emitted some and polling once a second in case another process
    wrote them. A commit during a relay pass wakes the next pass at once.
    """

    def __init__(self, outbox_table, inbox_table, poll_interval: float = 1.0,
                 unit_of_work: type[UnitOfWork] = UnitOfWork):
        self.unit_of_work = unit_of_work  # a service's own, offering its repositories
        self.outbox = Outbox(outbox_table)
        self.inbox = Inbox(inbox_table)
        self.poll_interval = poll_interval
        self._wake = GreenEvent()
        self._running = False

    def setup(self):
        config = self.container.config
        self.engine = make_engine(config["DATABASE_URL"])
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.relay_sessions = relay_sessions(self.engine)
        self.publisher = BatchPublisher(config["AMQP_URI"], heartbeat=0)

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
                moved = relay_once(self.relay_sessions, self.outbox, self.publisher)
            except Exception as exc:  # noqa: BLE001 - keep relaying after broker trouble
                log.warning("outbox relay: %s; retrying", exc)
                self.publisher.close()
                eventlet.sleep(1.0)
                continue
            if moved >= RELAY_BATCH:
                continue  # a full batch: more may wait; a partial one emptied the outbox
            with eventlet.Timeout(self.poll_interval, False):
                self._wake.wait()
            self._wake = GreenEvent()
        self.publisher.close()

    def new_uow(self) -> UnitOfWork:
        return self.unit_of_work(self.session_factory, self.outbox, self.inbox,
                                 on_commit=self.wake)

    def get_dependency(self, worker_ctx):
        return StoreAccess(self.new_uow,
                           consumer_name(worker_ctx.service_name,
                                         worker_ctx.entrypoint.method_name),
                           getattr(worker_ctx.entrypoint, "contract", None))


class Poison:
    """A message that can never be applied (it breaks its contract): not done, and not to
    be retried either. Falsy, like a message that is not done."""

    def __init__(self, reason: str):
        self.reason = reason

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Poison({self.reason!r})"


def contract_violation(contract, exc: ValidationError) -> str:
    """Where and how a body breaks its contract, without the values it holds."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['type']}"
                         for e in exc.errors(include_url=False, include_input=False)[:10])
    return f"breaks its contract {contract.__name__}: {problems}"


class StoreAccess:
    """What a worker gets: ``self.uow()`` for one unit of work, ``self.uow.each(bodies,
    apply)`` to apply a batch of messages in one transaction.

    ``each`` validates each body against the handler's contract first: ``apply(uow,
    message)`` gets the validated message, and a body that breaks the contract is not
    applied but answered ``Poison`` (the handler dead-letters it at once). It claims the
    batch's event ids in the inbox at once, under the handler's ``consumer_name``, which
    every unit of work it hands out carries (``uow.consume_once(id)`` checks under it)."""

    def __init__(self, new_uow, consumer: str, contract=None):
        self._new_uow = new_uow
        self.consumer = consumer
        self.contract = contract

    def __call__(self) -> UnitOfWork:
        return self._new_uow()

    def each(self, bodies: list, apply) -> list:
        outer = logs.correlation_id()  # each message binds its own meanwhile
        try:
            return self._each(bodies, apply)
        finally:
            logs.bind(outer)

    def _each(self, bodies: list, apply) -> list:
        if self.contract is None:
            ids = [b["event_id"] for b in bodies if isinstance(b, dict)
                   and isinstance(b.get("event_id"), str)]
            done = apply_each(self._new_uow, bodies, correlated(apply), self.consumer,
                              claim=ids)
            applied(self.consumer, bodies, done)
            return done
        verdicts: list = [None] * len(bodies)
        valid: list[tuple[int, object]] = []
        for i, body in enumerate(bodies):
            try:
                valid.append((i, self.contract.model_validate(body)))
            except ValidationError as exc:
                verdicts[i] = Poison(contract_violation(self.contract, exc))
        if valid:
            messages = [m for _, m in valid]
            done = apply_each(self._new_uow, messages, correlated(apply), self.consumer,
                              claim=[m.event_id for m in messages])
            applied(self.consumer, messages, done)
            for (i, _), ok in zip(valid, done):
                verdicts[i] = ok
        return verdicts


def correlation_of(message) -> tuple[str | None, str | None]:
    """A message's (event id, correlation id); an event published without a correlation id
    (an older producer's) is its own."""
    if isinstance(message, dict):
        event_id, cid = message.get("event_id"), message.get("correlation_id")
    else:
        event_id, cid = getattr(message, "event_id", None), getattr(message, "correlation_id",
                                                                    None)
    return event_id, (cid if isinstance(cid, str) else None) or event_id


def correlated(apply):
    """``apply`` with each message's correlation id bound while it runs, so that what it
    logs and the events it emits carry it. It stays bound after a failure, for the line
    ``apply_each`` logs about that message next; ``StoreAccess.each`` restores the one
    before."""
    def apply_correlated(uow, message):
        logs.bind(correlation_of(message)[1])
        return apply(uow, message)
    return apply_correlated


def applied(consumer: str, messages: list, done: list) -> None:
    """One line per batch applied, after its commit: the event types, how many, each
    message's ``event_ids`` and ``correlation_ids`` (``grep <id>`` finds it), and
    ``correlation_id`` when they share one (a batch of one, as when the load is light).
    A line a message cost intake a fifth more CPU a message (``python -m bench.logs``);
    busy queues make big batches, so this costs next to nothing under load."""
    logs.bind(None)  # the line is about the batch, not its last message
    if not log.isEnabledFor(logging.INFO):
        return
    ids = [correlation_of(m) for m, ok in zip(messages, done) if ok]
    if not ids:
        return
    kinds = {getattr(m, "routing_key", None) or consumer for m, ok in zip(messages, done) if ok}
    cids = [cid for _, cid in ids]
    extra = {"consumer": consumer, "messages": len(ids), "event_ids": [e for e, _ in ids],
             "correlation_ids": cids}
    if len(set(cids)) == 1:
        extra["correlation_id"] = cids[0]
    log.info("applied %s", ", ".join(sorted(kinds)), extra=extra)


class Correlation(DependencyProvider):
    """Each worker's correlation id (``kit.logs``): an RPC's from its caller (the
    ``nameko.correlation_id`` header, nameko's context data, which nameko's own RPC proxies
    pass on), a new one for a timer's run; an event handler binds each message's own while
    applying it (``StoreAccess.each``). One line per RPC call answered (a refusal is
    nameko's one line, ``kit.logs.ExpectedRefusals``)."""

    QUIET = frozenset({"health"})  # polled by readiness checks

    def __init__(self):
        self._started: dict[int, float] = {}

    def worker_setup(self, worker_ctx):
        data = worker_ctx.context_data
        cid = data.get("correlation_id")
        if not isinstance(cid, str) and not isinstance(worker_ctx.entrypoint, EventHandler):
            cid = data["correlation_id"] = logs.new_correlation_id()
        logs.bind(cid if isinstance(cid, str) else None)
        self._started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(id(worker_ctx), None)
        entrypoint = worker_ctx.entrypoint
        if (exc_info is None and started is not None and isinstance(entrypoint, Rpc)
                and entrypoint.method_name not in self.QUIET):
            log.info("rpc %s.%s", worker_ctx.service_name, entrypoint.method_name,
                     extra={"ms": round((time.perf_counter() - started) * 1000, 1)})

    def worker_teardown(self, worker_ctx):
        self._started.pop(id(worker_ctx), None)
        logs.bind(None)


def contract_for(source: str, event_type: str):
    """The event class published by ``source`` as ``event_type``, if exactly one is."""
    found = [e for e in ALL_EVENTS if e.source == source and e.event_type == event_type]
    return found[0] if len(found) == 1 else None


def dead_letter(amqp_uri: str, message, queue: str, reason: str) -> None:
    """Publish ``message`` as it came to the dead-letter exchange, with ``x-poison-reason``
    and ``x-poison-queue`` headers, and wait for the broker's confirm. Raises if the broker
    did not take it (the caller then requeues the original)."""
    headers = {**(message.headers or {}), "x-poison-reason": reason[:1000],
               "x-poison-queue": queue}
    properties = {k: v for k, v in message.properties.items()
                  if k in ("content_type", "content_encoding", "message_id", "correlation_id",
                           "timestamp", "type", "app_id")}
    raw = message.body if isinstance(message.body, (bytes, bytearray)) \
        else str(message.body).encode()
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        channel.confirm_select()
        channel.basic_publish_confirm(
            amqp.Message(bytes(raw), application_headers=headers, delivery_mode=2,
                         **properties),
            exchange=DLX_NAME, routing_key=queue, mandatory=True, confirm_timeout=10)


class BatchingQueueConsumer(QueueConsumer):
    """nameko's queue consumer for batching handlers.

    - It hands each message to the handler from the consumer's green thread, where
      nameko would spawn a green thread per message (costing more than buffering it).
    - It lets two batches' worth of messages be unacknowledged per queue, so the next
      batch gathers while one is being applied.
    - It acknowledges a batch with one ``multiple`` ack when no other message delivered
      on the channel before the batch's last one is still open (the handlers share the
      channel); otherwise message by message.
    """

    def __init__(self, max_batch: int = 64):
        super().__init__()
        self.max_batch = max_batch
        self._open: dict = {}  # channel -> delivery tags not yet acked or requeued

    @property
    def prefetch_count(self):
        return 2 * self.max_batch

    def handle_message(self, provider, body, message):
        self._open.setdefault(message.channel, set()).add(message.delivery_tag)
        try:
            provider.handle_message(body, message)
        except Exception:  # noqa: BLE001 - never let one message stop the consumer
            log.exception("buffering a message failed; it is requeued")
            self.requeue_message(message)

    def on_decode_error(self, message, exc):
        """kombu acks and drops a message it cannot decode; it goes to the dead letters
        instead, with the reason. Its tag counts as open meanwhile, so that no batch's
        ``multiple`` ack covers it."""
        self._open.setdefault(message.channel, set()).add(message.delivery_tag)
        queue = self._queue_of(message)
        self.poison(message, queue, f"not decodable as JSON ({type(exc).__name__}: {exc})")

    def _queue_of(self, message) -> str:
        tag = message.delivery_info.get("consumer_tag")
        for consumer in self._consumers.values():
            for queue, consumer_tag in getattr(consumer, "_active_tags", {}).items():
                if consumer_tag == tag:
                    return queue
        return "unknown"

    def poison(self, message, queue: str, reason: str) -> None:
        """Dead-letter ``message`` at once with ``reason`` and acknowledge it; if the
        dead-letter publish fails, requeue it (it comes back and is tried again)."""
        try:
            dead_letter(self.amqp_uri, message, queue, reason)
        except Exception as exc:  # noqa: BLE001 - the message must not be lost meanwhile
            log.warning("could not dead-letter a poison message from %s (%s); requeued",
                        queue, exc)
            self.requeue_message(message)
            return
        log.warning("dead-lettered a message from %s: %s", queue, reason)
        metrics.DEAD_LETTERED.labels(queue).inc()
        self.ack_message(message)

    def _settled(self, message) -> None:
        tags = self._open.get(message.channel)
        if tags is not None:
            tags.discard(message.delivery_tag)

    def ack_message(self, message):
        super().ack_message(message)
        self._settled(message)

    def requeue_message(self, message):
        super().requeue_message(message)
        self._settled(message)

    def ack_messages(self, messages: list) -> None:
        """Acknowledge these messages: per channel, one ``multiple`` ack where that acks
        exactly them."""
        by_channel: dict = {}
        for message in messages:
            by_channel.setdefault(message.channel, []).append(message)
        for channel, group in by_channel.items():
            tags = {m.delivery_tag for m in group}
            last = max(group, key=lambda m: m.delivery_tag)
            still_open = self._open.get(channel, set())
            if len(group) > 1 and channel.connection and all(
                    tag in tags for tag in still_open if tag <= last.delivery_tag):
                try:
                    last.ack(multiple=True)
                except ConnectionError:  # the broker takes them back; they come again
                    pass
                still_open.difference_update(tags)
            else:
                for message in group:
                    self.ack_message(message)
        for channel in [c for c, tags in self._open.items() if not tags or not c.connection]:
            del self._open[channel]  # nor do a closed channel's tags pile up


class ReliableEventHandler(EventHandler):
    """``@event_handler`` on a quorum queue declared in ``contracts.topology``, in batches.

    Messages that arrive together (up to ``max_batch``, waiting at most ``max_wait`` s for
    more) go to one worker as a list of bodies; the method returns, per body, whether it is
    done. One batch per handler is in flight at a time: what arrives meanwhile forms the
    next batch, so busy queues get big batches and no two transactions of one handler
    contend for the same rows. Done messages are acked (after the commit), the others requeued: nameko's plain
    ``event_handler`` would ack and drop a message whose handler raised. After the delivery
    limit the broker dead-letters a message that keeps failing.

    Poison goes to the dead letters at once, with an ``x-poison-reason`` header: a body
    that breaks the handler's ``contract`` (the event class for ``source``/``event_type``
    in ``contracts.events``, or ``contract=``), and a message that is not JSON at all.
    """

    queue_consumer = BatchingQueueConsumer()

    def __init__(self, source_service, event_type, max_batch: int = 64,
                 max_wait: float = 0.005, contract=None, **kwargs):
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)
        self.contract = contract
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._buffer: list = []
        self._timer = None
        self._in_flight = False
        self._queue_name = "unset"  # the metrics' label, once set up

    def setup(self):
        sub = subscription(self.source_service, self.event_type,
                           self.container.service_name, self.method_name)
        self.queue = sub.queue()
        self.contract = self.contract or contract_for(self.source_service, self.event_type)
        if self.contract is None:
            raise LookupError(f"{sub.queue_name}: name the handler's contract "
                              "(contract=<an event of contracts.events>)")
        Consumer.setup(self)
        self._queue_name = self.queue.name
        metrics.queue_known(self.queue.name,
                            consumer_name(self.container.service_name, self.method_name))

    def handle_message(self, body, message):
        if getattr(message, "delivery_info", {}).get("redelivered"):
            metrics.REDELIVERED.labels(self._queue_name).inc()
        self._buffer.append((body, message))
        if self._in_flight:
            return  # the batch in flight flushes this one when it is done
        if len(self._buffer) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = eventlet.spawn_after(self.max_wait, self._flush)

    def _flush(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._in_flight or not self._buffer:
            return
        batch, self._buffer = self._buffer[:self.max_batch], self._buffer[self.max_batch:]
        self._in_flight = True
        messages = [message for _, message in batch]
        try:
            self.container.spawn_worker(
                self, ([body for body, _ in batch],), {},
                context_data=self.unpack_message_headers(messages[0]),
                handle_result=functools.partial(self._handle_batch_result, messages,
                                                time.perf_counter()))
        except ContainerBeingKilled:
            self._in_flight = False
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def _handle_batch_result(self, messages, started, worker_ctx, result=None,
                             exc_info=None):
        queue = self._queue_name
        metrics.BATCH_SECONDS.labels(queue).observe(time.perf_counter() - started)
        done = result if exc_info is None and isinstance(result, list) else []
        acked, requeued = [], 0
        for message, ok in itertools.zip_longest(messages, done[:len(messages)]):
            if ok:
                acked.append(message)
            elif isinstance(ok, Poison):  # settled first, so that a multiple ack cannot cover it
                self.queue_consumer.poison(message, self.queue.name, ok.reason)
            else:  # requeued first, so that a multiple ack cannot cover it
                self.queue_consumer.requeue_message(message)
                requeued += 1
        self.queue_consumer.ack_messages(acked)
        metrics.CONSUMED.labels(queue).inc(len(acked))
        if requeued:
            metrics.REQUEUED.labels(queue).inc(requeued)
        self._in_flight = False
        if self._buffer:
            eventlet.spawn_n(self._flush)
        return result, exc_info


reliable_event_handler = ReliableEventHandler.decorator


class ReplyTolerantRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, except that an answer the broker cannot take does not kill the
    service. nameko lets the container die when sending a reply fails ("for another
    victim"), and with it every consumer of the process, which then never reconnects: the
    fault suite's cut broker connection left the ledger running without a single consumer.
    Here the request goes back to its queue instead (or, its channel gone too, the broker
    takes it back itself) and is answered again once the connection is back, as nameko
    would have had another process do; the caller, meanwhile, has timed out and retries."""

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except (KombuOperationalError, amqp.exceptions.ConnectionError, OSError) as exc:
            log.warning("could not send an RPC reply (%s); the request is requeued", exc)
            try:
                self.requeue_message(message)
            except Exception:  # noqa: BLE001 - its channel is gone: the broker requeues it
                pass
            return result, exc_info


class ReplyTolerantRpc(Rpc):
    rpc_consumer = ReplyTolerantRpcConsumer()


rpc = ReplyTolerantRpc.decorator
"""``@rpc`` for the services: nameko's, on ``ReplyTolerantRpcConsumer``."""


# --- metrics (kit.metrics holds the definitions; this is their nameko shell, kept here so
# the gateway, which counts with kit.metrics too, never imports nameko and eventlet) -------

class ServiceMetrics(DependencyProvider):
    """Times every RPC call, registers the service's gauges, and serves ``/metrics`` on
    ``METRICS_PORT`` (0 or unset: not served; the counters still count) at
    ``METRICS_HOST``."""

    def __init__(self, gauges=(), known=()):
        self.gauges = list(gauges)
        self.known = list(known)  # create known series at 0 (e.g. ``deliveries_known``)
        self._started: dict = {}

    def setup(self):
        stores = [d for d in self.container.dependencies if isinstance(d, Store)]
        self.service = self.container.service_name
        for create in self.known:
            create()
        self.store = stores[0] if stores else None

    def start(self):
        config = dict(self.container.config)
        queues = sorted({e.queue.name for e in self.container.entrypoints
                         if type(e).__name__ == "ReliableEventHandler"})
        sources = ([metrics.queue_gauges(config["AMQP_URI"], queues)]
                   if queues and config.get("AMQP_URI") else [])
        if self.store is not None:  # its session factory exists once every setup ran
            sources += [metrics.from_store(self.store.session_factory, gauges, config) for gauges in
                        (metrics.outbox_gauges(self.service, self.store.outbox.table), *self.gauges)]
        metrics.SCRAPE_GAUGES.sources[id(self)] = sources
        port = int(self.container.config.get("METRICS_PORT") or 0)
        if port:
            host = self.container.config.get("METRICS_HOST") or "127.0.0.1"
            try:
                self._listener = _listen(host, port)
            except OSError as exc:  # the service still works; Prometheus shows it down
                log.warning("metrics: cannot listen on %s:%s (%s); not serving /metrics",
                            host, port, exc)
                return
            self._server = self.container.spawn_managed_thread(self._serve,
                                                               identifier="metrics-http")
            log.info("metrics on http://%s:%s/metrics", host, port)

    def _serve(self):
        import eventlet.wsgi

        eventlet.wsgi.server(self._listener, metrics.make_wsgi_app(metrics.REGISTRY), log_output=False)

    def stop(self):
        metrics.SCRAPE_GAUGES.sources.pop(id(self), None)
        server = getattr(self, "_server", None)
        if server is not None:
            server.kill()
            self._listener.close()
            self._server = None

    def kill(self):
        self.stop()

    def worker_setup(self, worker_ctx):
        if isinstance(worker_ctx.entrypoint, Rpc):
            self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], tuple(entrypoint.expected_exceptions or ())):
            outcome = "refused"
        else:
            outcome = "error"
        metrics.RPC_SECONDS.labels(self.service, entrypoint.method_name, outcome).observe(
            time.perf_counter() - started)

    def worker_teardown(self, worker_ctx):
        self._started.pop(worker_ctx, None)


def _listen(host: str, port: int):
    import eventlet

    return eventlet.listen((host, port))
