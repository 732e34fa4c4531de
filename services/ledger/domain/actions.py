"""What each action does to a problem. Pure: callers pass today's date and the campaign's
lookups (``Context``); the result is a ``Change`` for the history and the outbox."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from services.ledger.domain import workdays
from services.ledger.domain.lifecycle import (
    CLOSING_OUTCOME, EVENT_NAMES, Action, IllegalTransition, Problem, State, check_allowed,
)
from services.ledger.domain.plan import HORIZON, make_plan

A = Action
FLAGS = {"slow_progress": "整改进度慢", "inadequate": "整改不到位", "poor_effect": "整改效果不佳"}
REOPEN_SOURCES = {"spot_check": "抽查", "look_back": "回头看", "reporter_dispute": "举报人异议"}
SERIOUSNESS = ("ordinary", "serious")
SEVERITY_LEVELS = ("lighter", "standard", "stricter")


class InvalidInput(ValueError):
    """An action's input is missing or wrong; ``field`` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    org_code: str | None = None


@dataclass(frozen=True)
class Rules:
    respond_days: int = 5      # working days a unit has to answer a dispatch
    due_soon_days: int = 2     # yellow when due within this many working days
    stall_days: int = 10       # red when no progress for this many working days


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


def perform(problem: Problem, action: Action, actor: Actor, args: dict, ctx: Context) -> Change:
    """Apply ``action`` to ``problem`` in place and describe the change."""
    before = problem.state
    target = check_allowed(problem, action)
    recorded = HANDLERS[action](problem, args, ctx) or {}
    problem.state = target
    if action in CLOSING_OUTCOME:
        problem.outcome = CLOSING_OUTCOME[action]
        problem.decided_by = actor.username
    problem.version += 1
    return Change(problem.id, action, EVENT_NAMES[action], before, target, actor, recorded)


def _text(args: dict, name: str, limit: int = 5000) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(name, "required")
    if len(value) > limit:
        raise InvalidInput(name, f"at most {limit} characters")
    return value.strip()


def _optional_text(args: dict, name: str) -> str | None:
    return _text(args, name) if args.get(name) not in (None, "") else None


def _date_arg(args: dict, name: str, today: date) -> date:
    raw = args.get(name)
    try:
        value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput(name, "required, as a date YYYY-MM-DD") from None
    if value < today:
        raise InvalidInput(name, "lies in the past")
    if value > today + HORIZON:
        raise InvalidInput(name, "lies more than five years ahead")
    return value


def _evidence(args: dict) -> list[dict]:
    items = args.get("evidence")
    if not isinstance(items, list) or not items:
        raise InvalidInput("evidence", "at least one item of evidence is required")
    cleaned = []
    for i, item in enumerate(items[:50]):
        if not isinstance(item, dict) or not str(item.get("description", "")).strip():
            raise InvalidInput(f"evidence[{i}].description", "required")
        entry = {"description": str(item["description"]).strip()[:2000]}
        if item.get("sha256"):
            entry["sha256"] = str(item["sha256"])[:64]
        cleaned.append(entry)
    return cleaned


def _respond_by(args: dict, ctx: Context) -> date:
    if args.get("respond_by"):
        return _date_arg(args, "respond_by", ctx.today)
    days = args.get("respond_days", ctx.rules.respond_days)
    if not isinstance(days, int) or not 1 <= days <= 120:
        raise InvalidInput("respond_days", "a whole number of working days, 1 to 120")
    return workdays.add_workdays(ctx.today, days)


def _unit(args: dict, ctx: Context, required: bool) -> str | None:
    unit = args.get("unit")
    if unit is None and not required:
        return None
    if not isinstance(unit, str) or not ctx.unit_exists(unit):
        raise InvalidInput("unit", f"unknown unit '{unit}'")
    return unit


def _dispatch(p: Problem, args: dict, ctx: Context) -> dict:
    unit = _unit(args, ctx, required=p.unit is None) or p.unit
    respond_by, note = _respond_by(args, ctx), _optional_text(args, "note")
    p.unit, p.respond_by, p.last_progress_on = unit, respond_by, ctx.today
    return {"unit": unit, "respond_by": p.respond_by.isoformat(), "note": note}


