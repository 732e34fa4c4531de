"""The ladder's use cases on a unit of work (问责阶梯): triggers in, proposals out, decisions by
the county office, the daily deadline sweep, and the reads (names redacted by role).

Each event consumer checks its inbox (``consume_once``) in the transaction that proposes, so a
redelivered event changes nothing; facts proposed once are never proposed again
(``ladder_proposals.facts_key`` is unique). Rules live in ``services.audit.ladder``."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from contracts.clue_rules import Submitter, reports_itself
from contracts.events import (
    AccountabilityEvent, ClueAccepted, ProblemClockAlert, ProblemTransitioned, RecheckRecorded,
    ReportCycleEvent, SpotCheckConcluded, problem_id_for,
)
from contracts.vocabulary import (
    LADDER_STEP_LABELS, ClockAlert, CycleEvent, LadderStep, LadderTrigger, ProposalStatus,
    RecheckVerdict,
)
from kit.periods import COUNTY_TZ as LOCAL
from kit.uow import AlreadyProcessed, UnitOfWork
from services.audit import ladder as rules
from services.audit.adapters import ladder as store
from services.audit.ladder import Facts, LadderRefused, Proposal, Reader

WRONG = (RecheckVerdict.WRONG.value, RecheckVerdict.NOT_PRODUCED.value)


@dataclass
class Context:
    """What the use cases need besides a unit of work (wired once, in the service)."""

    campaign: object
    calendar: rules.Calendar

    @property
    def rules(self):
        return self.campaign.accountability

    def supervisor_of(self, unit: str) -> str | None:
        body = self.campaign.supervisor_of(unit)
        return body.code if body else None

    def known_unit(self, unit: str) -> bool:
        org = self.campaign.organization(unit) if isinstance(unit, str) else None
        return org is not None and org.type not in ("county_office",)

    def phase(self, day: date) -> str | None:
        found = self.campaign.phase_on(day)
        return found.code if found else None


def local_day(now: datetime) -> date:
    return now.astimezone(LOCAL).date()


def new_id() -> str:
    return uuid.uuid4().hex


def _event(name: str, *, event_id: str, case_id: str, step: LadderStep, unit: str,
           trigger: LadderTrigger, reason: str, ctx: Context, due_on: date | None = None,
           problem_ids=(), decided_by: str | None = None) -> AccountabilityEvent:
    return AccountabilityEvent(
        event_id=event_id, name=name, case_id=case_id, step=LadderStep(step).value, unit=unit,
        trigger=LadderTrigger(trigger).value, reason=reason[:500],
        supervisor=ctx.supervisor_of(unit), due_on=due_on, problem_ids=tuple(problem_ids),
        decided_by=decided_by)


# ── proposing ──────────────────────────────────────────────────────────────────────────────

def propose(uow: UnitOfWork, facts: Facts, ctx: Context, now: datetime) -> Proposal | None:
    """Inside the caller's transaction: propose the unit's step on ``facts``, unless these
    facts were proposed before (waiting, confirmed or dismissed) or name no known unit."""
    session = uow.session
    if not facts.unit or not ctx.known_unit(facts.unit) or store.known_facts(session, facts.key()):
        return None
    if facts.problem_ids and not facts.self_found:
        found = store.found_by_unit(session, facts.problem_ids)
        facts = replace(facts, self_found=rules.self_found(facts.problem_ids, found))
    case, taken = rules.open_case(store.steps_of(session, facts.unit))
    step, notes = rules.proposed_step(taken, facts, ctx.rules, ctx.phase(local_day(now)))
    proposal = Proposal(id=new_id(), facts=facts, step=step, notes=notes, created_at=now)
    store.add_proposal(session, proposal)
    uow.emit(_event("proposed", event_id=f"ladder-proposed-{proposal.id}", case_id=case or "",
                    step=step, unit=facts.unit, trigger=facts.trigger, reason=facts.reason,
                    ctx=ctx, problem_ids=facts.problem_ids))
    return proposal


def _once(uow: UnitOfWork, event_id: str) -> bool:
    try:
        uow.consume_once(event_id)
        return True
    except AlreadyProcessed:
        return False


def on_recheck(uow: UnitOfWork, msg: RecheckRecorded, ctx: Context, now: datetime) -> None:
    """查否复查: a closure found wrong (or not produced) proposes a step against the unit
    that closed it (追究承办单位的责任)."""
    with uow:
        if not _once(uow, msg.event_id):
            return
        if msg.verdict in WRONG:
            problem = msg.problem_id or msg.item_id
            verdict = "结论不实" if msg.verdict == RecheckVerdict.WRONG else "无法提供材料"
            propose(uow, Facts(unit=msg.unit, trigger=LadderTrigger.WRONG_CLOSURE,
                               reason=f"复查{verdict}:{msg.findings}"[:2000],
                               problem_ids=(problem,), round_id=msg.round_id,
                               source=msg.event_id), ctx, now)
        uow.commit()


def on_spot_check_concluded(uow: UnitOfWork, msg: SpotCheckConcluded, ctx: Context,
                            now: datetime) -> None:
    """A full review (全面复查) with errors fails: a step is proposed."""
    with uow:
        if not _once(uow, msg.event_id):
            return
        if msg.full_review and msg.errors > 0:
            propose(uow, Facts(
                unit=msg.unit, trigger=LadderTrigger.FULL_REVIEW_FAILED,
                reason=(f"全面复查未通过:复查 {msg.checked} 件,{msg.errors} 件结论不实"
                        f"(轮次 {msg.round_id},{msg.period})"),
                round_id=msg.round_id, period=msg.period, source=msg.event_id), ctx, now)
        uow.commit()


def on_clock_alert(uow: UnitOfWork, msg: ProblemClockAlert, ctx: Context,
                   now: datetime) -> None:
    """A problem overdue (红灯): past ``overdue_workdays`` already, a step is proposed; else
    it is watched, and the daily sweep proposes once it is (unless it moved meanwhile)."""
    with uow:
        if not _once(uow, msg.event_id):
            return
        if msg.name == ClockAlert.OVERDUE and msg.unit and msg.due_on:
            if msg.days >= ctx.rules.overdue_workdays:
                propose(uow, overdue_facts(msg.problem_id, msg.unit, msg.due_on, msg.title,
                                           msg.days, msg.event_id), ctx, now)
                store.unwatch(uow.session, msg.problem_id)
            else:
                store.watch_overdue(uow.session, msg.problem_id, msg.unit, msg.due_on,
                                    msg.title)
        uow.commit()


def overdue_facts(problem_id: str, unit: str, due_on: date, title: str, days: int,
                  source: str) -> Facts:
    return Facts(unit=unit, trigger=LadderTrigger.OVERDUE,
                 reason=f"问题超期 {days} 个工作日未办结(期限 {due_on.isoformat()}):{title}"[:2000],
                 problem_ids=(problem_id,), period=due_on.isoformat(), source=source)


def on_report_cycle(uow: UnitOfWork, msg: ReportCycleEvent, ctx: Context,
                    now: datetime) -> None:
    """Once per message: ``report_cycle``."""
    with uow:
        if not _once(uow, msg.event_id):
            return
        report_cycle(uow, msg, ctx, now)
        uow.commit()


def report_cycle(uow: UnitOfWork, msg: ReportCycleEvent, ctx: Context, now: datetime) -> None:
    """Weekly reports missing (``missing_reports`` in a month), the ledger's escalation
    (提请问责) and contradicted zero reports propose steps (the caller applies each message
    once)."""
    unit = msg.unit or ""
    if msg.name == CycleEvent.REPORT_MISSING and msg.what == "weekly" and unit:
        month = rules.month_of(msg.due_on or local_day(now))
        count = store.record_missing(uow.session, unit, msg.period, month)
        if rules.missing_reports_due(count, ctx.rules):
            propose(uow, Facts(unit=unit, trigger=LadderTrigger.MISSING_REPORTS,
                               reason=f"{month} 月未按时报送周报告 {count} 次", period=month,
                               source=msg.event_id), ctx, now)
    elif msg.name == CycleEvent.ESCALATION_PROPOSED and unit:
        propose(uow, Facts(unit=unit, trigger=LadderTrigger.MISSING_REPORTS,
                           reason=f"逾期未报送({msg.what},{msg.period}),台账提请问责",
                           period=f"{msg.what}:{msg.period}", source=msg.event_id), ctx, now)
    elif msg.name == CycleEvent.ZERO_CONTRADICTED and unit:
        propose(uow, Facts(unit=unit, trigger=LadderTrigger.ZERO_CONTRADICTED,
                           reason=f"{msg.period} 零报告与台账不符", period=msg.period,
                           source=msg.event_id), ctx, now)


def on_clue_accepted(uow: UnitOfWork, msg: ClueAccepted, ctx: Context) -> None:
    """Once per message: ``remember_channel``."""
    with uow:
        if not _once(uow, msg.event_id):
            return
        remember_channel(uow, msg, ctx)
        uow.commit()


def remember_channel(uow: UnitOfWork, msg: ClueAccepted, ctx: Context) -> None:
    """Remember each problem's channel and whether the unit found it itself (自查自纠)."""
    campaign = ctx.campaign
    channel = campaign.channel(msg.clue.channel)
    groups = campaign.severity_advice.self_found_channel_groups
    found = bool(channel is not None and channel.group in groups and reports_itself(
        campaign, channel=msg.clue.channel, subject_unit=msg.clue.subject_unit,
        submitter=Submitter(msg.submitter_role or "", msg.submitter_org)))
    store.remember_channel(uow.session, problem_id_for(msg.clue_id), msg.clue.channel, found)


