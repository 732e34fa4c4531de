"""What each action does to a problem. Pure: callers pass today's date and the campaign's
lookups (``Context``); the result is a ``Change`` for the history and the outbox."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from pydantic import BaseModel, ValidationError

from contracts import actions as contract
from contracts.vocabulary import FLAG_LABELS_ZH
from services.ledger.domain import public, timers
from services.ledger.domain.lifecycle import (
    CLOSING_OUTCOME, EVENT_NAMES, Action, IllegalTransition, Problem, State, check_allowed,
)
from services.ledger.domain.plan import HORIZON, PlanInvalid, make_plan
from services.ledger.domain.timers import Rules

A = Action
REPORTED_BY = "reported_by"   # details key: who reported the step awaiting a decision


class InvalidInput(ValueError):
    """An action's input is missing or wrong; ``field`` names it, ``message_zh`` says it in
    Chinese where the domain has the words."""

    def __init__(self, field_name: str, message: str, message_zh: str | None = None):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message_zh = message_zh


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    org_code: str | None = None


@dataclass
class Context:
    today: date
    now: datetime
    unit_exists: callable
    phase_on: callable = lambda day: None
    advise: callable = lambda problem: None
    rules: Rules = field(default_factory=Rules)


@dataclass(frozen=True)
class Change:
    problem_id: str
    action: Action
    event_name: str
    from_state: State
    to_state: State
    actor: Actor
    data: dict


def parse_input(action: Action, args) -> contract.ActionInput:
    """The action's input as its contract's model (``contracts.actions``), or InvalidInput
    naming the first bad field (PlanInvalid listing all of a plan's)."""
    model = contract.SPECS[action].input
    if isinstance(args, model):
        return args
    try:
        return model.model_validate(args.model_dump() if isinstance(args, BaseModel) else args)
    except ValidationError as exc:
        errors = exc.errors()
    in_plan = [e for e in errors if len(e["loc"]) > 1 and e["loc"][0] == "plan"]
    if in_plan and len(in_plan) == len(errors):
        raise PlanInvalid([(contract.field_path(e["loc"][1:]), contract.reason_of(e)[0])
                           for e in in_plan])
    first = errors[0]
    en, zh = contract.reason_of(first)
    raise InvalidInput(contract.field_path(first["loc"]) or "args", en, zh)


def perform(problem: Problem, action: Action, actor: Actor, args, ctx: Context) -> Change:
    """Apply ``action`` to ``problem`` in place and describe the change. ``args`` is the
    action's input: its contract's model, or plain data checked against it first."""
    inp = parse_input(action, args)
    before = problem.state
    target = check_allowed(problem, action)
    handler = HANDLERS[action]
    recorded = (handler(problem, inp, ctx, actor) if action in REPORTER_STEPS
                else handler(problem, inp, ctx)) or {}
    recorded.update(_acting_for(inp))
    if action in REPORTED_STEPS:
        problem.details[REPORTED_BY] = {"action": action.value, "by": actor.username}
    problem.state = target
    recorded.update(timers.start_clock(problem, before, ctx.today, ctx.rules))
    if action in CLOSING_OUTCOME:
        problem.outcome = CLOSING_OUTCOME[action]
        problem.decided_by = actor.username
    problem.version += 1
    return Change(problem.id, action, EVENT_NAMES[action], before, target, actor, recorded)


def _acting_for(args) -> dict:
    """代为办理: on whose behalf and why, for the history."""
    unit = getattr(args, "on_behalf_of", None)
    return {"on_behalf_of": unit, "reason": args.reason} if unit else {}


def _date_arg(value: date, name: str, today: date) -> date:
    if value < today:
        raise InvalidInput(name, "lies in the past", "不能早于今天")
    if value > today + HORIZON:
        raise InvalidInput(name, "lies more than five years ahead", "不能晚于五年之后")
    return value


def _evidence(items) -> list[dict]:
    return [{"description": e.description, **({"sha256": e.sha256} if e.sha256 else {})}
            for e in items]


def _attached(args) -> dict:
    """Evidence a step may carry besides its own record (verify, record progress): in the
    history only when some is given, so a step without files records what it always did."""
    items = getattr(args, "evidence", ())
    return {"evidence": _evidence(items)} if items else {}


def _respond_by(p: Problem, args, ctx: Context) -> date:
    if args.respond_by:
        timers.flag_calendar(p, ctx.rules)        # a date given, not counted
        return _date_arg(args.respond_by, "respond_by", ctx.today)
    days = args.respond_days or ctx.rules.respond_days
    return timers.deadline(p, ctx.today, days, ctx.rules)


def _unit(args, ctx: Context, required: bool) -> str | None:
    unit = args.unit
    if unit is None and not required:
        return None
    if unit is None or not ctx.unit_exists(unit):
        raise InvalidInput("unit", f"unknown unit '{unit}'", "不是本次专项工作中的单位")
    return unit


def _dispatch(p: Problem, args, ctx: Context) -> dict:
    unit = _unit(args, ctx, required=p.unit is None) or p.unit
    respond_by, note = _respond_by(p, args, ctx), args.note
    p.unit, p.respond_by, p.last_progress_on = unit, respond_by, ctx.today
    return {"unit": unit, "respond_by": p.respond_by.isoformat(), "note": note,
            **_unknown_years(p)}


def _reassign(p: Problem, args, ctx: Context) -> dict:
    unit = _unit(args, ctx, required=True)
    if unit == p.unit:
        raise InvalidInput("unit", "the problem is already with this unit", "问题已由该单位承办")
    reason = args.reason
    previous, p.unit = p.unit, unit
    return {"from_unit": previous, "unit": unit, "reason": reason,
            "respond_by": p.respond_by.isoformat() if p.respond_by else None}


def _verify(p: Problem, args, ctx: Context) -> dict:
    plan = make_plan(args.plan, today=ctx.today, known_unit=ctx.unit_exists)
    seriousness = args.seriousness.value
    note = args.note
    p.plan = plan
    p.seriousness = seriousness
    phase = ctx.phase_on(ctx.today)
    p.confirmed_phase = phase.code if phase is not None else None
    p.last_progress_on = ctx.today
    p.severity_advice = ctx.advise(p)
    return {"plan": plan.to_dict(), "seriousness": seriousness,
            "confirmed_phase": p.confirmed_phase, "self_found": p.self_found,
            "severity_advice": p.severity_advice, "note": note, **_attached(args)}


def _public(args) -> dict:
    """向举报人公开的办理情况, when given (``domain.public``)."""
    words = getattr(args, "public_findings", None)
    return {"public_findings": words} if words else {}


def _report_unfounded(p: Problem, args, ctx: Context) -> dict:
    findings = {"findings": args.findings, "evidence": _evidence(args.evidence),
                **_public(args)}
    p.details["unfounded"] = findings
    p.last_progress_on = ctx.today
    return dict(findings)


def _approve_plan(p: Problem, args, ctx: Context) -> dict:
    note = args.note
    p.rectify_by = p.plan.deadline
    timers.flag_calendar(p, ctx.rules)            # the plan's own date, not counted
    p.last_progress_on = ctx.today
    return {"rectify_by": p.rectify_by.isoformat(), "note": note}


def _send_back(p: Problem, args, ctx: Context) -> dict:
    """退回: the unit answers again, with a fresh response deadline."""
    reason = args.reason
    respond_by = _respond_by(p, args, ctx)
    p.plan = None if p.state is State.VERIFIED else p.plan
    p.respond_by = respond_by
    p.last_progress_on = ctx.today
    return {"reason": reason, "respond_by": p.respond_by.isoformat(), **_unknown_years(p)}


def _accept_unfounded(p: Problem, args, ctx: Context) -> dict:
    return {"note": args.note, **_public(args)}


def _record_progress(p: Problem, args, ctx: Context) -> dict:
    note = args.note
    done = args.milestone_done
    if done is not None:
        if not 0 <= done < len(p.plan.milestones):
            raise InvalidInput("milestone_done", "the index of one of the plan's milestones",
                               "应为整改计划中某一阶段目标的序号")
        stones = list(p.plan.milestones)
        stones[done] = replace(stones[done], done_on=ctx.today)
        p.plan = replace(p.plan, milestones=tuple(stones))
    p.last_progress_on = ctx.today
    return {"note": note, "milestone_done": done, **_attached(args)}


def _check_progress(p: Problem, args, ctx: Context) -> dict:
    cleaned = [{"flag": f.flag.value, "flag_zh": FLAG_LABELS_ZH[f.flag], "reason": f.reason}
               for f in args.flags]
    record = {"flags": cleaned, "note": args.note}
    if cleaned:
        if args.new_deadline is None:
            raise InvalidInput("new_deadline", "required with flags, as a date YYYY-MM-DD",
                               "有问题标记时为必填项,日期格式应为 YYYY-MM-DD")
        p.rectify_by = _date_arg(args.new_deadline, "new_deadline", ctx.today)
        record["new_deadline"] = p.rectify_by.isoformat()
    p.details.setdefault("checks", []).append({**record, "on": ctx.today.isoformat()})
    return record


def _report_rectified(p: Problem, args, ctx: Context) -> dict:
    record = {"evidence": _evidence(args.evidence), "note": args.note, **_public(args)}
    p.details["rectification"] = record
    p.last_progress_on = ctx.today
    return dict(record)


def _reject_rectification(p: Problem, args, ctx: Context) -> dict:
    record = {"reason": args.reason}
    if args.new_deadline:
        p.rectify_by = _date_arg(args.new_deadline, "new_deadline", ctx.today)
        record["new_deadline"] = p.rectify_by.isoformat()
    p.last_progress_on = ctx.today
    return record


def _strike_off(p: Problem, args, ctx: Context) -> dict:
    return {"note": args.note, **_public(args)}


def _reopen(p: Problem, args, ctx: Context) -> dict:
    record = {"source": args.source.value, "reason": args.reason,
              "previous_outcome": p.outcome.value, "previous_decider": p.decided_by}
    p.outcome = None
    p.decided_by = None
    p.respond_by = p.rectify_by = None
    p.details.setdefault("reopened", []).append({**record, "on": ctx.today.isoformat()})
    return record


def _merge(p: Problem, args, ctx: Context) -> dict:
    into = args.into
    if into == p.id:
        raise InvalidInput("into", "the id of another open problem",
                           "应为另一个未办结的问题编号")
    note = args.note
    p.merged_into = into
    return {"into": into, "note": note}


def _unmerge(p: Problem, args, ctx: Context) -> dict:
    record = {"from": p.merged_into, "reason": args.reason}
    p.merged_into = None
    p.outcome = None
    p.decided_by = None
    return record


def _transfer_out(p: Problem, args, ctx: Context) -> dict:
    record = {"to": args.to or args.partner, "reason": args.reason}
    if args.partner:  # a partner platform (协作平台): notify delivers it there
        record["partner"] = args.partner
    p.suspended_since = p.suspension_reason = None
    return record


def _suspend(p: Problem, args, ctx: Context) -> dict:
    p.suspension_reason = args.reason
    p.suspended_since = ctx.today
    return {"reason": p.suspension_reason}


def _resume(p: Problem, args, ctx: Context) -> dict:
    """Timers pause while suspended: every running deadline (the unit's answer, the plan's
    deadline and undone milestones, a supervisor's decision) moves by the working days lost."""
    note = args.note
    calendar = ctx.rules.calendar
    paused = max(calendar.workdays_between(p.suspended_since, ctx.today), 0)
    spans = [(p.suspended_since, ctx.today)]

    def shift(day: date | None) -> date | None:
        if day is None or not paused:
            return day
        moved = calendar.add_workdays(day, paused)
        spans.append((day, moved))
        return moved

    p.respond_by, p.rectify_by, p.decide_by = (
        shift(p.respond_by), shift(p.rectify_by), shift(p.decide_by))
    if p.plan is not None and p.plan.milestones:
        p.plan = replace(p.plan, milestones=tuple(
            m if m.done_on is not None else replace(m, due_on=shift(m.due_on))
            for m in p.plan.milestones))
    timers.flag_calendar(p, ctx.rules, *spans)
    p.last_progress_on = ctx.today
    p.suspended_since = p.suspension_reason = None
    return {"paused_workdays": paused, "note": note, **_deadlines(p), **_unknown_years(p)}


def _deadlines(p: Problem) -> dict:
    """Every deadline as it stands, for the history."""
    found = {name: getattr(p, name).isoformat()
             for name in ("respond_by", "rectify_by", "decide_by") if getattr(p, name)}
    if p.plan is not None and p.plan.milestones:
        found["milestones_due"] = [m.due_on.isoformat() for m in p.plan.milestones]
    return found


def _unknown_years(p: Problem) -> dict:
    years = p.details.get(timers.UNKNOWN_YEARS)
    return {timers.UNKNOWN_YEARS: years} if years else {}


def _decide_severity(p: Problem, args, ctx: Context) -> dict:
    decision = args.decision.value
    note = args.note
    p.severity_decision = decision
    return {"decision": decision, "advice": p.severity_advice, "note": note}


def _reporter_supplement(p: Problem, args, ctx: Context, actor: Actor) -> dict:
    """补充材料: the reporter's words and photos (their sealed originals' digests)."""
    record = {"text": args.text, "photos": list(args.photos)}
    p.details.setdefault("supplements", []).append(
        {**record, "by": actor.username, "on": ctx.today.isoformat()})
    return record


def _rate_satisfaction(p: Problem, args, ctx: Context, actor: Actor) -> dict:
    """回访满意度: one answer per receipt per outcome (``domain.public.rate``)."""
    try:
        record = public.rate(p.details, by=actor.username, satisfaction=args.satisfaction,
                             reason=args.reason, on=ctx.today.isoformat())
    except public.ReasonRequired:
        raise InvalidInput("reason", "required when not satisfied",
                           "选择“不满意”时为必填项,请说明理由") from None
    return {key: record[key] for key in ("satisfaction", "satisfaction_zh", "reason", "round")}


def _publish(p: Problem, args, ctx: Context) -> dict:
    """公开曝光: shown on the public page as the county office words it (again: amended)."""
    record = {"found": args.found, "done": args.done, "media": _evidence(args.evidence),
              "on": ctx.today.isoformat()}
    p.details["published"] = record
    return record


def _unpublish(p: Problem, args, ctx: Context) -> dict:
    p.details.pop("published")   # lifecycle.check_allowed: only a published problem
    return {"reason": args.reason}


HANDLERS = {
    A.DISPATCH: _dispatch, A.REASSIGN: _reassign, A.VERIFY: _verify,
    A.REPORT_UNFOUNDED: _report_unfounded, A.APPROVE_PLAN: _approve_plan,
    A.REJECT_PLAN: _send_back, A.ACCEPT_UNFOUNDED: _accept_unfounded,
    A.REJECT_UNFOUNDED: _send_back, A.RECORD_PROGRESS: _record_progress,
    A.CHECK_PROGRESS: _check_progress, A.REPORT_RECTIFIED: _report_rectified,
    A.REJECT_RECTIFICATION: _reject_rectification, A.STRIKE_OFF: _strike_off,
    A.REOPEN: _reopen, A.MERGE: _merge, A.UNMERGE: _unmerge, A.TRANSFER_OUT: _transfer_out,
    A.SUSPEND: _suspend, A.RESUME: _resume, A.DECIDE_SEVERITY: _decide_severity,
    A.REPORTER_SUPPLEMENT: _reporter_supplement, A.RATE_SATISFACTION: _rate_satisfaction,
    A.PUBLISH: _publish, A.UNPUBLISH: _unpublish,
}
# The reporter's own steps: their handlers are told who (the receipt's pseudonym) acts.
REPORTER_STEPS = {A.REPORTER_SUPPLEMENT, A.RATE_SATISFACTION}
assert set(HANDLERS) == set(Action), "every action needs a handler"
REPORTED_STEPS = {spec.decides for spec in contract.SPECS.values() if spec.decides is not None}
__all__ = ["REPORTED_BY", "Actor", "Change", "Context", "IllegalTransition", "InvalidInput",
           "Rules", "parse_input", "perform"]