def _reassign(p: Problem, args: dict, ctx: Context) -> dict:
    unit = _unit(args, ctx, required=True)
    if unit == p.unit:
        raise InvalidInput("unit", "the problem is already with this unit")
    reason = _text(args, "reason")
    previous, p.unit = p.unit, unit
    return {"from_unit": previous, "unit": unit, "reason": reason,
            "respond_by": p.respond_by.isoformat() if p.respond_by else None}


def _verify(p: Problem, args: dict, ctx: Context) -> dict:
    plan = make_plan(args.get("plan") or {}, today=ctx.today, known_unit=ctx.unit_exists)
    seriousness = args.get("seriousness", "ordinary")
    if seriousness not in SERIOUSNESS:
        raise InvalidInput("seriousness", "ordinary or serious")
    note = _optional_text(args, "note")
    p.plan = plan
    p.seriousness = seriousness
    phase = ctx.phase_on(ctx.today)
    p.confirmed_phase = phase.code if phase is not None else None
    p.last_progress_on = ctx.today
    p.severity_advice = ctx.advise(p)
    return {"plan": plan.to_dict(), "seriousness": seriousness,
            "confirmed_phase": p.confirmed_phase, "self_found": p.self_found,
            "severity_advice": p.severity_advice, "note": note}


def _report_unfounded(p: Problem, args: dict, ctx: Context) -> dict:
    findings = {"findings": _text(args, "findings"), "evidence": _evidence(args)}
    p.details["unfounded"] = findings
    p.last_progress_on = ctx.today
    return findings


def _approve_plan(p: Problem, args: dict, ctx: Context) -> dict:
    note = _optional_text(args, "note")
    p.rectify_by = p.plan.deadline
    p.last_progress_on = ctx.today
    return {"rectify_by": p.rectify_by.isoformat(), "note": note}


def _send_back(p: Problem, args: dict, ctx: Context) -> dict:
    """退回: the unit answers again, with a fresh response deadline."""
    reason = _text(args, "reason")
    respond_by = _respond_by(args, ctx)
    p.plan = None if p.state is State.VERIFIED else p.plan
    p.respond_by = respond_by
    p.last_progress_on = ctx.today
    return {"reason": reason, "respond_by": p.respond_by.isoformat()}


def _accept_unfounded(p: Problem, args: dict, ctx: Context) -> dict:
    return {"note": _optional_text(args, "note")}


def _record_progress(p: Problem, args: dict, ctx: Context) -> dict:
    note = _text(args, "note")
    done = args.get("milestone_done")
    if done is not None:
        if not isinstance(done, int) or not 0 <= done < len(p.plan.milestones):
            raise InvalidInput("milestone_done", "the index of one of the plan's milestones")
        stones = list(p.plan.milestones)
        stones[done] = replace(stones[done], done_on=ctx.today)
        p.plan = replace(p.plan, milestones=tuple(stones))
    p.last_progress_on = ctx.today
    return {"note": note, "milestone_done": done}


def _check_progress(p: Problem, args: dict, ctx: Context) -> dict:
    flags = args.get("flags") or []
    if not isinstance(flags, list):
        raise InvalidInput("flags", "a list")
    cleaned = []
    for i, flag in enumerate(flags):
        if not isinstance(flag, dict) or flag.get("flag") not in FLAGS:
            raise InvalidInput(f"flags[{i}].flag", "one of " + ", ".join(FLAGS))
        cleaned.append({"flag": flag["flag"], "flag_zh": FLAGS[flag["flag"]],
                        "reason": _text(flag, "reason")})
    record = {"flags": cleaned, "note": _optional_text(args, "note")}
    if cleaned:
        p.rectify_by = _date_arg(args, "new_deadline", ctx.today)
        record["new_deadline"] = p.rectify_by.isoformat()
    p.details.setdefault("checks", []).append({**record, "on": ctx.today.isoformat()})
    return record


def _report_rectified(p: Problem, args: dict, ctx: Context) -> dict:
    record = {"evidence": _evidence(args), "note": _optional_text(args, "note")}
    p.details["rectification"] = record
    p.last_progress_on = ctx.today
    return record


