"""Write-behind (kit.deferred) on a real store, SQLite and PostgreSQL alike: a batch of
messages costs one statement per kind of write, reads see the transaction's own writes,
a rollback leaves nothing, and a duplicate racing in from elsewhere is refused whole."""
from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
from sqlalchemy import (
    Column, Integer, MetaData, String, Table, bindparam, event, func, insert, select, update,
)
from sqlalchemy.orm import sessionmaker

from contracts.events import ClueSubmitted
from kit import deferred
from kit.db import make_engine
from kit.migrate import upgrade
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork, apply_each, bound, consumer_name
from services.intake import handlers as intake
from services.intake.adapters import orm as intake_orm
from kit.sealing import fernet_from
from services.ledger import handlers as ledger_handlers
from services.ledger.adapters import orm as ledger_orm
from services.ledger.adapters.uow import LedgerUnitOfWork
from tests.integration.test_ledger_store import CAMPAIGN, accepted
from tests.integration.test_stores import ROOT, submitted

FERNET = fernet_from(None, "development")


class Statements:
    """Counts the statements an engine sends, by verb and table (executemany = one)."""

    def __init__(self, engine):
        self.seen: Counter = Counter()
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        match = re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM|SELECT\s.*?\sFROM)\s+\"?(\w+)",
                         statement, re.S | re.I)
        if match:
            self.seen[(match.group(1).split()[0].upper(), match.group(2))] += 1

    def clear(self):
        self.seen.clear()


def store(url, orm_module, unit_of_work=UnitOfWork):
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    return engine, lambda: unit_of_work(factory, Outbox(orm_module.outbox_table),
                                        Inbox(orm_module.inbox_table),
                                        consumer="tests.direct_call")


@pytest.fixture
def intake_store(database_url):
    upgrade(ROOT / "services" / "intake", database_url)
    return store(database_url, intake_orm)


@pytest.fixture
def ledger_store(new_database):
    url = new_database("ledger")
    upgrade(ROOT / "services" / "ledger", url)
    return store(url, ledger_orm, LedgerUnitOfWork)


SUBMITTED = consumer_name("intake", "on_clue_submitted")


def clues(n: int, start: int = 0) -> list[ClueSubmitted]:
    return [submitted(clue_id=f"clue-{i}", receipt=f"RCPT-{i:04d}-ABCD-EFGH")
            for i in range(start, start + n)]


def accept_batch(new_uow, messages) -> list[bool]:
    return apply_each(new_uow, messages,
                      lambda uow, msg: intake.accept_clue(uow, msg, FERNET),
                      SUBMITTED, claim=[m.event_id for m in messages])


def count(new_uow, table) -> int:
    with new_uow() as uow:
        return uow.session.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_batch_costs_one_statement_per_table_whatever_its_size(intake_store):
    engine, new_uow = intake_store
    statements = Statements(engine)
    assert accept_batch(new_uow, clues(60)) == [True] * 60
    # the inbox: the whole batch claimed with one statement, no look-up before
    assert statements.seen == {("INSERT", "inbox"): 1, ("INSERT", "clues"): 1,
                               ("INSERT", "outbox"): 1}
    assert count(new_uow, intake_orm.clues) == count(new_uow, intake_orm.inbox_table) == 60
    assert count(new_uow, intake_orm.outbox_table) == 60


def test_a_redelivered_batch_changes_nothing_and_asks_the_inbox_once(intake_store):
    engine, new_uow = intake_store
    accept_batch(new_uow, clues(10))
    statements = Statements(engine)
    assert accept_batch(new_uow, clues(15)) == [True] * 15  # 10 seen before, 5 new
    assert statements.seen[("INSERT", "inbox")] == 1
    assert statements.seen[("SELECT", "inbox")] == 0
    assert count(new_uow, intake_orm.clues) == 15
    assert count(new_uow, intake_orm.outbox_table) == 15


