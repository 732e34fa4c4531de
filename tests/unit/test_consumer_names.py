"""An event handler's inbox name is made in one place (``kit.uow.consumer_name``) and
travels with its units of work: the name a batch is claimed under is the name each message
is checked under, whatever the method is called, and handlers never spell it."""
from __future__ import annotations

import inspect
import re

import pytest

from kit.nameko_ext import StoreAccess
from kit.uow import AlreadyProcessed, UnitOfWork, apply_each, consumer_name


class Session:
    def commit(self):
        pass

    def rollback(self):
        pass

    def close(self):
        pass


class RecordingInbox:
    def __init__(self, applied_before=()):
        self.claims, self.records, self.before = [], [], set(applied_before)

    def claim(self, session, consumer, ids):
        self.claims.append((consumer, list(ids)))
        return {i for i in ids if i not in self.before}

    def seen(self, session, consumer, message_id):
        return message_id in self.before

    def record(self, session, consumer, message_id):
        self.records.append((consumer, message_id))


class Outbox:
    def add(self, session, event):
        pass


def consume(uow, message_id, applied):
    with uow:
        try:
            uow.consume_once(message_id)
        except AlreadyProcessed:
            return
        applied.append((uow.consumer, message_id))
        uow.commit()


def test_a_batch_is_checked_under_the_name_it_was_claimed_under():
    inbox, applied = RecordingInbox(applied_before={"m2"}), []
    access = StoreAccess(lambda: UnitOfWork(Session, Outbox(), inbox),
                         consumer_name("ledger", "on_clue_accepted_renamed"))
    done = access.each([{"event_id": "m1"}, {"event_id": "m2"}],
                       lambda uow, body: consume(uow, body["event_id"], applied))
    assert done == [True, True]
    assert inbox.claims == [("ledger.on_clue_accepted_renamed", ["m1", "m2"])]
    assert applied == [("ledger.on_clue_accepted_renamed", "m1")]  # m2 was applied before
    assert inbox.records == []  # the claim answered for both: nothing asked again


def test_a_message_applied_alone_after_a_failed_batch_keeps_the_handlers_name():
    inbox, applied, calls = RecordingInbox(), [], []

    def apply(uow, message_id):
        calls.append(message_id)
        if len(calls) == 2:
            raise RuntimeError("the batch fails once")
        consume(uow, message_id, applied)

    assert apply_each(lambda: UnitOfWork(Session, Outbox(), inbox), ["a", "b"], apply,
                      "notify.on_problem_registered", claim=["a", "b"]) == [True, True]
    assert {name for name, _ in applied} == {"notify.on_problem_registered"}
    assert {name for name, _ in inbox.records} == {"notify.on_problem_registered"}


def test_a_unit_of_work_bound_to_no_handler_refuses_to_consume():
    with pytest.raises(RuntimeError, match="consumer_name"):
        with UnitOfWork(Session, Outbox(), RecordingInbox()) as uow:
            uow.consume_once("m1")


def test_no_handler_spells_an_inbox_name():
    from services.audit import handlers as audit
    from services.intake import handlers as intake
    from services.ledger import custody
    from services.ledger.handlers import registration as ledger
    from services.notify import handlers as notify

    for module in (audit, intake, ledger, custody, notify):
        source = inspect.getsource(module)
        assert "consume_once(" in source
        assert re.search(r"""["'][a-z]+\.on_""", source) is None, module.__name__
