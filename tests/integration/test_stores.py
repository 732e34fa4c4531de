"""The services' use cases on a real store, SQLite and PostgreSQL alike (no broker)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import sessionmaker

from contracts.events import ClueFields, ClueSubmitted, ProblemRegistered
from kit.db import make_engine
from kit.migrate import upgrade
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork
from services.intake import domain as intake_domain
from services.intake import handlers as intake
from services.intake.adapters import orm as intake_orm
from kit.sealing import fernet_from, unseal

ROOT = Path(__file__).resolve().parents[2]


def uow_for(url: str, orm_module, consumer: str = "tests.direct_call",
            unit_of_work: type[UnitOfWork] = UnitOfWork) -> UnitOfWork:
    """A unit of work on the store, serving one test consumer (handlers called directly)."""
    engine = make_engine(url)
    return unit_of_work(sessionmaker(engine, expire_on_commit=False),
                        Outbox(orm_module.outbox_table), Inbox(orm_module.inbox_table),
                        consumer=consumer)


def submitted(clue_id="c0ffee", receipt="ABCD-EFGH-JKLM-NPQR", **overrides) -> ClueSubmitted:
    fields = ClueFields(channel="public_report_platform", title="窗口办事推诿",
                        description="行政审批窗口多次推诿,不一次性告知所需材料")
    return ClueSubmitted(event_id=clue_id, clue_id=clue_id, receipt_code=receipt,
                         clue=fields, anonymous=False,
                         reporter={"name": "张三", "phone": "13800000000"}, **overrides)


@pytest.fixture
def intake_url(database_url):
    upgrade(ROOT / "services" / "intake", database_url)
    return database_url


@pytest.mark.parametrize("service,table", [
    ("intake", "clues"), ("ledger", "problems"), ("notify", "notices"),
    ("audit", "observations")])
def test_migrations_create_each_services_tables_on_this_backend(new_database, service, table):
    url = new_database(service)
    upgrade(ROOT / "services" / service, url)
    upgrade(ROOT / "services" / service, url)  # a second start changes nothing
    tables = set(inspect(make_engine(url)).get_table_names())
    assert {table, "outbox", "inbox", f"alembic_version_{service}"} <= tables


def test_processes_of_one_service_starting_together_migrate_one_at_a_time(new_database):
    """Two processes of the ledger (a worker count of 2) start at once on an empty store:
    both come up, the schema is built once (kit.migrate.one_at_a_time)."""
    import subprocess
    import sys

    url = new_database("ledger")
    code = ("import sys; from pathlib import Path; from kit.migrate import upgrade; "
            "upgrade(Path(sys.argv[1]), sys.argv[2])")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(ROOT / "services" / "ledger"),
                               url], cwd=ROOT, stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with make_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version_ledger")).scalar() == 1


@pytest.mark.parametrize("service", ["intake", "ledger", "notify", "audit"])
def test_each_services_migrations_build_exactly_what_its_tables_declare(new_database, service):
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = new_database(service)
    upgrade(ROOT / "services" / service, url)
    metadata = importlib.import_module(f"services.{service}.adapters.orm").metadata
    with make_engine(url).connect() as conn:
        differences = [d for d in compare_metadata(MigrationContext.configure(conn), metadata)
                       if not (d[0] == "remove_table" and d[1].name.startswith("alembic_version"))]
    assert differences == []


def test_a_clue_is_stored_once_with_its_event_even_when_delivered_twice(intake_url):
    fernet = fernet_from(None, "development")
    assert intake.accept_clue(uow_for(intake_url, intake_orm), submitted(), fernet) is True
    assert intake.accept_clue(uow_for(intake_url, intake_orm), submitted(), fernet) is False
    with uow_for(intake_url, intake_orm) as uow:
        assert intake_orm.count(uow.session) == 1
        pending = Outbox(intake_orm.outbox_table).pending(uow.session)
        assert [r["event_type"] for r in pending] == ["clue_accepted"]
        assert "reporter" not in pending[0]["body"]


def test_reporter_contact_is_stored_sealed_not_in_clear(intake_url):
    fernet = fernet_from(None, "development")
    intake.accept_clue(uow_for(intake_url, intake_orm), submitted(), fernet)
    with uow_for(intake_url, intake_orm) as uow:
        sealed = uow.session.execute(select(intake_orm.clues.c.reporter_sealed)).scalar_one()
    assert "13800000000" not in sealed
    assert unseal(fernet, sealed)["phone"] == "13800000000"


def test_receipt_shows_progress_and_nothing_else(intake_url):
    fernet = fernet_from(None, "development")
    intake.accept_clue(uow_for(intake_url, intake_orm), submitted(), fernet)
    view = intake.receipt_status(uow_for(intake_url, intake_orm), "abcd efgh jklm npqr")
    assert view["status"] == "received" and view["status_zh"] == "已受理"
    assert set(view) == {"status", "status_zh", "status_en", "submitted_at", "updated_at",
                         "outcome", "outcome_zh", "outcome_en", "may_dispute",
                         "merged", "merged_zh", "merged_en"}
    registered = ProblemRegistered(problem_id="p1", clue_id="c0ffee", title="t",
                                   registered_at=intake_orm.utcnow())
    intake.mark_registered(uow_for(intake_url, intake_orm), registered)
    view = intake.receipt_status(uow_for(intake_url, intake_orm), "ABCD-EFGH-JKLM-NPQR")
    assert view["status"] == "registered"
    with pytest.raises(intake_domain.UnknownReceipt):
        intake.receipt_status(uow_for(intake_url, intake_orm), "ZZZZ-ZZZZ-ZZZZ-ZZZZ")


def test_the_reporter_status_never_goes_back_when_steps_arrive_out_of_order(intake_url):
    from contracts.events import ProblemTransitioned

    from contracts.events import problem_id_for

    fernet = fernet_from(None, "development")
    intake.accept_clue(uow_for(intake_url, intake_orm), submitted(), fernet)
    pid = problem_id_for("c0ffee")  # the ledger's id for the clue's problem
    intake.mark_registered(uow_for(intake_url, intake_orm), ProblemRegistered(
        problem_id=pid, clue_id="c0ffee", title="t", registered_at=intake_orm.utcnow()))

    def step(seq, to_state, outcome=None):
        return ProblemTransitioned(name="x", problem_id=pid, action="x", from_state="x",
                                   to_state=to_state, outcome=outcome, actor="a",
                                   actor_role="county_office", history_seq=seq)
    intake.follow_transition(uow_for(intake_url, intake_orm), step(7, "closed", "unfounded"))
    intake.follow_transition(uow_for(intake_url, intake_orm), step(5, "dispatched"))
    view = intake.receipt_status(uow_for(intake_url, intake_orm), "ABCD-EFGH-JKLM-NPQR")
    assert (view["status"], view["outcome"], view["may_dispute"]) == ("closed", "unfounded", True)


def test_a_failed_use_case_leaves_neither_state_nor_event(intake_url):
    uow = uow_for(intake_url, intake_orm)
    with pytest.raises(RuntimeError):
        with uow:
            uow.consume_once("m1")
            uow.emit(submitted())
            raise RuntimeError("crash before commit")
    with uow_for(intake_url, intake_orm) as check:
        assert Outbox(intake_orm.outbox_table).pending(check.session) == []
        assert not Inbox(intake_orm.inbox_table).seen(check.session, uow.consumer, "m1")


def test_sqlite_stores_keep_commits_through_a_power_cut(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_a_batch_commits_together_and_a_bad_message_does_not_sink_the_others(intake_url):
    from kit.uow import apply_each

    fernet = fernet_from(None, "development")
    good = [submitted(f"c{n}", receipt=f"AAAA-BBBB-CCCC-000{n}") for n in range(3)]
    bodies = [m.to_message() for m in good]
    bodies.insert(1, {"event_id": "poison", "clue_id": None})
    new_uow = lambda: uow_for(intake_url, intake_orm)  # noqa: E731

    def apply(uow, body):
        intake.accept_clue(uow, ClueSubmitted.model_validate(body), fernet)

    assert apply_each(new_uow, bodies, apply) == [True, False, True, True]
    assert apply_each(new_uow, bodies[2:], apply) == [True, True]  # redelivered: no effect
    with uow_for(intake_url, intake_orm) as uow:
        assert intake_orm.count(uow.session) == 3
        assert len(Outbox(intake_orm.outbox_table).pending(uow.session)) == 3


def test_a_step_that_arrives_before_the_registration_event_is_not_lost(intake_url):
    from contracts.events import ProblemTransitioned, problem_id_for

    fernet = fernet_from(None, "development")
    intake.accept_clue(uow_for(intake_url, intake_orm), submitted("early"), fernet)
    problem_id = problem_id_for("early")
    intake.follow_transition(uow_for(intake_url, intake_orm), ProblemTransitioned(
        name="dispatched", problem_id=problem_id, action="dispatch", from_state="registered",
        to_state="dispatched", actor="county", actor_role="county_office", history_seq=2))
    intake.mark_registered(uow_for(intake_url, intake_orm), ProblemRegistered(
        problem_id=problem_id, clue_id="early", title="t", registered_at=intake_orm.utcnow()))
    view = intake.receipt_status(uow_for(intake_url, intake_orm), "ABCD-EFGH-JKLM-NPQR")
    assert view["status"] == "in_progress"