def test_the_same_message_twice_in_one_batch_is_applied_once(intake_store):
    _, new_uow = intake_store
    twice = clues(3) + clues(1)
    assert accept_batch(new_uow, twice) == [True] * 4
    assert count(new_uow, intake_orm.clues) == 3
    assert count(new_uow, intake_orm.outbox_table) == 3


def test_a_transaction_reads_its_own_deferred_writes(intake_store):
    _, new_uow = intake_store
    with new_uow() as uow:
        intake.accept_clue(uow, clues(1)[0], FERNET)
        seen = uow.session.execute(select(func.count()).select_from(intake_orm.clues))
        assert seen.scalar_one() == 1
        assert len(Outbox(intake_orm.outbox_table).pending(uow.session)) == 1
        uow.commit()
    assert count(new_uow, intake_orm.clues) == 1


def test_a_rollback_leaves_nothing_of_the_deferred_writes(intake_store):
    _, new_uow = intake_store
    with pytest.raises(RuntimeError):
        with new_uow() as uow:
            intake.accept_clue(uow, clues(1)[0], FERNET)
            raise RuntimeError("the batch failed after the clue was deferred")
    with new_uow() as uow:  # the session is fresh: nothing pending is carried over
        uow.commit()
    assert count(new_uow, intake_orm.clues) == count(new_uow, intake_orm.outbox_table) == 0
    assert count(new_uow, intake_orm.inbox_table) == 0


def test_a_duplicate_racing_in_from_another_worker_waits_then_changes_nothing(pg_databases):
    """Two workers take the same message at once. The first claims its id in the inbox;
    the second's claim waits for the first's commit, then finds the id taken and skips it.
    (PostgreSQL: on SQLite, BEGIN IMMEDIATE already makes the second writer wait.)"""
    url = pg_databases.create("race")
    upgrade(ROOT / "services" / "intake", url)
    _, new_uow = store(url, intake_orm)
    message = clues(1)[0]
    second: dict = {}
    worker = threading.Thread(target=lambda: second.update(done=accept_batch(new_uow, [message])))
    first = bound(new_uow, SUBMITTED)
    with first:
        first.claim([message.event_id])
        intake.accept_clue(first, message, FERNET)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive(), "the second claim must wait for the first transaction"
        first.commit()
    worker.join(timeout=30)
    assert second["done"] == [True]  # acknowledged: it was applied, once
    assert count(new_uow, intake_orm.clues) == count(new_uow, intake_orm.outbox_table) == 1
    assert count(new_uow, intake_orm.inbox_table) == 1


def test_a_batch_of_registrations_locks_the_chain_once_and_sums_the_counts(ledger_store):
    engine, new_uow = ledger_store
    statements = Statements(engine)
    messages = [accepted(i) for i in range(40)]
    done = apply_each(new_uow, messages,
                      lambda uow, m: ledger_handlers.register_problem(uow, m, CAMPAIGN),
                      consumer_name("ledger", "on_clue_accepted"),
                      claim=[m.event_id for m in messages])
    assert done == [True] * 40
    seen = statements.seen
    assert seen[("SELECT", "chain_head")] == 1 and seen[("UPDATE", "chain_head")] == 1
    assert seen[("INSERT", "history")] == seen[("INSERT", "unit_tallies")] == 1
    assert seen[("INSERT", "problems")] == 40  # read back at once by duplicate detection
    with new_uow() as uow:
        tallies = uow.session.execute(select(ledger_orm.unit_tallies.c.n)).scalars().all()
    assert tallies == [40]
    assert ledger_handlers.verify_chain(new_uow())["ok"] is True
    head = ledger_handlers.chain_head(new_uow())
    assert head["seq"] == 40


def test_registrations_in_a_batch_see_each_other_as_duplicates(ledger_store):
    _, new_uow = ledger_store
    messages = [accepted(1), accepted(2)]
    apply_each(new_uow, messages,
               lambda uow, m: ledger_handlers.register_problem(uow, m, CAMPAIGN))
    with new_uow() as uow:
        details = uow.session.execute(select(ledger_orm.problems.c.details).where(
            ledger_orm.problems.c.clue_id == "clue-2")).scalar_one()
    assert details["duplicate_suggestions"], "the second of a batch must see the first"


