"""Confirmed publishing on the gateway's own event loop, without a thread between them.

kombu (py-amqp) makes the connection: the AMQP handshake, opening a channel and putting it
in confirm mode are blocking calls, run once in a worker thread. The connected socket is
then handed to asyncio. From there on:

- a request's message joins the link's list and is written on the loop's next turn,
  together with every other message that arrived meanwhile: py-amqp builds the frames
  (``Channel.basic_publish``), gathered into one write (``coalesced_writes``) that goes
  out through the asyncio transport, which never blocks the loop;
- frames from the broker arrive in ``data_received``, are cut here and handed to py-amqp's
  frame handler, which calls back for ``basic.ack``, ``basic.nack`` and ``basic.return``;
  each settles the futures of the messages it covers.

The thread hand-offs this replaces (a queue to publisher threads, their blocking confirm
wait, ``call_soon_threadsafe`` back) cost the gateway more CPU than the rest of a clue's
route. Publishing stays pipelined: messages go out while earlier ones await their confirm.

``await publish(...)`` returns once the broker confirmed the message as routed to a queue;
it raises ``Unroutable`` if no queue took it and ``BrokerUnavailable`` if the broker
refused it, could not be reached, did not confirm in time, or is not taking messages
(flow control). If the connection breaks, a message that was never written is sent on a
fresh connection; one that was written is sent again only if marked ``retry_safe`` (an
event, which consumers apply once by its id), never an RPC request.
"""
from __future__ import annotations

import asyncio
import logging
import struct
import uuid

import amqp
from kombu import Connection

from kit.relay import Unroutable, coalesced_writes, json_message

log = logging.getLogger(__name__)

FRAME_END = 0xCE
MAX_BUFFERED_BYTES = 8 * 1024 * 1024  # written but not yet taken by the broker


class BrokerUnavailable(Exception):
    """The broker did not confirm the message; nothing is promised to the client."""


class LinkLost(Exception):
    """The connection broke; ``sent`` says whether the message had been written to it."""

    def __init__(self, reason: str, *, sent: bool):
        super().__init__(reason)
        self.sent = sent