def on_problem_transitioned(uow: UnitOfWork, msg: ProblemTransitioned) -> None:
    """Once per message: ``stop_watching``."""
    with uow:
        if not _once(uow, msg.event_id):
            return
        stop_watching(uow, msg)
        uow.commit()


def stop_watching(uow: UnitOfWork, msg: ProblemTransitioned) -> None:
    """A problem that moved (another state, a suspension) is no longer watched as overdue;
    a new deadline that runs out is a new crossing the ledger announces."""
    if msg.from_state != msg.to_state or msg.name in ("suspended", "resumed"):
        store.unwatch(uow.session, msg.problem_id)


# ── covert inspection findings (暗访) ────────────────────────────────────────────────────────

def record_finding(uow: UnitOfWork, ctx: Context, *, actor: dict, unit: str, kind: str,
                   findings: str, evidence: list[str], problem_ids: list[str] | None,
                   now: datetime) -> dict:
    with uow:
        facts = rules.finding_facts(
            role=actor.get("role", ""), username=actor.get("username", ""), unit=unit,
            kind=kind, findings=findings, evidence=evidence, problem_ids=problem_ids or (),
            finding_id=new_id(), known_unit=ctx.known_unit)
        proposal = propose(uow, facts, ctx, now)
        uow.commit()
    return rules.proposal_view(proposal)


