"""The broker traps the foundation closes, shown against the real RabbitMQ."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from kombu import Connection, Producer, Queue
from sqlalchemy.orm import sessionmaker

from contracts.events import ClueFields, ClueSubmitted
from contracts.topology import (
    DEAD_LETTER_QUEUE, RETIRED, SUBSCRIPTIONS, declare_all, event_exchange, quorum_arguments,
    retire_all,
)
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


# --- poison: straight to the dead letters, with the reason ------------------------------------

CLUE_QUEUE = "evt-gateway-clue_submitted--intake.on_clue_submitted"


@pytest.fixture
def intake_alone(fresh_vhost, tmp_path):
    """The real intake service (``python -m kit.run intake``) on its own, consuming."""
    from tests.support.stack import Stack

    stack = Stack(amqp_uri=fresh_vhost, data_dir=tmp_path)
    stack.start("intake")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert stack.procs["intake"].poll() is None, stack.tail("intake")
            try:
                with Connection(fresh_vhost) as conn:
                    if conn.default_channel.queue_declare(
                            CLUE_QUEUE, passive=True).consumer_count:
                        break
            except Exception:  # noqa: BLE001 - not declared yet
                pass
            time.sleep(0.3)
        else:
            raise TimeoutError(stack.tail("intake"))
        yield stack
    finally:
        stack.stop_all()


def publish_raw(uri: str, body: bytes, content_type: str, message_id: str) -> None:
    from contracts.topology import event_exchange

    with Connection(uri) as conn:
        Producer(conn.default_channel).publish(
            body, exchange=event_exchange("gateway"), routing_key="clue_submitted",
            content_type=content_type, content_encoding="utf-8", delivery_mode=2,
            message_id=message_id, headers={"probe": message_id})


def dead_letters(uri: str, count: int, timeout: float = 20) -> dict[str, object]:
    """``{message_id: message}`` of the next ``count`` dead letters, as they lie (raw)."""
    got = {}
    deadline = time.monotonic() + timeout
    with Connection(uri) as conn:
        channel = conn.default_channel
        while len(got) < count and time.monotonic() < deadline:
            message = channel.basic_get(DEAD_LETTER_QUEUE, no_ack=True)
            if message is None:
                time.sleep(0.2)
                continue
            got[message.properties.get("message_id")] = message
    return got


def test_poison_goes_straight_to_the_dead_letters_with_its_reason(intake_alone):
    uri = intake_alone.env["AMQP_URI"]
    breaks_contract = json.dumps({"event_id": "poison-1", "clue_id": None}).encode()
    poison = {"not-json": (b"{not json at all", "application/json"),
              "not-an-object": (b'"just a string"', "application/json"),
              "breaks-contract": (breaks_contract, "application/json"),
              "wrong-type": (b"hello", "text/plain")}
    for message_id, (body, content_type) in poison.items():
        publish_raw(uri, body, content_type, message_id)
    good = an_event()
    with Connection(uri) as conn:
        Producer(conn.default_channel).publish(
            good.to_message(), exchange="gateway.events", routing_key="clue_submitted",
            serializer="json", delivery_mode=2, message_id=good.event_id)

    dead = dead_letters(uri, len(poison))
    assert set(dead) == set(poison)
    for message_id, (body, content_type) in poison.items():
        message = dead[message_id]
        raw = message.body if isinstance(message.body, bytes) else message.body.encode()
        assert raw == body
        assert message.properties["content_type"] == content_type
        assert message.headers["probe"] == message_id
        assert message.headers["x-poison-queue"] == CLUE_QUEUE
        assert "x-death" not in message.headers  # ours at once, not the broker's after retries
    assert "not decodable as JSON" in dead["not-json"].headers["x-poison-reason"]
    assert "ContentDisallowed" in dead["wrong-type"].headers["x-poison-reason"]
    assert dead["breaks-contract"].headers["x-poison-reason"] == (
        "breaks its contract ClueSubmitted: clue_id: string_type; clue: missing")
    assert "model_type" in dead["not-an-object"].headers["x-poison-reason"]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with Connection(uri) as conn:
            if conn.default_channel.queue_declare(CLUE_QUEUE, passive=True).message_count == 0 \
                    and stored_clues(intake_alone) == 1:
                break
        time.sleep(0.3)
    assert stored_clues(intake_alone) == 1
    log = intake_alone.tail("intake", 400)
    assert "Traceback" not in log
    assert log.count("dead-lettered a message from " + CLUE_QUEUE) == len(poison)
    with Connection(uri) as conn:
        assert conn.default_channel.queue_declare(CLUE_QUEUE, passive=True).message_count == 0
        assert conn.default_channel.queue_declare(DEAD_LETTER_QUEUE,
                                                  passive=True).message_count == 0


def stored_clues(stack) -> int:
    with sessionmaker(make_engine(f"sqlite:///{stack.data_dir / 'intake.db'}"))() as session:
        return intake_orm.count(session)


def test_a_retired_queue_is_deleted_when_empty_and_kept_unbound_when_not(fresh_vhost):
    """contracts.topology.RETIRED: a service's start removes the queues of handlers that are
    gone; one still holding messages is left for the operator, and nothing more reaches it."""
    empty, full = RETIRED[0], RETIRED[1]
    with Connection(fresh_vhost) as conn:
        declare_all(conn.default_channel)
        for sub in (empty, full):
            sub.queue()(conn.default_channel).declare()
        Producer(conn.default_channel).publish(
            {"event_id": "x"}, exchange=event_exchange(full.source).name,
            routing_key=full.event_type.replace("#", "moved"), serializer="json")
        assert retire_all(conn.connection) == {full.queue_name: 1}
        with pytest.raises(Exception, match="NOT_FOUND|no queue"):
            conn.channel().queue_declare(empty.queue_name, passive=True)
        Producer(conn.default_channel).publish(
            {"event_id": "y"}, exchange=event_exchange(full.source).name,
            routing_key=full.event_type.replace("#", "moved"), serializer="json")
        assert conn.channel().queue_declare(full.queue_name, passive=True).message_count == 1
        assert retire_all(conn.connection) == {full.queue_name: 1}  # again: harmless
