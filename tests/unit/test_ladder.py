"""The accountability ladder's rules (services/audit/ladder.py), pure, in milliseconds:
the next step, lighter for self-found problems, never below the phase's floor, no skipping
without an allowed reason, the county office alone decides and only once, dismissed facts
stay dismissed, deadlines in working days, an interview whose deadline passed proposes the
next step, names only for the county office and the custodian."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.campaign import AccountabilityRules
from contracts.vocabulary import LadderStep, LadderTrigger, ProposalStatus
from services.audit import ladder as L
from services.audit.ladder import Facts, LadderRefused, Proposal, Reader, StepRecord
from services.ledger.domain.workdays import WorkCalendar

N, I, A = LadderStep.NOTICE, LadderStep.INTERVIEW, LadderStep.ACCOUNTABILITY
RULES = AccountabilityRules(phase_floor={"p4_institutions": "interview"})
CAL = WorkCalendar()
T0 = datetime(2017, 9, 4, 2, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in China
UNIT = "org_sch_yanshan_high"


def facts(trigger=LadderTrigger.WRONG_CLOSURE, problems=("p1",), **kw) -> Facts:
    return Facts(**{"unit": UNIT, "trigger": trigger, "reason": "复查结论不实",
                    "problem_ids": problems, **kw})


def proposal(step=N, f=None, pid="prop1") -> Proposal:
    return Proposal(id=pid, facts=f or facts(), step=step, notes=(), created_at=T0)


def step(kind, case="case1", at=T0, due=date(2017, 9, 18), sid=None, **kw) -> StepRecord:
    return StepRecord(id=sid or f"s-{kind.value}", case_id=case, unit=UNIT, step=kind,
                      trigger=LadderTrigger.WRONG_CLOSURE, reason="r", decided_by="county",
                      decided_at=at, due_on=due, **kw)


def confirm(p, steps=(), role="county_office", **kw):
    return L.confirm(p, role=role, username="county", steps=list(steps), rules=RULES,
                     calendar=CAL, now=T0, today=date(2017, 9, 4), step_id="new-step",
                     new_case_id="new-case", **kw)


# ── the next step ────────────────────────────────────────────────────────────────────────

def test_the_next_step_climbs_notice_interview_accountability_and_stays_at_the_top():
    assert L.next_step(()) is N
    assert L.next_step((N,)) is I
    assert L.next_step((N, I)) is A
    assert L.next_step((N, I, A)) is A


def test_a_case_that_reached_accountability_is_complete_and_the_next_trigger_starts_anew():
    climbed = [step(N), step(I, at=T0 + timedelta(days=20)),
               step(A, at=T0 + timedelta(days=50))]
    assert L.open_case(climbed) == (None, ())
    assert L.open_case(climbed[:2]) == ("case1", (N, I))
    assert L.proposed_step((), facts(), RULES, None)[0] is N


def test_self_found_problems_propose_one_step_lighter_but_never_below_a_notice():
    own = facts(self_found=True)
    assert L.proposed_step((N,), own, RULES, None)[0] is N          # interview → notice
    assert L.proposed_step((N, I), own, RULES, None)[0] is I        # accountability → interview
    assert L.proposed_step((), own, RULES, None)[0] is N            # never below a notice
    step_, notes = L.proposed_step((N,), own, RULES, None)
    assert any("自查自纠" in zh for zh, _ in notes)
    off = AccountabilityRules(self_found_lighter=False)
    assert L.proposed_step((N,), own, off, None)[0] is I


def test_later_phases_never_propose_below_their_floor_even_for_self_found_problems():
    assert L.proposed_step((), facts(), RULES, "p4_institutions")[0] is I
    assert L.proposed_step((), facts(self_found=True), RULES, "p4_institutions")[0] is I
    assert L.proposed_step((N, I), facts(), RULES, "p4_institutions")[0] is A
    assert L.proposed_step((), facts(), RULES, "p3_rectification")[0] is N


def test_self_found_needs_every_problem_found_by_the_unit_itself():
    assert L.self_found(("a", "b"), {"a": True, "b": True})
    assert not L.self_found(("a", "b"), {"a": True})
    assert not L.self_found((), {})


# ── no skipping ──────────────────────────────────────────────────────────────────────────

def test_an_interview_without_a_notice_is_refused_without_an_allowed_reason():
    with pytest.raises(LadderRefused) as refused:
        confirm(proposal(I))
    assert refused.value.code == "ladder_step_skipped" and refused.value.kind == "conflict"
    assert "通报" in refused.value.message_zh and "notice" in refused.value.message
    with pytest.raises(LadderRefused) as unknown:
        confirm(proposal(I), skip_reason="the head is a friend")
    assert unknown.value.code == "unknown_skip_reason"
    decided, record = confirm(proposal(I), skip_reason="falsified")
    assert record.step is I and record.skip_reason == "falsified"
    assert decided.status is ProposalStatus.CONFIRMED and decided.step_id == record.id


def test_accountability_needs_an_earlier_confirmed_interview():
    with pytest.raises(LadderRefused) as refused:
        confirm(proposal(A), steps=[step(N)])
    assert refused.value.code == "ladder_step_skipped"
    _, record = confirm(proposal(A), steps=[step(N), step(I)])
    assert record.step is A and record.case_id == "case1" and record.skip_reason is None


def test_a_step_the_case_holds_already_is_refused():
    with pytest.raises(LadderRefused) as refused:
        confirm(proposal(N), steps=[step(N)])
    assert refused.value.code == "ladder_step_taken"


# ── deciding ─────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("role", ["supervisor", "spot_check", "unit_handler", "custodian"])
def test_only_the_county_office_confirms_or_dismisses(role):
    for decide in (lambda: confirm(proposal(), role=role),
                   lambda: L.dismiss(proposal(), role=role, username="x", reason="r", now=T0)):
        with pytest.raises(LadderRefused) as refused:
            decide()
        assert refused.value.code == "not_county_office" and refused.value.kind == "forbidden"


def test_a_proposal_is_decided_once():
    decided, _ = confirm(proposal())
    with pytest.raises(LadderRefused) as twice:
        confirm(decided)
    assert twice.value.code == "already_decided"
    dismissed = L.dismiss(proposal(), role="county_office", username="c", reason="已整改到位",
                          now=T0)
    with pytest.raises(LadderRefused):
        L.dismiss(dismissed, role="county_office", username="c", reason="again", now=T0)
    with pytest.raises(LadderRefused):
        confirm(dismissed)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_dismissal_needs_a_reason(reason):
    with pytest.raises(LadderRefused) as refused:
        L.dismiss(proposal(), role="county_office", username="c", reason=reason, now=T0)
    assert refused.value.code == "reason_required" and refused.value.field == "reason"


def test_dismissed_facts_have_one_key_whatever_the_order_of_their_problems():
    a = facts(problems=("p2", "p1"))
    b = facts(problems=("p1", "p2"), reason="another wording", source="another event")
    assert a.key() == b.key()
    assert a.key() != facts(problems=("p1",)).key()
    assert facts(LadderTrigger.OVERDUE).key() != facts(LadderTrigger.WRONG_CLOSURE).key()
    month = Facts(unit=UNIT, trigger=LadderTrigger.MISSING_REPORTS, period="2017-09")
    assert month.key() == replace(month, reason="x").key()
    assert month.key() != replace(month, period="2017-10").key()
    review = Facts(unit=UNIT, trigger=LadderTrigger.FULL_REVIEW_FAILED, round_id="r1")
    assert review.key() != replace(review, round_id="r2").key()


def test_a_confirmed_step_has_its_deadline_in_working_days():
    _, record = confirm(proposal())
    # 10 working days after Monday 2017-09-04: Monday 2017-09-18
    assert record.due_on == date(2017, 9, 18)
    # across the National Day holiday (10-01..08 off, Saturday 09-30 worked): 20 working
    # days after 09-25 end on 10-27 (counting Monday to Friday only would give 10-23)
    assert L.deadline(CAL, date(2017, 9, 25), I, RULES) == date(2017, 10, 27)


def test_only_an_interview_names_the_head_and_persons_are_checked():
    _, notice = confirm(proposal(), head={"name": "王某", "title": "校长"})
    assert notice.head is None
    _, interview = confirm(proposal(I), steps=[step(N)], head={"name": "王某", "title": "校长"})
    assert interview.head == {"name": "王某", "title": "校长"}
    with pytest.raises(LadderRefused) as bad:
        confirm(proposal(), persons=[{"post": "副校长"}])
    assert bad.value.field == "persons[0]"


def test_waiting_proposals_restep_after_a_confirmation():
    waiting = [proposal(N, facts(problems=("p9",)), pid="w1")]
    [changed] = L.restep(waiting, (N,), RULES, None)
    assert changed.step is I and changed.id == "w1"
    assert L.restep([changed], (N,), RULES, None) == []


# ── covert findings ──────────────────────────────────────────────────────────────────────

def finding(**kw):
    args = dict(role="spot_check", username="spot", unit=UNIT, kind="falsified",
                findings="台账造假", evidence=["a" * 64], problem_ids=[], finding_id="f1",
                known_unit=lambda u: u == UNIT)
    return L.finding_facts(**{**args, **kw})


def test_a_covert_finding_needs_a_finder_a_known_unit_a_kind_findings_and_evidence():
    f = finding()
    assert f.trigger is LadderTrigger.FALSIFIED and f.documents == ("a" * 64,)
    for bad, code in ((dict(role="unit_handler"), "not_permitted"),
                      (dict(unit="nowhere"), "unknown_unit"),
                      (dict(kind="rude"), "invalid_input"),
                      (dict(findings=" "), "reason_required"),
                      (dict(evidence=[]), "evidence_required")):
        with pytest.raises(LadderRefused) as refused:
            finding(**bad)
        assert refused.value.code == code, bad


# ── deadlines passing ────────────────────────────────────────────────────────────────────

def test_an_interview_whose_deadline_passed_proposes_accountability():
    notice = step(N, due=date(2017, 9, 18))
    interview = step(I, at=T0 + timedelta(days=15), due=date(2017, 10, 20))
    assert L.passed_deadlines([notice, interview], date(2017, 10, 20)) == [notice]
    assert L.passed_deadlines([notice, interview], date(2017, 10, 23)) == [notice, interview]
    assert L.ineffective_interview(notice, [notice, interview]) is None
    f = L.ineffective_interview(interview, [notice, interview])
    assert f.trigger is LadderTrigger.INTERVIEW_INEFFECTIVE and f.ref == "case1"
    assert L.proposed_step((N, I), f, RULES, None)[0] is A
    # once accountability is confirmed, the passed interview proposes nothing more
    done = step(A, at=T0 + timedelta(days=40))
    assert L.ineffective_interview(interview, [notice, interview, done]) is None
    assert L.passed_deadlines([replace(notice, deadline_passed=True)], date(2018, 1, 1)) == []


def test_overdue_counts_working_days():
    assert L.overdue_enough(CAL, date(2017, 9, 4), date(2017, 9, 18), RULES)
    assert not L.overdue_enough(CAL, date(2017, 9, 4), date(2017, 9, 15), RULES)
    assert L.missing_reports_due(2, RULES) and not L.missing_reports_due(1, RULES)


# ── who sees names ───────────────────────────────────────────────────────────────────────

def named_step():
    return step(A, persons=(L.Person("副校长", "李某"),), head={"name": "王某", "title": "校长"})


@pytest.mark.parametrize("role", ["county_office", "custodian"])
def test_the_county_office_and_the_custodian_read_names(role):
    view = L.step_view(named_step(), Reader(role, None))
    assert view["persons"] == [{"post": "副校长", "name": "李某"}]
    assert view["head"]["name"] == "王某" and view["names_hidden"] is False


@pytest.mark.parametrize("role", ["supervisor", "spot_check", "unit_handler", "media", "ops"])
def test_every_other_role_gets_names_redacted(role):
    view = L.step_view(named_step(), Reader(role, UNIT))
    assert view["persons"] == [{"post": "副校长", "name": L.REDACTED}]
    assert view["head"] == {"title": "校长", "name": L.REDACTED}
    assert view["names_hidden"] is True
    assert "李某" not in repr(view) and "王某" not in repr(view)


def test_the_chain_record_keeps_no_name():
    record = L.chain_record(named_step())
    assert "李某" not in repr(record) and "王某" not in repr(record)
    assert len(record["persons_sha256"]) == 64


def test_who_reads_which_unit():
    body = {UNIT: "org_education_bureau"}.get
    assert L.may_read_unit(Reader("county_office", "org_county_office"), UNIT, body)
    assert L.may_read_unit(Reader("supervisor", "org_education_bureau"), UNIT, body)
    assert not L.may_read_unit(Reader("supervisor", "org_supervision_bureau"), UNIT, body)
    assert L.may_read_unit(Reader("unit_handler", UNIT), UNIT, body)
    assert not L.may_read_unit(Reader("unit_handler", "org_gd_public_security"), UNIT, body)
    assert not L.sees_proposals(Reader("unit_handler", UNIT))
    assert not L.may_read_unit(Reader("media", None), UNIT, body)


# ── who hears (services/notify/domain.py's ladder rules) ─────────────────────────────────

def test_a_confirmed_step_reaches_the_units_handlers_and_its_head_a_proposal_the_county():
    from tests.unit.test_notify_rules import PEOPLE, SCHOOL, Directory, hear

    with_head = Directory(PEOPLE, heads={SCHOOL: "head1"})
    assert hear("ladder_confirmed", directory=with_head) == ["h1", "h2", "head1"]
    assert hear("ladder_proposed", directory=with_head) == ["county"]
    assert hear("ladder_deadline_passed", directory=with_head) == ["county", "head1"]
    assert hear("ladder_dismissed", directory=with_head) == []


def test_notify_maps_an_accountability_event_to_its_occurrence():
    from contracts.events import AccountabilityEvent
    from services.notify.handlers import occurrence_of

    occ = occurrence_of(AccountabilityEvent(
        event_id="e", name="confirmed", case_id="c", step="notice", unit=UNIT,
        trigger="perfunctory", supervisor="org_education_bureau", due_on=date(2017, 9, 18)))
    assert (occ.name, occ.unit, occ.supervisor, occ.due) == (
        "ladder_confirmed", UNIT, "org_education_bureau", date(2017, 9, 18))
    assert occ.title == "通报，限期整改" and occ.problem_id is None
