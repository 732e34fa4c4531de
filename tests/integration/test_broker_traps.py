"""The broker traps the foundation closes, shown against the real RabbitMQ."""
from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Queue
from sqlalchemy.orm import sessionmaker

from contracts.events import ClueFields, ClueSubmitted
from contracts.topology import DEAD_LETTER_QUEUE, SUBSCRIPTIONS, declare_all, quorum_arguments
from kit.db import make_engine
from kit.relay import BatchPublisher, Unroutable, relay_once
from kit.store import Outbox
from services.intake.adapters import orm as intake_orm
from tests.support.infra import broker_vhost

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_vhost():
    """A vhost with nothing declared in it."""
    with broker_vhost() as uri:
        yield uri


def an_event() -> ClueSubmitted:
    clue_id = uuid.uuid4().hex
    return ClueSubmitted(event_id=clue_id, clue_id=clue_id, receipt_code="AAAA-BBBB-CCCC-DDDD",
                         clue=ClueFields(channel="letter", title="标题", description="描述内容"))


def test_publishing_where_no_queue_is_bound_is_refused_not_lost(fresh_vhost):
    with Connection(fresh_vhost) as conn:
        from contracts.topology import event_exchange
        event_exchange("gateway").declare(channel=conn.default_channel)
    publisher = BatchPublisher(fresh_vhost)
    outcomes = publisher.publish_batch([{"id": "m1", "body": {"x": 1}, "exchange": "gateway.events",
                                         "routing_key": "clue_submitted"}])
    assert outcomes == [BatchPublisher.UNROUTABLE]
    publisher.close()


def test_the_relay_keeps_an_unroutable_event_until_its_queue_exists(fresh_vhost, tmp_path):
    from kit.migrate import upgrade
    from tests.integration.test_stores import ROOT

    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade(ROOT / "services" / "intake", url)
    factory = sessionmaker(make_engine(url))
    outbox = Outbox(intake_orm.outbox_table)
    with factory() as session:
        outbox.add(session, an_event())
        session.commit()
    with Connection(fresh_vhost) as conn:
        from contracts.topology import event_exchange
        event_exchange("gateway").declare(channel=conn.default_channel)
    publisher = BatchPublisher(fresh_vhost)
    with pytest.raises(Unroutable):
        relay_once(factory, outbox, publisher)
    with factory() as session:
        assert outbox.count(session) == 1
    with Connection(fresh_vhost) as conn:
        declare_all(conn.default_channel)
    publisher = BatchPublisher(fresh_vhost)
    assert relay_once(factory, outbox, publisher) == 1
    with factory() as session:
        assert outbox.count(session) == 0
    queue = next(s for s in SUBSCRIPTIONS if s.event_type == "clue_submitted").queue_name
    with Connection(fresh_vhost) as conn:
        assert conn.default_channel.queue_declare(queue, passive=True).message_count == 1
    publisher.close()


def test_event_queues_are_quorum_queues_with_a_delivery_limit_and_dead_lettering(fresh_vhost):
    with Connection(fresh_vhost) as conn:
        declare_all(conn.default_channel)
        channel = conn.default_channel
        for sub in SUBSCRIPTIONS:
            # Re-declaring with the same arguments succeeds; different ones would be refused.
            channel.queue_declare(sub.queue_name, durable=True, auto_delete=False,
                                  arguments=quorum_arguments())
        with pytest.raises(Exception, match="PRECONDITION_FAILED|inequivalent"):
            conn.channel().queue_declare(SUBSCRIPTIONS[0].queue_name, durable=True, auto_delete=False,
                                         arguments={"x-queue-type": "classic"})
        assert conn.channel().queue_declare(DEAD_LETTER_QUEUE, passive=True) is not None


def test_a_relay_batch_removes_what_was_confirmed_and_keeps_what_found_no_queue(fresh_vhost,
                                                                               tmp_path):
    from kit.migrate import upgrade
    from tests.integration.test_stores import ROOT

    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade(ROOT / "services" / "intake", url)
    factory = sessionmaker(make_engine(url))
    outbox = Outbox(intake_orm.outbox_table)
    with factory() as session:
        for _ in range(3):
            outbox.add(session, an_event())
        session.execute(intake_orm.outbox_table.update().where(
            intake_orm.outbox_table.c.id == 2).values(event_type="nobody_listens"))
        session.commit()
    with Connection(fresh_vhost) as conn:
        declare_all(conn.default_channel)
    publisher = BatchPublisher(fresh_vhost)
    with pytest.raises(Unroutable):
        relay_once(factory, outbox, publisher)
    with factory() as session:
        assert [r["event_type"] for r in outbox.pending(session)] == ["nobody_listens"]
    publisher.close()


def test_a_batch_goes_out_in_one_write_and_arrives_whole_and_in_order(fresh_vhost):
    """coalesced_writes: py-amqp's per-frame writes are gathered into one ``sendall`` per
    batch; every message still arrives intact (one larger than a frame among them)."""
    queue = Queue("batch-probe", durable=True, queue_arguments={"x-queue-type": "quorum"})
    with Connection(fresh_vhost) as conn:
        queue(conn.default_channel).declare()
    publisher = BatchPublisher(fresh_vhost)
    publisher._ensure()
    transport = publisher._conn.connection.transport
    writes = []
    sendall = transport._write
    transport._write = lambda data: (writes.append(len(data)), sendall(data))[1]
    bodies = [{"n": i, "text": "线索" * (i * 7)} for i in range(40)]
    bodies.append({"n": 40, "text": "大" * 200_000})  # > frame_max: split into body frames
    items = [{"id": f"m{b['n']}", "body": b, "exchange": "", "routing_key": "batch-probe"}
             for b in bodies]
    assert publisher.publish_batch(items) == [BatchPublisher.CONFIRMED] * len(items)
    assert len(writes) == 1 and writes[0] > 600_000
    publisher.close()
    with Connection(fresh_vhost) as conn:
        simple = conn.SimpleQueue(queue)
        got = []
        for _ in bodies:
            message = simple.get(timeout=5)
            got.append((message.properties["message_id"], message.payload))
            message.ack()
        simple.close()
    assert got == [(item["id"], item["body"]) for item in items]
