"""Tampering with the ledger's store behind its back is named by verification, through the
handler and through ``python -m services.ledger.verify``, on SQLite and PostgreSQL: a state
edited in a problem's row, a history row moved to another problem, a truncation below a
published head, and a consistent rewrite of history after its head was published."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from contracts.campaign import load_default_campaign
from kit.db import make_engine
from kit.migrate import upgrade
from services.ledger import bootstrap, handlers
from services.ledger.adapters import orm
from services.ledger.adapters.uow import LedgerUnitOfWork
from tests.integration.test_ledger_store import COUNTY, EDU, SCHOOL, accepted, act
from tests.integration.test_stores import ROOT
from tests.support import tamper

CAMPAIGN = load_default_campaign()


class Ledger:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)

        self.new_uow = bootstrap.unit_of_work_factory(self.factory, consumer="tests.direct_call")

    def __call__(self) -> LedgerUnitOfWork:
        return self.new_uow()

    def verify(self, published: dict | None = None) -> dict:
        return handlers.verify_chain(self(), published=published)

    def cli(self, *args: str) -> tuple[int, dict]:
        done = subprocess.run([sys.executable, "-m", "services.ledger.verify", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "LEDGER_DATABASE_URL": self.url,
                                   "PYTHONPATH": str(ROOT)})
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    def head(self) -> dict:
        return handlers.chain_head(self())

    def sql(self, statement: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(statement), params).all()


@pytest.fixture
def ledger(new_database):
    url = new_database("ledger")
    upgrade(ROOT / "services" / "ledger", url)
    made = Ledger(url)
    yield made
    made.engine.dispose()


def two_problems(ledger) -> tuple[str, str]:
    first = handlers.register_problem(ledger(), accepted(1), CAMPAIGN)
    second = handlers.register_problem(ledger(), accepted(
        2, title="拖欠工资", description="县公安局拖欠临时工工资半年", unit="org_gd_public_security"),
        CAMPAIGN)
    act(ledger, first, "dispatch", EDU, respond_days=5)
    act(ledger, first, "report_unfounded", SCHOOL, findings="经核查,未收取任何费用",
        evidence=[{"description": "收费台账"}])
    act(ledger, second, "dispatch", COUNTY, respond_days=5)
    return first, second


def both(ledger, *cli_args, published=None) -> list[dict]:
    """The verdict from the handler and from the command line, which must agree."""
    by_handler = ledger.verify(published)
    code, by_cli = ledger.cli(*cli_args)
    assert code == (0 if by_handler["ok"] else 1)
    for key in ("ok", "first_broken_seq", "problem", "disagreeing", "misfiled"):
        assert by_cli[key] == by_handler[key], key
    return [by_handler, by_cli]


def test_an_untouched_ledger_verifies_with_every_problem_bound(ledger):
    two_problems(ledger)
    for verdict in both(ledger):
        assert verdict["ok"] is True and verdict["problem"] is None
        assert verdict["checked"] == verdict["head"]["seq"] == 5
        assert verdict["problems_checked"] == 2 and verdict["disagreeing"] == []
    states = ledger.sql("SELECT state_digest FROM history WHERE problem_id IS NOT NULL")
    assert len(states) == 5 and all(len(s) == 64 for (s,) in states)


def test_a_state_edited_in_the_problems_row_is_named_for_each_problem(ledger):
    first, second = two_problems(ledger)
    tamper.close_as_rectified(ledger.url, first)
    tamper.close_as_rectified(ledger.url, second)
    for verdict in both(ledger):
        assert verdict["ok"] is False
        assert verdict["first_broken_seq"] is None        # the chain itself holds
        assert {d["problem_id"] for d in verdict["disagreeing"]} == {first, second}
        assert verdict["disagreeing_count"] == 2
        assert all("edited" in d["problem"] for d in verdict["disagreeing"])
        assert verdict["problem"].startswith(f"problem {min(first, second)}")


@pytest.mark.parametrize("column", ["plan", "rectify_by", "respond_by", "unit", "merged_into",
                                    "supervisor", "version", "severity_decision"])
def test_any_bound_column_edited_is_named(ledger, column):
    first, _ = two_problems(ledger)
    value = {"plan": "'{\"measures\": \"x\"}'", "rectify_by": "'2099-01-01'",
             "respond_by": "'2099-01-01'", "unit": "'org_sch_no2_high'",
             "merged_into": "'x'", "supervisor": "'org_county_office'", "version": "99",
             "severity_decision": "'lighter'"}[column]
    tamper.run(ledger.url, f"UPDATE problems SET {column} = {value} WHERE id = :pid",
               pid=first)
    verdict = ledger.verify()
    assert verdict["ok"] is False and [d["problem_id"] for d in verdict["disagreeing"]] == [first]


def test_a_row_added_or_deleted_behind_the_ledgers_back_is_named(ledger):
    first, second = two_problems(ledger)
    tamper.run(ledger.url, "DELETE FROM problems WHERE id = :pid", pid=second)
    tamper.run(ledger.url, "UPDATE problems SET id = 'forged', clue_id = 'forged' "
               "WHERE id = :pid", pid=first)
    verdict = ledger.verify()
    named = {d["problem_id"]: d["problem"] for d in verdict["disagreeing"]}
    assert verdict["ok"] is False and set(named) == {"forged", first, second}
    assert "no history" in named["forged"] and "deleted" in named[second]


def test_a_history_row_moved_to_another_problem_is_named(ledger):
    first, second = two_problems(ledger)
    seq = ledger.sql("SELECT max(seq) FROM history WHERE problem_id = :p", p=first)[0][0]
    tamper.move_entry(ledger.url, seq, second)
    for verdict in both(ledger):
        assert verdict["ok"] is False and verdict["first_broken_seq"] is None
        assert verdict["misfiled"] == [{
            "seq": seq, "filed_under": second, "hashed_for": first,
            "filed_state": verdict["misfiled"][0]["hashed_state"],
            "hashed_state": verdict["misfiled"][0]["hashed_state"],
            "problem": f"filed under problem {second} but hashed for {first} (moved)"}]
        assert verdict["problem"].startswith(f"entry {seq}: filed under problem {second}")


def test_a_state_digest_column_edited_to_match_an_edited_row_is_named(ledger):
    first, _ = two_problems(ledger)
    tamper.close_as_rectified(ledger.url, first)
    from services.ledger.adapters import history
    with ledger.engine.connect() as conn:
        row = conn.execute(orm.problems.select().where(orm.problems.c.id == first)).one()
    forged = history.state_digest(row._mapping)
    seq = ledger.sql("SELECT max(seq) FROM history WHERE problem_id = :p", p=first)[0][0]
    tamper.run(ledger.url, "UPDATE history SET state_digest = :d WHERE seq = :s", d=forged,
               s=seq)
    verdict = ledger.verify()
    assert verdict["ok"] is False and verdict["disagreeing"] == []
    assert [m["seq"] for m in verdict["misfiled"]] == [seq]
    assert "state digest column" in verdict["problem"]


def test_a_truncation_below_a_published_head_is_named(ledger):
    two_problems(ledger)
    handlers.file_work_plan(ledger(), CAMPAIGN, actor=SCHOOL, title="盐山中学清理工作方案",
                            summary="成立领导小组,开展自查自纠")
    handlers.file_work_plan(ledger(), CAMPAIGN, actor=SCHOOL, title="盐山中学清理工作方案二",
                            summary="补充方案,开展自查自纠")
    published = ledger.head()
    assert published["seq"] == 7
    tamper.truncate(ledger.url, keep_through=5)     # the work plans' entries are gone
    assert ledger.verify()["ok"] is True             # alone, the chain cannot tell
    for verdict in both(ledger, "--seq", "7", "--head", published["hash"],
                        published=published):
        assert verdict["ok"] is False and verdict["first_broken_seq"] == 7
        assert "truncated" in verdict["problem"] and "ends at entry 5" in verdict["problem"]
        assert verdict["published"] == {"seq": 7, "hash": published["hash"],
                                         "extended": False}


def test_a_consistent_rewrite_after_a_published_head_is_named(ledger):
    first, _ = two_problems(ledger)
    published = ledger.head()
    act(ledger, first, "reject_unfounded", EDU, reason="证据不足,请重新核查")
    dispatched = ledger.sql("SELECT min(seq) FROM history WHERE action = 'dispatch'")[0][0]
    tamper.rewrite_from(ledger.url, dispatched, "supervisor-edu", "county")   # who dispatched
    rewritten = ledger.verify()
    assert rewritten["ok"] is True                   # consistent in itself
    for verdict in both(ledger, "--seq", str(published["seq"]), "--head", published["hash"],
                        published=published):
        assert verdict["ok"] is False and verdict["first_broken_seq"] == published["seq"]
        assert "rewritten after publication" in verdict["problem"]
        assert verdict["published"]["extended"] is False


def test_todays_chain_extends_a_head_published_earlier(ledger):
    first, _ = two_problems(ledger)
    published = ledger.head()
    act(ledger, first, "reject_unfounded", EDU, reason="证据不足,请重新核查")
    for verdict in both(ledger, "--seq", str(published["seq"]), "--head", published["hash"],
                        published=published):
        assert verdict["ok"] is True and verdict["checked"] == published["seq"] + 1
        assert verdict["published"] == {**published, "extended": True}


def test_an_entry_appended_without_a_state_binds_the_row_as_this_transaction_sees_it(ledger):
    first, _ = two_problems(ledger)
    from services.ledger.adapters import history
    with ledger() as uow:
        uow.session.execute(orm.problems.update().where(orm.problems.c.id == first)
                            .values(suspension_reason="由托管人查阅联系方式"))
        history.append_history(uow.session, problem_id=first, action="open_contact",
                               actor="custodian", at=orm.utcnow(), data={"reason": "回访"})
        uow.commit()
    assert ledger.verify()["ok"] is True
    with ledger() as uow, pytest.raises(ValueError, match="no problem"):
        history.append_history(uow.session, problem_id="nobody", action="open_contact",
                               actor="custodian", at=orm.utcnow(), data={})
