"""Poison (a body that breaks its contract) is never applied nor retried: the handler
gets validated messages, and the poison goes to the dead letters with its reason."""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

from contracts.events import ClueFields, ClueSubmitted  # noqa: E402
from kit.nameko_ext import Poison, ReliableEventHandler, StoreAccess  # noqa: E402
from tests.unit.test_batching import Recorder  # noqa: E402


def submitted(n: int) -> dict:
    return ClueSubmitted(event_id=f"e{n}", clue_id=f"c{n}", receipt_digest="0" * 64,
                         clue=ClueFields(channel="letter", title="标题",
                                         description="描述内容")).to_message()


class FakeUow:
    consumer = None

    def __init__(self, log):
        self.log = log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def claim(self, ids):
        self.log.append(("claim", self.consumer, ids))

    def commit(self):
        self.log.append("commit")


def test_a_body_that_breaks_its_contract_is_answered_poison_and_never_applied():
    log, applied = [], []
    access = StoreAccess(lambda: FakeUow(log), "intake.on_clue_submitted", ClueSubmitted)
    bodies = [submitted(1), {"event_id": "bad", "clue_id": None}, "a string", submitted(2)]
    verdicts = access.each(bodies, lambda uow, message: applied.append(message))
    assert verdicts[0] is True and verdicts[3] is True
    assert isinstance(verdicts[1], Poison) and not verdicts[1]
    assert verdicts[1].reason == ("breaks its contract ClueSubmitted: clue_id: string_type; "
                                  "clue: missing")
    assert "model_type" in verdicts[2].reason
    assert [m.clue_id for m in applied] == ["c1", "c2"]
    assert all(isinstance(m, ClueSubmitted) for m in applied)
    assert ("claim", "intake.on_clue_submitted", ["e1", "e2"]) in log  # poison never claimed


class PoisonRecorder(Recorder):
    def __init__(self, outcome):
        super().__init__(outcome)
        self.poisoned = []

    def poison(self, message, queue, reason):
        self.poisoned.append((message, queue, reason))


def test_the_handler_dead_letters_poison_at_once_and_requeues_only_what_may_succeed():
    recorder = PoisonRecorder(lambda bodies: [True, Poison("breaks it"), False])
    h = ReliableEventHandler("gateway", "clue_submitted", max_wait=0.005)
    h.container = recorder
    object.__setattr__(h, "queue_consumer", recorder)
    h.unpack_message_headers = lambda message: {}
    h.queue = type("Q", (), {"name": "evt-q"})()
    for n in range(3):
        eventlet.spawn(h.handle_message, {"n": n}, f"m{n}")
    eventlet.sleep(0.05)
    assert recorder.acked == ["m0"] and recorder.requeued == ["m2"]
    assert recorder.poisoned == [("m1", "evt-q", "breaks it")]


def test_a_handler_without_a_known_contract_is_refused_at_setup():
    import pytest

    from kit import nameko_ext

    assert nameko_ext.contract_for("gateway", "clue_submitted") is ClueSubmitted
    assert nameko_ext.contract_for("ledger", "problem.#") is None
    h = ReliableEventHandler("ledger", "problem.#")
    h.container = type("C", (), {"service_name": "notify"})()
    h.method_name = "on_problem_transitioned"
    with pytest.raises(LookupError, match="name the handler's contract"):
        h.setup()
