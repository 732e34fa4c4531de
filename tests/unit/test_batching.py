"""The batching event handler's flushing, driven by eventlet without a broker."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

from kit.nameko_ext import ReliableEventHandler  # noqa: E402


class Recorder:
    """Stands in for the container and queue consumer: records batches, acks, requeues."""

    def __init__(self, outcome=lambda bodies: [True] * len(bodies), delay=0.01):
        self.batches, self.acked, self.requeued = [], [], []
        self.outcome, self.delay = outcome, delay

    def spawn_worker(self, entrypoint, args, kwargs, context_data, handle_result):
        self.batches.append(list(args[0]))
        eventlet.spawn_after(self.delay, handle_result, None, self.outcome(args[0]), None)

    def ack_message(self, message):
        self.acked.append(message)

    def ack_messages(self, messages):
        self.acked.extend(messages)

    def requeue_message(self, message):
        self.requeued.append(message)


def handler(recorder: Recorder, max_batch=64) -> ReliableEventHandler:
    h = ReliableEventHandler("source", "event", max_batch=max_batch, max_wait=0.005)
    h.container = recorder
    object.__setattr__(h, "queue_consumer", recorder)
    h.unpack_message_headers = lambda message: {}
    return h


def deliver(h, numbers):
    for n in numbers:
        eventlet.spawn(h.handle_message, {"n": n}, f"m{n}")


def test_a_lone_message_is_not_left_waiting_for_company():
    recorder = Recorder()
    h = handler(recorder)
    deliver(h, [1])
    eventlet.sleep(0.05)
    assert recorder.batches == [[{"n": 1}]] and recorder.acked == ["m1"]


def test_one_batch_in_flight_at_a_time_and_what_arrives_meanwhile_follows():
    recorder = Recorder(delay=0.02)
    h = handler(recorder, max_batch=10)
    deliver(h, range(25))
    eventlet.sleep(0.2)
    assert [len(b) for b in recorder.batches] == [10, 10, 5]
    assert sorted(recorder.acked) == sorted(f"m{n}" for n in range(25))


def test_failed_messages_are_requeued_and_the_others_acked():
    recorder = Recorder(outcome=lambda bodies: [b["n"] % 2 == 0 for b in bodies])
    h = handler(recorder)
    deliver(h, range(4))
    eventlet.sleep(0.05)
    assert recorder.acked == ["m0", "m2"] and recorder.requeued == ["m1", "m3"]


def test_the_queue_consumer_hands_messages_over_in_its_own_thread_and_survives_a_failure():
    from kit.nameko_ext import BatchingQueueConsumer

    consumer = BatchingQueueConsumer(max_batch=32)
    requeued = []
    consumer.requeue_message = requeued.append
    seen = []

    class Provider:
        def handle_message(self, body, message):
            if body == "bad":
                raise ValueError("cannot buffer this")
            seen.append((eventlet.getcurrent(), body))

    channel = FakeChannel()
    good, bad = FakeMessage(channel, 1), FakeMessage(channel, 2)
    consumer.handle_message(Provider(), "good", good)
    consumer.handle_message(Provider(), "bad", bad)
    assert seen == [(eventlet.getcurrent(), "good")]  # no green thread per message
    assert requeued == [bad]
    assert consumer.prefetch_count == 64  # the next batch gathers while one is applied


class FakeChannel:
    connection = True

    def __init__(self):
        self.acks = []


class FakeMessage:
    def __init__(self, channel, tag):
        self.channel, self.delivery_tag = channel, tag

    def ack(self, multiple=False):
        self.channel.acks.append((self.delivery_tag, multiple))

    def requeue(self):
        self.channel.acks.append((self.delivery_tag, "requeued"))


def delivered(consumer, channel, tags):
    class Provider:
        def handle_message(self, body, message):
            pass
    messages = [FakeMessage(channel, tag) for tag in tags]
    for message in messages:
        consumer.handle_message(Provider(), {}, message)
    return messages


def test_a_batch_is_acked_at_once_when_nothing_else_is_open_before_its_last_message():
    from kit.nameko_ext import BatchingQueueConsumer

    consumer, channel = BatchingQueueConsumer(), FakeChannel()
    batch = delivered(consumer, channel, [1, 2, 3])
    consumer.ack_messages(batch)
    assert channel.acks == [(3, True)]


def test_a_batch_is_acked_one_by_one_when_another_handler_holds_an_earlier_message():
    from kit.nameko_ext import BatchingQueueConsumer

    consumer, channel = BatchingQueueConsumer(), FakeChannel()
    other = delivered(consumer, channel, [1])  # another handler's, still being applied
    batch = delivered(consumer, channel, [2, 3])
    consumer.ack_messages(batch)
    assert channel.acks == [(2, False), (3, False)]
    consumer.ack_messages(other)
    assert channel.acks[-1] == (1, False)


def test_a_requeued_message_is_not_covered_by_the_batch_ack():
    from kit.nameko_ext import BatchingQueueConsumer

    consumer, channel = BatchingQueueConsumer(), FakeChannel()
    batch = delivered(consumer, channel, [1, 2, 3])
    consumer.requeue_message(batch[1])
    consumer.ack_messages([batch[0], batch[2]])
    assert channel.acks == [(2, "requeued"), (3, True)]
