"""A store out of reach while a batch is applied (``kit.uow.apply_each``): the batch waits
and is tried again, whole, with its messages held, instead of being requeued at once; every
requeue counts towards the quorum queue's delivery limit, and a short database outage must
not dead-letter accepted clues. Errors that are the work's own still fall back to one
message at a time."""
from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from kit import uow as uow_module
from kit.uow import UnitOfWork, apply_each, store_unavailable
from tests.unit.test_consumer_names import Outbox, RecordingInbox, Session, consume

CONSUMER = "ledger.on_clue_accepted"


def refused() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("INSERT …", {}, ConnectionRefusedError("server closed"))


@pytest.fixture
def waits(monkeypatch):
    slept = []
    monkeypatch.setattr(uow_module, "STORE_WAITS", (0.5, 1, 2))
    monkeypatch.setattr(uow_module.time, "sleep", slept.append)
    return slept


def test_the_batch_waits_for_the_store_and_is_applied_whole_once_it_answers(waits):
    inbox, applied, outage = RecordingInbox(), [], [refused(), refused()]

    def apply(uow, message_id):
        if outage:
            raise outage.pop()
        consume(uow, message_id, applied)

    assert apply_each(lambda: UnitOfWork(Session, Outbox(), inbox), ["a", "b", "c"], apply,
                      CONSUMER, claim=["a", "b", "c"]) == [True, True, True]
    assert waits == [0.5, 1]  # held twice, never requeued
    assert [m for _, m in applied] == ["a", "b", "c"]


def test_a_store_that_stays_away_gets_the_messages_requeued_after_the_waits(waits):
    def apply(uow, message_id):
        raise refused()

    assert apply_each(lambda: UnitOfWork(Session, Outbox(), RecordingInbox()), ["a", "b"],
                      apply, CONSUMER, claim=["a", "b"]) == [False, False]
    assert waits == [0.5, 1, 2]


def test_a_message_that_is_wrong_is_not_waited_for(waits):
    inbox, applied = RecordingInbox(), []

    def apply(uow, message_id):
        if message_id == "bad":
            raise sa_exc.IntegrityError("INSERT …", {}, ValueError("duplicate key"))
        consume(uow, message_id, applied)

    assert apply_each(lambda: UnitOfWork(Session, Outbox(), inbox), ["a", "bad"], apply,
                      CONSUMER, claim=["a", "bad"]) == [True, False]
    assert waits == []


def test_which_errors_mean_the_store_is_out_of_reach():
    assert store_unavailable(refused())
    assert store_unavailable(sa_exc.InterfaceError("SELECT 1", {}, OSError("closed")))
    assert store_unavailable(sa_exc.DisconnectionError("gone"))
    assert not store_unavailable(sa_exc.IntegrityError("INSERT", {}, ValueError("dup")))
    assert not store_unavailable(ValueError("a bad message"))