# the ordering rule, on a table of its own -------------------------------------------------
def test_a_write_never_overtakes_one_it_could_depend_on(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'order.db'}")
    metadata = MetaData()
    things = Table("things", metadata, Column("id", Integer, primary_key=True),
                   Column("label", String(20)))
    metadata.create_all(engine)
    add = insert(things)
    rename = update(things).where(things.c.id == bindparam("key")).values(
        label=bindparam("new"))
    with sessionmaker(engine)() as session:
        session.execute(add, {"id": 1, "label": "a"})
        deferred.defer(session, rename, {"key": 1, "new": "a2"})
        deferred.defer(session, add, {"id": 2, "label": "b"})
        # Grouped by statement, both renames would run before the second row exists; so
        # deferring the rename again, behind a later statement on its table, flushes first.
        deferred.defer(session, rename, {"key": 2, "new": "b2"})
        session.commit()
        rows = session.execute(select(things.c.id, things.c.label).order_by(things.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, "a2"), (2, "b2")]


def test_a_batch_of_registrations_moves_every_clue_with_one_update(intake_store):
    from datetime import datetime, timezone

    from contracts.events import ProblemRegistered, problem_id_for

    engine, new_uow = intake_store
    accept_batch(new_uow, clues(30))
    with new_uow() as uow:  # one clue has moved on already: registration leaves it alone
        uow.session.execute(update(intake_orm.clues).where(intake_orm.clues.c.id == "clue-0")
                            .values(status="closed"))
        uow.commit()
    statements = Statements(engine)
    registered = [ProblemRegistered(event_id=f"registered-{i}", problem_id=problem_id_for(
        f"clue-{i}"), clue_id=f"clue-{i}", title="t", registered_at=datetime.now(timezone.utc))
        for i in range(30)]
    assert apply_each(new_uow, registered, intake.mark_registered,
                      consumer_name("intake", "on_problem_registered"),
                      claim=[m.event_id for m in registered]) == [True] * 30
    assert statements.seen[("UPDATE", "clues")] == 1
    with new_uow() as uow:
        statuses = dict(uow.session.execute(select(intake_orm.clues.c.id,
                                                   intake_orm.clues.c.status)).all())
    assert statuses.pop("clue-0") == "closed"
    assert set(statuses.values()) == {"registered"}


def test_reading_one_table_writes_only_that_tables_pending_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'partial.db'}")
    metadata = MetaData()
    left = Table("left_side", metadata, Column("id", Integer, primary_key=True))
    right = Table("right_side", metadata, Column("id", Integer, primary_key=True))
    metadata.create_all(engine)
    statements = Statements(engine)
    add_left, add_right = insert(left), insert(right)  # built once: rows group by statement
    with sessionmaker(engine)() as session:
        for i in range(5):
            deferred.defer(session, add_left, {"id": i})
            deferred.defer(session, add_right, {"id": i})
        assert session.execute(select(func.count()).select_from(left)).scalar_one() == 5
        assert statements.seen[("INSERT", "left_side")] == 1
        assert statements.seen[("INSERT", "right_side")] == 0  # still waiting for the commit
        session.commit()
    assert statements.seen[("INSERT", "right_side")] == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(right)).scalar_one() == 5


def test_registrations_without_a_unit_go_as_one_insert_of_problems(ledger_store):
    engine, new_uow = ledger_store
    statements = Statements(engine)
    messages = [accepted(i, unit=None) for i in range(25)]
    assert apply_each(new_uow, messages,
                      lambda uow, m: ledger_handlers.register_problem(uow, m, CAMPAIGN)) == (
        [True] * 25)
    assert statements.seen[("INSERT", "problems")] == 1
    assert ledger_handlers.verify_chain(new_uow())["ok"] is True
