"""A merged clue's receipt follows the problem it was merged into (合并办理), on a real
store (SQLite and PostgreSQL), and a dispute reaches that problem."""
from __future__ import annotations

from pathlib import Path

import pytest

from contracts.events import (
    ClueFields, ClueSubmitted, ProblemRegistered, ProblemTransitioned, problem_id_for,
    receipt_digest,
)
from kit.migrate import upgrade
from services.intake import domain
from services.intake import handlers as intake
from services.intake.adapters import orm
from kit.sealing import fernet_from
from tests.integration.test_stores import uow_for

ROOT = Path(__file__).resolve().parents[2]
CODES = {"merged": "AAAA-BBBB-CCCC-DDDD", "survivor": "EEEE-FFFF-GGGG-HHHH",
         "third": "JJJJ-KKKK-LLLL-MMMM"}


@pytest.fixture
def uow(database_url):
    upgrade(ROOT / "services" / "intake", database_url)
    fernet = fernet_from(None, "development")
    for clue_id, code in CODES.items():
        intake.accept_clue(uow_for(database_url, orm), ClueSubmitted(
            event_id=clue_id, clue_id=clue_id, receipt_digest=receipt_digest(code),
            clue=ClueFields(channel="public_report_platform", title="学校乱收费",
                            description="违规收取资料费")), fernet)
        intake.mark_registered(uow_for(database_url, orm), ProblemRegistered(
            problem_id=problem_id_for(clue_id), clue_id=clue_id, title="t",
            registered_at=orm.utcnow()))
    return lambda: uow_for(database_url, orm)


def step(uow, clue_id, seq, action, to_state, outcome=None, **data):
    intake.follow_transition(uow(), ProblemTransitioned(
        name=action, problem_id=problem_id_for(clue_id), action=action, from_state="x",
        to_state=to_state, outcome=outcome, actor="a", actor_role="county_office",
        history_seq=seq, data=data))


def seen(uow, who):
    return intake.receipt_status(uow(), CODES[who])


def test_a_merged_receipt_shows_the_survivors_progress_never_closed(uow):
    step(uow, "survivor", 10, "dispatch", "dispatched")
    step(uow, "merged", 11, "merge", "closed", "merged", into=problem_id_for("survivor"))
    view = seen(uow, "merged")
    assert (view["status"], view["outcome"], view["merged"]) == ("in_progress", None, True)
    assert view["status_zh"] != "已办结" and not view["may_dispute"]
    step(uow, "survivor", 12, "report_unfounded", "unfounded")
    step(uow, "survivor", 13, "accept_unfounded", "closed", "unfounded")
    view = seen(uow, "merged")
    assert (view["status"], view["outcome"], view["may_dispute"]) == ("closed", "unfounded",
                                                                      True)


def test_a_dispute_on_a_merged_receipt_reaches_the_survivor_once_it_is_closed(uow):
    step(uow, "merged", 11, "merge", "closed", "merged", into=problem_id_for("survivor"))
    with pytest.raises(domain.NotDisputable):
        intake.problem_for_receipt(uow(), CODES["merged"])
    step(uow, "survivor", 13, "strike_off", "closed", "rectified")
    assert intake.problem_for_receipt(uow(), CODES["merged"]) == problem_id_for("survivor")


def test_merges_chain_and_an_unmerge_gives_the_clue_its_own_problem_back(uow):
    step(uow, "merged", 11, "merge", "closed", "merged", into=problem_id_for("survivor"))
    step(uow, "survivor", 12, "merge", "closed", "merged", into=problem_id_for("third"))
    step(uow, "third", 13, "dispatch", "dispatched")
    assert seen(uow, "merged")["status"] == seen(uow, "survivor")["status"] == "in_progress"
    step(uow, "merged", 14, "unmerge", "registered")
    assert (seen(uow, "merged")["status"], seen(uow, "merged")["merged"]) == ("registered",
                                                                             False)
    step(uow, "third", 15, "report_unfounded", "unfounded")
    assert seen(uow, "merged")["status"] == "registered"
    assert seen(uow, "survivor")["status"] == "in_progress"