# ── deciding ───────────────────────────────────────────────────────────────────────────────

def _proposal_or_refuse(session, proposal_id: str) -> Proposal:
    found = store.get_proposal(session, proposal_id, for_update=True)
    if found is None:
        raise LadderRefused("not_found", "no such proposal", "未找到该问责建议", "not_found")
    return found


def confirm(uow: UnitOfWork, ctx: Context, *, actor: dict, proposal_id: str,
            skip_reason: str | None = None, note: str | None = None, persons=None,
            head: dict | None = None, now: datetime) -> dict:
    """The county office confirms: the step recorded with its deadline, the proposal decided,
    the unit's other waiting proposals re-stepped, ``ladder.confirmed`` published. The chain
    entry is written after the commit (``chain_pending``)."""
    with uow:
        session = uow.session
        rules.check_decider(actor.get("role", ""))
        proposal = _proposal_or_refuse(session, proposal_id)
        unit_steps = store.steps_of(session, proposal.unit)
        today = local_day(now)
        decided, record = rules.confirm(
            proposal, role=actor.get("role", ""), username=actor.get("username", ""),
            steps=unit_steps, rules=ctx.rules, calendar=ctx.calendar, now=now, today=today,
            step_id=new_id(), new_case_id=new_id(), skip_reason=skip_reason, note=note,
            persons=persons, head=head)
        try:
            store.save_decision(session, decided)
        except LookupError:
            raise LadderRefused("already_decided", "the proposal was decided already",
                                "该建议已经作出决定,不能重复决定", "conflict") from None
        store.add_step(session, record)
        _, taken = rules.open_case([*unit_steps, record])
        for changed in rules.restep([p for p in store.pending_of(session, proposal.unit)],
                                    taken, ctx.rules, ctx.phase(today)):
            store.save_decision(session, changed)
        uow.emit(_event("confirmed", event_id=f"ladder-confirmed-{record.id}",
                        case_id=record.case_id, step=record.step, unit=record.unit,
                        trigger=record.trigger, reason=record.reason, ctx=ctx,
                        due_on=record.due_on, problem_ids=record.problem_ids,
                        decided_by=record.decided_by))
        uow.commit()
    return rules.step_view(record, _reader(actor), today)