class _Link(asyncio.Protocol):
    """One AMQP connection with one confirm-mode channel, served by one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: Connection, channel):
        self.loop = loop
        self.conn = conn
        self.amqp = conn.connection
        self.channel = channel
        self.sock = self.amqp.transport.sock
        self.transport: asyncio.Transport | None = None
        self.broken: str | None = None
        self._inbound = bytearray()
        self._waiting: list[tuple[dict, asyncio.Future]] = []
        self._unconfirmed: dict[int, tuple[dict, asyncio.Future]] = {}
        self._returned: set[str] = set()
        self._next_tag = 1
        channel.events["basic_ack"].add(lambda tag, multiple: self._settle(tag, multiple, True))
        channel.events["basic_nack"].add(lambda tag, multiple: self._settle(tag, multiple,
                                                                            False))
        channel.events["basic_return"].add(
            lambda exc, exchange, routing_key, message:
            self._returned.add(message.properties.get("message_id")))

    @property
    def usable(self) -> bool:
        return self.broken is None and not self.loop.is_closed()

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.amqp.transport._write = transport.write  # py-amqp's frames go out via asyncio
        leftover = self.amqp.transport._read_buffer  # read by py-amqp before the hand-over
        self.amqp.transport._read_buffer = b""
        if leftover:
            self.data_received(leftover)

    def data_received(self, data: bytes) -> None:
        inbound = self._inbound
        inbound += data
        at, size_of = 0, len(inbound)
        try:
            while size_of - at >= 8:
                frame_type, channel, size = struct.unpack_from(">BHI", inbound, at)
                end = at + 7 + size
                if end >= size_of:
                    break
                if inbound[end] != FRAME_END:
                    raise ConnectionError(f"bad AMQP frame end {inbound[end]:#04x}")
                self.amqp.on_inbound_frame((frame_type, channel, bytes(inbound[at + 7:end])))
                at = end + 1
        except Exception as exc:  # noqa: BLE001 - a channel/connection close, a bad frame
            log.warning("publisher connection: %s; dropping it", exc)
            self.close(f"the connection failed: {exc}")
            return
        finally:
            del inbound[:at]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc}" if exc else "connection closed by the broker")

    # publishing ---------------------------------------------------------------------
    def submit(self, item: dict) -> asyncio.Future:
        """Queue ``item`` for the next write; the future settles with its confirm."""
        if self.transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            raise BrokerUnavailable("the broker is not taking messages (flow control)")
        future = self.loop.create_future()
        if not self._waiting:
            self.loop.call_soon(self._flush)
        self._waiting.append((item, future))
        return future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        if self.broken is not None:
            return
        first_tag = self._next_tag
        try:
            with coalesced_writes(self.amqp.transport):
                for item, future in waiting:
                    try:
                        self.channel.basic_publish(
                            item["message"], exchange=item["exchange"],
                            routing_key=item["routing_key"], mandatory=True)
                    except (TypeError, ValueError, amqp.exceptions.FrameSyntaxError) as exc:
                        # py-amqp could not encode it, before writing a byte of it: this
                        # message fails alone (a bug of the caller's, not the broker's)
                        if not future.done():
                            future.set_exception(exc)
                        continue
                    self._unconfirmed[self._next_tag] = (item, future)
                    self._next_tag += 1
        except Exception as exc:  # noqa: BLE001 - nothing of this batch was written
            log.warning("publishing failed: %s; dropping the connection", exc)
            for tag in range(first_tag, self._next_tag):
                self._unconfirmed.pop(tag, None)
            self._waiting = waiting
            self.close(f"publishing failed: {exc}")

    def _settle(self, tag: int, multiple: bool, ok: bool) -> None:
        if multiple:
            settled = []
            for pending in self._unconfirmed:  # insertion order is tag order
                if pending > tag:
                    break
                settled.append(pending)
        else:
            settled = [tag]
        for pending in settled:
            item, future = self._unconfirmed.pop(pending, (None, None))
            if future is None or future.done():  # its request gave up
                continue
            if not ok:
                future.set_exception(BrokerUnavailable("the broker refused the message"))
            elif item["message_id"] in self._returned:
                self._returned.discard(item["message_id"])
                future.set_exception(Unroutable(
                    f"{item['exchange']}/{item['routing_key']} has no queue"))
            else:
                future.set_result(None)

    # ending -------------------------------------------------------------------------
    def close(self, reason: str) -> None:
        self._fail(reason)
        if self.transport is not None and not self.loop.is_closed():
            self.transport.abort()
        else:
            try:
                self.sock.close()
            except OSError:
                pass

    def _fail(self, reason: str) -> None:
        if self.broken is not None:
            return
        self.broken = reason
        if not self.loop.is_closed():  # else nobody is waiting any more
            for settled, sent in ((self._waiting, False), (self._unconfirmed.values(), True)):
                for _, future in settled:
                    if not future.done():
                        future.set_exception(LinkLost(reason, sent=sent))
        self._waiting, self._unconfirmed = [], {}


class LoopPublisher:
    """Confirmed, persistent, mandatory publishing for the coroutines of one event loop
    (a new loop, as in tests, gets a connection of its own)."""

    def __init__(self, amqp_uri: str, *, confirm_timeout: float = 10.0,
                 connect_timeout: float = 5.0):
        self._amqp_uri = amqp_uri
        self._confirm_timeout = confirm_timeout
        self._connect_timeout = connect_timeout
        self._link: _Link | None = None
        self._connecting: asyncio.Task | None = None

    @property
    def link(self) -> _Link | None:
        return self._link

    async def publish(self, body: dict, *, exchange: str, routing_key: str,
                      message_id: str | None = None, retry_safe: bool = False,
                      **properties) -> None:
        message_id = message_id or uuid.uuid4().hex
        item = {"message": json_message(body, message_id, properties),
                "message_id": message_id, "exchange": exchange, "routing_key": routing_key}
        for attempt in (1, 2):
            link = await self._ready_link()
            future = link.submit(item)
            try:
                await asyncio.wait_for(future, self._confirm_timeout)
                return
            except LinkLost as exc:
                if attempt == 1 and (retry_safe or not exc.sent):
                    log.warning("publishing: %s; sending again on a fresh connection", exc)
                    continue
                raise BrokerUnavailable(str(exc)) from None
            except asyncio.TimeoutError:
                link.close("the broker did not confirm in time")
                raise BrokerUnavailable("the broker did not confirm in time") from None

    async def _ready_link(self) -> _Link:
        loop = asyncio.get_running_loop()
        link = self._link
        if link is not None and link.usable and link.loop is loop:
            return link
        connecting = self._connecting
        if connecting is None or connecting.get_loop() is not loop or connecting.done():
            connecting = self._connecting = loop.create_task(self._connect(loop))
        try:
            return await asyncio.shield(connecting)
        except BrokerUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - any connection trouble
            raise BrokerUnavailable(f"cannot reach the broker: {exc}") from None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Link:
        if self._link is not None:
            self._link.close("replaced")
            self._link = None

        def open_channel():
            conn = Connection(self._amqp_uri, heartbeat=0,
                              connect_timeout=self._connect_timeout)
            try:
                channel = conn.channel()
                channel.confirm_select()
            except Exception:
                conn.release()
                raise
            return conn, channel

        conn, channel = await loop.run_in_executor(None, open_channel)
        link = _Link(loop, conn, channel)
        try:
            link.sock.setblocking(False)
            await loop.create_connection(lambda: link, sock=link.sock)
        except BaseException:
            link.sock.close()
            raise
        self._link = link
        return link

    def stop(self) -> None:
        if self._link is not None:
            self._link.close("the publisher stopped")
            self._link = None
