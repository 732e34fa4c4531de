"""The gateway's group-commit publisher against the real RabbitMQ: many requests share a
confirm round trip, each learns its own message's fate, and none is lost or doubled."""
from __future__ import annotations

import asyncio

import pytest
from kombu import Connection, Queue

from gateway.broker import BrokerUnavailable, GroupPublisher
from kit.relay import Unroutable
from tests.support.infra import broker_vhost

pytestmark = pytest.mark.integration


@pytest.fixture
def vhost():
    with broker_vhost() as uri:
        with Connection(uri) as conn:
            Queue("q", durable=True, exchange="", routing_key="q",
                  queue_arguments={"x-queue-type": "quorum"})(conn.default_channel).declare()
        yield uri


def depth(uri: str) -> int:
    with Connection(uri) as conn:
        return conn.default_channel.queue_declare("q", passive=True).message_count


def test_concurrent_publishes_are_each_confirmed_once_in_shared_batches(vhost):
    publisher = GroupPublisher(vhost, lanes=2)
    batches = []
    publisher._publish = lambda lane, items: batches.append(len(items)) or (
        GroupPublisher._publish(lane, items))
    publisher.start()

    async def main():
        await asyncio.gather(*(publisher.publish({"n": i}, exchange="", routing_key="q",
                                                 message_id=f"m{i}") for i in range(500)))
    try:
        asyncio.run(main())
    finally:
        publisher.stop()
    assert sum(batches) == 500 and depth(vhost) == 500
    assert len(batches) < 500, "requests waiting together must share a confirm round trip"


def test_an_unroutable_message_fails_alone_in_its_batch(vhost):
    publisher = GroupPublisher(vhost)
    publisher.start()

    async def main():
        return await asyncio.gather(
            publisher.publish({"n": 1}, exchange="", routing_key="q"),
            publisher.publish({"n": 2}, exchange="", routing_key="no-such-queue"),
            publisher.publish({"n": 3}, exchange="", routing_key="q"),
            return_exceptions=True)
    try:
        results = asyncio.run(main())
    finally:
        publisher.stop()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Unroutable)
    assert depth(vhost) == 2


def test_an_unreachable_broker_is_reported_not_waited_on_forever():
    publisher = GroupPublisher("amqp://guest:guest@127.0.0.1:1/")
    publisher.start()
    try:
        with pytest.raises(BrokerUnavailable):
            asyncio.run(asyncio.wait_for(
                publisher.publish({"n": 1}, exchange="", routing_key="q"), 30))
    finally:
        publisher.stop()


def test_a_request_that_gave_up_does_not_disturb_the_others(vhost):
    publisher = GroupPublisher(vhost)
    publisher.start()

    async def main():
        doomed = asyncio.create_task(publisher.publish({"n": 0}, exchange="", routing_key="q"))
        others = [publisher.publish({"n": i}, exchange="", routing_key="q") for i in (1, 2)]
        doomed.cancel()
        return await asyncio.gather(*others)
    try:
        assert asyncio.run(main()) == [None, None]
    finally:
        publisher.stop()
    assert depth(vhost) in (2, 3)  # the cancelled one may already have been on its way


def test_after_a_broken_connection_an_event_is_sent_again_but_an_rpc_request_is_not(vhost):
    import socket

    publisher = GroupPublisher(vhost, lanes=1)
    publisher.start()

    async def send(retry_safe):
        await publisher.publish({"n": 1}, exchange="", routing_key="q", retry_safe=retry_safe)

    def break_connection():
        publisher.lanes[0]._conn.connection.sock.shutdown(socket.SHUT_RDWR)

    try:
        asyncio.run(send(True))  # the lane's connection is open now
        break_connection()
        asyncio.run(send(True))  # an event: the broken connection is replaced, sent again
        assert depth(vhost) == 2
        break_connection()
        with pytest.raises(BrokerUnavailable):  # may have gone out: the caller decides
            asyncio.run(send(False))
        asyncio.run(send(False))  # the next one gets a fresh connection
    finally:
        publisher.stop()
    assert depth(vhost) == 3