def dismiss(uow: UnitOfWork, ctx: Context, *, actor: dict, proposal_id: str, reason: str,
            now: datetime) -> dict:
    with uow:
        session = uow.session
        rules.check_decider(actor.get("role", ""))
        proposal = _proposal_or_refuse(session, proposal_id)
        decided = rules.dismiss(proposal, role=actor.get("role", ""),
                                username=actor.get("username", ""), reason=reason, now=now)
        try:
            store.save_decision(session, decided)
        except LookupError:
            raise LadderRefused("already_decided", "the proposal was decided already",
                                "该建议已经作出决定,不能重复决定", "conflict") from None
        uow.emit(_event("dismissed", event_id=f"ladder-dismissed-{proposal.id}", case_id="",
                        step=decided.step, unit=decided.unit, trigger=decided.facts.trigger,
                        reason=decided.dismiss_reason or "", ctx=ctx,
                        problem_ids=decided.facts.problem_ids,
                        decided_by=decided.decided_by))
        uow.commit()
    return rules.proposal_view(decided)


# ── the daily sweep (每个工作日) ─────────────────────────────────────────────────────────────

def sweep(uow: UnitOfWork, ctx: Context, day: date, now: datetime) -> dict[str, int]:
    """Inside the caller's transaction (a claimed period of ``kit.schedule``): deadlines that
    passed by ``day`` publish ``ladder.deadline_passed`` (an interview's proposes the next
    step); problems watched as overdue past ``overdue_workdays`` propose a step."""
    session = uow.session
    counts = {"deadline_passed": 0, "proposed": 0}
    for step in rules.passed_deadlines(store.open_deadlines(session, day), day):
        store.mark_deadline_passed(session, step.id)
        counts["deadline_passed"] += 1
        uow.emit(_event("deadline_passed", event_id=f"ladder-deadline-{step.id}",
                        case_id=step.case_id, step=step.step, unit=step.unit,
                        trigger=step.trigger,
                        reason=f"{LADDER_STEP_LABELS[step.step][0]}期限 {step.due_on} 已过",
                        ctx=ctx, due_on=step.due_on, problem_ids=step.problem_ids))
        facts = rules.ineffective_interview(step, store.steps_of(session, step.unit))
        if facts is not None and propose(uow, facts, ctx, now) is not None:
            counts["proposed"] += 1
    for problem_id, unit, due_on, title in store.watched(session):
        if rules.overdue_enough(ctx.calendar, due_on, day, ctx.rules):
            days = ctx.calendar.workdays_between(due_on, day)
            if propose(uow, overdue_facts(problem_id, unit, due_on, title, days,
                                          f"sweep:{day}"), ctx, now) is not None:
                counts["proposed"] += 1
            store.unwatch(session, problem_id)
    return counts


# ── the chain (留痕) ────────────────────────────────────────────────────────────────────────

def chain_pending(uow: UnitOfWork, limit: int = 50) -> list[tuple[str, str, dict]]:
    """Steps whose chain entry is not written yet: (step id, key, record)."""
    with uow:
        return [(s.id, s.chain_key, rules.chain_record(s))
                for s in store.unchained(uow.session, limit)]


