"""The gateway's loop publisher against the real RabbitMQ: many requests share a write and
the confirms that answer it, each learns its own message's fate, and none is lost or
doubled, also when the connection breaks."""
from __future__ import annotations

import asyncio
import socket

import pytest
from kombu import Connection, Queue

from gateway.publisher import BrokerUnavailable, LoopPublisher
from kit.relay import Unroutable
from tests.support.infra import broker_vhost

pytestmark = pytest.mark.integration


QUEUE = Queue("q", durable=True, exchange="", routing_key="q",
              queue_arguments={"x-queue-type": "quorum"})


@pytest.fixture
def vhost():
    with broker_vhost() as uri:
        with Connection(uri) as conn:
            QUEUE(conn.default_channel).declare()
        yield uri


def drain(uri: str) -> list[tuple[str, dict]]:
    """Every message in "q": (message id, body)."""
    got = []
    with Connection(uri) as conn:
        simple = conn.SimpleQueue(QUEUE)
        while True:
            try:
                message = simple.get(timeout=0.5)
            except simple.Empty:
                break
            got.append((message.properties["message_id"], message.payload))
            message.ack()
        simple.close()
    return got


def test_concurrent_publishes_are_each_confirmed_once_sharing_writes(vhost):
    publisher = LoopPublisher(vhost)
    writes = []

    async def main():
        await publisher.publish({"n": -1}, exchange="", routing_key="q", message_id="warm")
        transport = publisher.link.amqp.transport
        write = transport._write
        transport._write = lambda data: (writes.append(len(data)), write(data))[1]
        await asyncio.gather(*(publisher.publish({"n": i}, exchange="", routing_key="q",
                                                 message_id=f"m{i}") for i in range(500)))
    try:
        asyncio.run(main())
    finally:
        publisher.stop()
    got = drain(vhost)
    assert got == [("warm", {"n": -1})] + [(f"m{i}", {"n": i}) for i in range(500)]
    assert len(writes) < 50, "requests arriving together must share a write"


def publish_three(uri: str, **middle) -> list:
    """Publish n = 1, 2, 3 together, the second with ``middle`` as its arguments; each
    one's outcome (None or the exception)."""
    publisher = LoopPublisher(uri)

    async def main():
        return await asyncio.gather(*(publisher.publish(
            {"n": n}, **{"exchange": "", "routing_key": "q", **(middle if n == 2 else {})})
            for n in (1, 2, 3)), return_exceptions=True)
    try:
        return asyncio.run(main())
    finally:
        publisher.stop()


def test_an_unroutable_message_fails_alone(vhost):
    results = publish_three(vhost, routing_key="no-such-queue")
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Unroutable)
    assert [body for _, body in drain(vhost)] == [{"n": 1}, {"n": 3}]


def test_a_missing_exchange_is_refused_and_the_next_message_still_goes(vhost):
    publisher = LoopPublisher(vhost)

    async def main():
        with pytest.raises(BrokerUnavailable):  # the broker closes the channel
            await publisher.publish({"n": 1}, exchange="no-such-exchange", routing_key="q")
        await publisher.publish({"n": 2}, exchange="", routing_key="q")
    try:
        asyncio.run(main())
    finally:
        publisher.stop()
    assert [body for _, body in drain(vhost)] == [{"n": 2}]


def test_an_unreachable_broker_is_reported_not_waited_on_forever():
    publisher = LoopPublisher("amqp://guest:guest@127.0.0.1:1/")
    try:
        with pytest.raises(BrokerUnavailable):
            asyncio.run(asyncio.wait_for(
                publisher.publish({"n": 1}, exchange="", routing_key="q"), 30))
    finally:
        publisher.stop()


def test_a_request_that_gave_up_does_not_disturb_the_others(vhost):
    publisher = LoopPublisher(vhost)

    async def main():
        await publisher.publish({"n": -1}, exchange="", routing_key="q")
        doomed = asyncio.create_task(publisher.publish({"n": 0}, exchange="", routing_key="q"))
        others = [publisher.publish({"n": i}, exchange="", routing_key="q") for i in (1, 2)]
        await asyncio.sleep(0)
        doomed.cancel()
        return await asyncio.gather(*others)
    try:
        assert asyncio.run(main()) == [None, None]
    finally:
        publisher.stop()
    assert len(drain(vhost)) in (3, 4)  # the cancelled one may already have been on its way


def test_after_a_broken_connection_an_event_is_sent_again_but_an_rpc_request_is_not(vhost):
    publisher = LoopPublisher(vhost)
    broken = []  # the numbers of the messages whose connection broke, event then request

    async def main():
        await publisher.publish({"n": 1}, exchange="", routing_key="q")  # connected now

        async def broken_then(retry_safe, n):
            """Publish, and break the connection once the message is written. If the broker
            confirmed it before the break could land (a race a busy machine wins: the test
            once spun here until its 600 s timeout), publish another (n + 10, n + 20, ...)."""
            for attempt in range(20):
                link = publisher.link
                sending = asyncio.create_task(publisher.publish(
                    {"n": n + 10 * attempt}, exchange="", routing_key="q",
                    retry_safe=retry_safe))
                while not link._unconfirmed and not sending.done():
                    await asyncio.sleep(0)
                if sending.done():
                    await sending  # confirmed whole: no break to observe; again
                    continue
                broken.append(n + 10 * attempt)
                link.sock.shutdown(socket.SHUT_RDWR)
                return await sending
            raise AssertionError("20 messages confirmed before a break could land")

        await broken_then(True, 2)  # an event: sent again on a fresh connection
        with pytest.raises(BrokerUnavailable):  # may have gone out: the caller decides
            await broken_then(False, 3)
        await publisher.publish({"n": 4}, exchange="", routing_key="q")  # a fresh connection
    try:
        asyncio.run(main())
    finally:
        publisher.stop()
    bodies = [body["n"] for _, body in drain(vhost)]
    assert bodies.count(1) == 1 and bodies.count(4) == 1
    event, request = broken
    assert 1 <= bodies.count(event) <= 2  # written once before the break, maybe kept
    assert bodies.count(request) <= 1


def test_each_event_loop_gets_a_connection_of_its_own(vhost):
    publisher = LoopPublisher(vhost)
    try:
        for n in range(3):  # asyncio.run makes a new loop each time
            asyncio.run(publisher.publish({"n": n}, exchange="", routing_key="q"))
    finally:
        publisher.stop()
    assert [body["n"] for _, body in drain(vhost)] == [0, 1, 2]


def test_a_confirm_that_does_not_come_in_time_is_an_error_and_the_link_is_replaced(vhost):
    publisher = LoopPublisher(vhost, confirm_timeout=0.000001)

    async def main():
        with pytest.raises(BrokerUnavailable, match="in time"):
            await publisher.publish({"n": 1}, exchange="", routing_key="q")
        first = publisher.link
        assert first.broken  # a link that let a confirm wait is not trusted again
        publisher._confirm_timeout = 10.0
        await publisher.publish({"n": 2}, exchange="", routing_key="q")
        assert publisher.link is not first
    try:
        asyncio.run(main())
    finally:
        publisher.stop()
    assert [body["n"] for _, body in drain(vhost)][-1] == 2  # 1 went out, unconfirmed


def test_a_message_that_cannot_be_encoded_fails_alone(vhost):
    results = publish_three(vhost, message_id=12345)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], TypeError)
    assert [body["n"] for _, body in drain(vhost)] == [1, 3]