def _reject_rectification(p: Problem, args: dict, ctx: Context) -> dict:
    record = {"reason": _text(args, "reason")}
    if args.get("new_deadline"):
        p.rectify_by = _date_arg(args, "new_deadline", ctx.today)
        record["new_deadline"] = p.rectify_by.isoformat()
    p.last_progress_on = ctx.today
    return record


def _strike_off(p: Problem, args: dict, ctx: Context) -> dict:
    return {"note": _optional_text(args, "note")}


def _reopen(p: Problem, args: dict, ctx: Context) -> dict:
    source = args.get("source")
    if source not in REOPEN_SOURCES:
        raise InvalidInput("source", "one of " + ", ".join(REOPEN_SOURCES))
    record = {"source": source, "reason": _text(args, "reason"),
              "previous_outcome": p.outcome.value, "previous_decider": p.decided_by}
    p.outcome = None
    p.decided_by = None
    p.respond_by = p.rectify_by = None
    p.details.setdefault("reopened", []).append({**record, "on": ctx.today.isoformat()})
    return record


def _merge(p: Problem, args: dict, ctx: Context) -> dict:
    into = args.get("into")
    if not isinstance(into, str) or not into or into == p.id:
        raise InvalidInput("into", "the id of another open problem")
    note = _optional_text(args, "note")
    p.merged_into = into
    return {"into": into, "note": note}


def _unmerge(p: Problem, args: dict, ctx: Context) -> dict:
    record = {"from": p.merged_into, "reason": _text(args, "reason")}
    p.merged_into = None
    p.outcome = None
    p.decided_by = None
    return record


def _transfer_out(p: Problem, args: dict, ctx: Context) -> dict:
    record = {"to": _text(args, "to", 200), "reason": _text(args, "reason")}
    p.suspended_since = p.suspension_reason = None
    return record


def _suspend(p: Problem, args: dict, ctx: Context) -> dict:
    p.suspension_reason = _text(args, "reason")
    p.suspended_since = ctx.today
    return {"reason": p.suspension_reason}


def _resume(p: Problem, args: dict, ctx: Context) -> dict:
    """Timers pause while suspended: every running deadline moves by the days lost."""
    note = _optional_text(args, "note")
    paused = max(workdays.workdays_between(p.suspended_since, ctx.today), 0)
    if p.respond_by:
        p.respond_by = workdays.add_workdays(p.respond_by, paused)
    if p.rectify_by:
        p.rectify_by = workdays.add_workdays(p.rectify_by, paused)
    p.last_progress_on = ctx.today
    p.suspended_since = p.suspension_reason = None
    return {"paused_workdays": paused, "note": note}


def _decide_severity(p: Problem, args: dict, ctx: Context) -> dict:
    decision = args.get("decision")
    if decision not in SEVERITY_LEVELS:
        raise InvalidInput("decision", "one of " + ", ".join(SEVERITY_LEVELS))
    note = _text(args, "note")
    p.severity_decision = decision
    return {"decision": decision, "advice": p.severity_advice, "note": note}


HANDLERS = {
    A.DISPATCH: _dispatch, A.REASSIGN: _reassign, A.VERIFY: _verify,
    A.REPORT_UNFOUNDED: _report_unfounded, A.APPROVE_PLAN: _approve_plan,
    A.REJECT_PLAN: _send_back, A.ACCEPT_UNFOUNDED: _accept_unfounded,
    A.REJECT_UNFOUNDED: _send_back, A.RECORD_PROGRESS: _record_progress,
    A.CHECK_PROGRESS: _check_progress, A.REPORT_RECTIFIED: _report_rectified,
    A.REJECT_RECTIFICATION: _reject_rectification, A.STRIKE_OFF: _strike_off,
    A.REOPEN: _reopen, A.MERGE: _merge, A.UNMERGE: _unmerge, A.TRANSFER_OUT: _transfer_out,
    A.SUSPEND: _suspend, A.RESUME: _resume, A.DECIDE_SEVERITY: _decide_severity,
}
assert set(HANDLERS) == set(Action), "every action needs a handler"
__all__ = ["Actor", "Change", "Context", "IllegalTransition", "InvalidInput", "Rules", "perform"]