def chained(uow: UnitOfWork, step_id: str, seq: int, digest: str) -> None:
    with uow:
        store.mark_chained(uow.session, step_id, seq, digest)
        uow.commit()


# ── reads ──────────────────────────────────────────────────────────────────────────────────

def _reader(actor: dict) -> Reader:
    return Reader(role=str(actor.get("role", "")), org_code=actor.get("org_code"),
                  username=str(actor.get("username", "")))


def _units_for(reader: Reader, ctx: Context) -> list[str] | None:
    """The units ``reader`` may read (None: all)."""
    if reader.role in rules.OVERSEERS:
        return None
    return [o.code for o in ctx.campaign.organizations
            if rules.may_read_unit(reader, o.code, ctx.supervisor_of)]


def _refuse_unit(reader: Reader, unit: str, ctx: Context) -> None:
    if not ctx.known_unit(unit) or not rules.may_read_unit(reader, unit, ctx.supervisor_of):
        raise LadderRefused("not_found", "no such unit, or not visible to you",
                            "未找到该单位,或您无权查看", "not_found")


def list_proposals(uow: UnitOfWork, ctx: Context, *, actor: dict, status: str | None,
                   unit: str | None = None, proposal_id: str | None = None) -> dict:
    reader = _reader(actor)
    if not rules.sees_proposals(reader):
        raise LadderRefused("not_permitted", "proposals are for the county office, "
                            "supervising bodies, the spot-check team and the custodian",
                            "问责建议仅供县委办公室、系统分管部门、抽查组和保管人查看", "forbidden")
    if status and status not in {s.value for s in ProposalStatus}:
        raise LadderRefused("invalid_input", "status: proposed, confirmed or dismissed",
                            "状态应为 proposed、confirmed 或 dismissed", "invalid", "status")
    units = _units_for(reader, ctx)
    if unit:
        _refuse_unit(reader, unit, ctx)
        units = [unit]
    with uow:
        if proposal_id:
            one = store.get_proposal(uow.session, proposal_id)
            found = [one] if one and (units is None or one.unit in units) and (
                not status or one.status.value == status) else []
        else:
            found = store.list_proposals(uow.session, status=status or None, units=units)
    return {"items": [rules.proposal_view(p) for p in found]}


def unit_ladder(uow: UnitOfWork, ctx: Context, *, actor: dict, unit: str,
                now: datetime) -> dict:
    """One unit's ladder: its steps (names by role), its next step, and, for those who may
    see them, the proposals about it. A unit's handler: its own unit, confirmed steps only."""
    reader = _reader(actor)
    _refuse_unit(reader, unit, ctx)
    today = local_day(now)
    with uow:
        unit_steps = store.steps_of(uow.session, unit)
        found = store.list_proposals(uow.session, units=[unit]) \
            if rules.sees_proposals(reader) else []
    case, taken = rules.open_case(unit_steps)
    nxt = rules.next_step(taken)
    return {"unit": unit, "case_id": case, "next_step": nxt.value,
            "next_step_zh": LADDER_STEP_LABELS[nxt][0],
            "steps": [rules.step_view(s, reader, today) for s in reversed(unit_steps)],
            "proposals": [rules.proposal_view(p) for p in found]}


def overview(uow: UnitOfWork, ctx: Context, *, actor: dict, now: datetime) -> dict:
    """Per unit in the reader's scope with anything on its ladder: the latest step, its
    deadline, the proposals waiting."""
    reader = _reader(actor)
    units = _units_for(reader, ctx)
    today = local_day(now)
    with uow:
        every = store.all_steps(uow.session, units)
        waiting = store.count_pending(uow.session) if rules.sees_proposals(reader) else {}
    latest: dict[str, rules.StepRecord] = {}
    for s in every:
        latest[s.unit] = s
    names = set(latest) | {u for u in waiting if units is None or u in units}
    rows = []
    for unit in sorted(names):
        s = latest.get(unit)
        rows.append({"unit": unit, "waiting": waiting.get(unit, 0),
                     "latest": rules.step_view(s, reader, today) if s else None})
    return {"items": rows}
