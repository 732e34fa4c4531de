"""Audit hears clues, problems and the reporting cycle once each (services/audit/subscriptions):
one inbox mark per message serves the spot-check population, the observations and the
ladder together, on SQLite and PostgreSQL; a redelivered message changes nothing."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contracts.campaign import load_campaign
from contracts.events import (
    ClueAccepted, ClueFields, ProblemTransitioned, ReportCycleEvent, problem_id_for,
)
from kit.migrate import upgrade
from services.audit import ladder_shell, subscriptions
from services.audit.adapters import ladder as ladder_store
from services.audit.adapters import orm
from services.audit.adapters import rounds as rounds_store
from tests.integration.test_stores import uow_for

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "org_sch_yanshan_high"
NOW = datetime(2017, 9, 4, 2, 0, tzinfo=timezone.utc)
CAMPAIGN = load_campaign(ROOT / "config" / "campaign.yaml")
LADDER = ladder_shell.context_of(CAMPAIGN)
CONSUMER = "audit.on_clue_accepted"  # as the service names its inbox


@pytest.fixture
def uow(database_url):
    upgrade(ROOT / "services" / "audit", database_url)
    return lambda: uow_for(database_url, orm, consumer=CONSUMER)


def count(uow, table) -> int:
    with uow() as u:
        return u.session.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_clue_is_observed_and_its_channel_kept_once(uow):
    clue = ClueAccepted(event_id="acc-own", clue_id="own", submitted_at=NOW,
                        submitter_role="unit_handler", submitter_org=SCHOOL,
                        clue=ClueFields(channel="self_inspection", title="t", description="d",
                                        subject_unit=SCHOOL))
    for _ in range(2):  # redelivered
        subscriptions.clue_accepted(uow(), clue, LADDER)
    assert count(uow, orm.observations) == 1
    with uow() as u:
        assert ladder_store.found_by_unit(u.session, [problem_id_for("own")]) == {
            problem_id_for("own"): True}


def test_a_batch_writes_each_problems_first_channel_once_and_reads_it_back(uow):
    """remember_channel's rows wait for the batch's flush (one multi-row INSERT ... ON
    CONFLICT DO NOTHING): a second clue of one problem in the same batch, or in a later
    one, keeps the first channel; a read in the same transaction sees the rows."""
    def accepted(event_id, channel, role, org, unit=SCHOOL):
        return ClueAccepted(event_id=event_id, clue_id="same", submitted_at=NOW,
                            submitter_role=role, submitter_org=org,
                            clue=ClueFields(channel=channel, title="t", description="d",
                                            subject_unit=unit))
    own = accepted("acc-1", "self_inspection", "unit_handler", SCHOOL)
    public = accepted("acc-2", "online_survey", None, None)
    pid = problem_id_for("same")
    with uow() as u:  # one transaction, as apply_each runs a batch
        subscriptions.clue_accepted(u, own, LADDER)
        subscriptions.clue_accepted(u, public, LADDER)
        assert ladder_store.found_by_unit(u.session, [pid]) == {pid: True}  # read back
        u.commit()
    subscriptions.clue_accepted(uow(), accepted("acc-3", "online_survey", None, None), LADDER)
    assert count(uow, ladder_store.problem_channels) == 1
    with uow() as u:
        assert ladder_store.found_by_unit(u.session, [pid]) == {pid: True}


def test_a_transition_feeds_the_population_and_ends_the_overdue_watch_once(uow):
    with uow() as u:
        ladder_store.watch_overdue(u.session, "p1", SCHOOL, date(2017, 8, 28), "拖延")
        u.commit()
    moved = ProblemTransitioned(
        event_id="mv", name="unfounded_accepted", problem_id="p1", action="accept_unfounded",
        from_state="closure_reported", to_state="closed", actor="edu",
        actor_role="supervisor", history_seq=4, unit=SCHOOL, outcome="unfounded",
        category="fees", occurred_at=NOW)
    for _ in range(2):
        subscriptions.problem_transitioned(uow(), moved, CAMPAIGN)
    assert count(uow, orm.observations) == 1
    with uow() as u:
        assert ladder_store.watched(u.session) == []
        item = rounds_store.get_item(u.session, "p1")
    assert item is not None and item.unit == SCHOOL


def test_the_cycle_feeds_the_population_and_the_ladder_once(uow):
    filed = ReportCycleEvent(event_id="r1", name="report_filed", what="weekly",
                             period="2017-W36", unit=SCHOOL, kind="zero", report_id="rep-1",
                             occurred_at=NOW)
    missing = ReportCycleEvent(event_id="m1", name="report_missing", what="weekly",
                               period="2017-W35", unit=SCHOOL, due_on=date(2017, 9, 5))
    for _ in range(2):
        subscriptions.report_cycle(uow(), filed, LADDER, NOW)
        subscriptions.report_cycle(uow(), missing, LADDER, NOW)
    with uow() as u:
        assert rounds_store.get_item(u.session, "rep-1") is not None
    assert count(uow, ladder_store.missing_reports) == 1
