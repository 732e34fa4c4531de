"""Views and roll-ups (台账查询与统计): one problem as the API shows it, lists scoped to
what the actor may see, and counts and rates per unit for the supervising bodies."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from contracts.listing import ProblemSort
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.adapters.views import COUNTY_HOURS, STATE_COLUMNS
from services.ledger.domain import severity, timers
from services.ledger.domain.access import NotPermitted, visible_units
from services.ledger.domain.actions import Actor, InvalidInput
from services.ledger.domain.lifecycle import Problem
from services.ledger.domain.timers import Rules
from services.ledger.handlers.common import RULES, load_visible, local_today, rules_of


def view(problem: Problem, today: date, rules: Rules = RULES, **extra) -> dict:
    light = timers.light(problem, today, rules)
    due = timers.due_on(problem)
    return {
        "id": problem.id, "clue_id": problem.clue_id, "channel": problem.channel,
        "title": problem.title, "description": problem.description, "unit": problem.unit,
        "category": problem.category, "kind": problem.kind, "state": problem.state.value,
        "outcome": problem.outcome.value if problem.outcome else None,
        "decided_by": problem.decided_by,
        "registered_at": problem.registered_at.isoformat(),
        "respond_by": _iso(problem.respond_by), "rectify_by": _iso(problem.rectify_by),
        "decide_by": _iso(problem.decide_by), "due_on": _iso(due),
        "waiting_on": timers.WAITING_ON[problem.state].value if problem.is_open else None,
        "calendar_unknown_years": timers.unknown_years(problem, today, rules),
        "last_progress_on": _iso(problem.last_progress_on),
        "light": light, "light_zh": timers.LIGHT_ZH.get(light),
        "overdue": timers.is_overdue(problem, today),
        "stalled": timers.is_stalled(problem, today, rules),
        "suspended": problem.suspended, "suspension_reason": problem.suspension_reason,
        "plan": problem.plan.to_dict() if problem.plan else None,
        "merged_into": problem.merged_into, "self_found": problem.self_found,
        "seriousness": problem.seriousness, "confirmed_phase": problem.confirmed_phase,
        "severity_advice": problem.severity_advice,
        "severity_decision": problem.severity_decision,
        "details": problem.details, "version": problem.version, **extra,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def get_problem(uow: LedgerUnitOfWork, campaign, *, problem_id: str, actor: Actor) -> dict:
    with uow:
        problem = load_visible(uow, campaign, problem_id, actor)
        return view(problem, local_today(), rules_of(campaign),
                    timeline=uow.history.timeline(problem_id),
                    clues=uow.problems.clues_of(problem_id),
                    severity_reasons=severity_reasons(problem, campaign))


def severity_reasons(problem: Problem, campaign) -> dict | None:
    """Why the ledger advises the level it recorded (宽严相济的理由), for the person who
    decides beside it; None before verification, when there is no advice yet."""
    if problem.severity_advice is None:
        return None
    advice = severity.advise(problem, campaign, actively_rectified=problem.plan is not None)
    return {"level": advice.level, "reasons": advice.reasons, "reasons_zh": advice.reasons_zh}


def _scope(campaign, actor: Actor) -> tuple[list[str] | None, str | None]:
    """(units, supervisor): filter by the supervisor column where that is exact."""
    if actor.role == "supervisor":
        return None, actor.org_code
    return visible_units(campaign, actor), None


def list_problems(uow: LedgerUnitOfWork, campaign, *, actor: Actor, filters: dict, limit: int,
                  offset: int) -> dict:
    """The problems the actor may see, filtered, in the order ``filters["sort"]`` names
    (``contracts.listing``; newest first by default); ``as_of`` is the ledger's today, against
    which overdue and stalled were judged."""
    today, rules = local_today(), rules_of(campaign)
    _check_sort(filters.get("sort"))
    units, supervisor = _scope(campaign, actor)
    with uow:
        total, problems = uow.views.list_problems(
            units=units, supervisor=supervisor, filters=filters, today=today,
            stall_before=timers.stall_cutoff(today, rules), limit=limit,
            offset=offset)
        items = []
        for problem in problems:
            item = view(problem, today, rules)
            item.pop("details")
            items.append(item)
        return {"total": total, "limit": limit, "offset": offset, "as_of": today.isoformat(),
                "items": items}


def _check_sort(sort) -> None:
    if sort is not None and sort not in {s.value for s in ProblemSort}:
        names = ", ".join(s.value for s in ProblemSort)
        raise InvalidInput("sort", f"one of {names}", f"应为 {names} 之一")


def rollup(uow: LedgerUnitOfWork, campaign, *, actor: Actor, today: date | None = None) -> dict:
    """Counts by state, category, kind, unit and channel; overdue and stalled; rates."""
    today = today or local_today()
    stall_before = timers.stall_cutoff(today, rules_of(campaign))
    units, supervisor = _scope(campaign, actor)
    scope = {"units": units, "supervisor": supervisor}
    if units is not None:
        raise NotPermitted("roll-ups are for the county office and supervising bodies")
    with uow:
        by = uow.views.counts_by_state_and_outcome(supervisor=supervisor)
        by.update({name: uow.views.counts_by(name, supervisor=supervisor)
                   for name in ("category", "kind", "channel")})
        totals = uow.views.unit_totals(supervisor=supervisor)
        by["unit"] = {(row.unit or "none"): int(row.total) for row in totals}
        late = uow.views.late_per_unit(today=today, stall_before=stall_before, **scope)
        attention = uow.views.attention_list(today=today, stall_before=stall_before, **scope)
        satisfaction = uow.views.satisfaction_counts(supervisor=supervisor)
    by["satisfaction"] = satisfaction_totals(satisfaction)
    per_unit = {row.unit or None: {name: int(getattr(row, name) or 0) for name in (
        "total", "open", "closed", "struck_off", "unfounded", "self_found")} for row in totals}
    units_out = [{**_unit_rates(unit, tally, late.get(unit, {}), campaign),
                  **_unit_satisfaction(satisfaction.get(unit, {}))}
                 for unit, tally in per_unit.items()]
    return {
        "as_of": today.isoformat(), "scope": supervisor or ("all" if units is None else units),
        "total": sum(by["state"].values()), "by": by,
        "units": sorted(units_out, key=lambda u: (-u["overdue_rate"], u["unit"] or "")),
        "overdue": [_brief(r) for r in attention["overdue"]],
        "stalled": [_brief(r) for r in attention["stalled"]],
    }


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _unit_rates(unit: str | None, tally: dict, late: dict, campaign) -> dict:
    """Rates, not only counts, so units of different size compare fairly."""
    org = campaign.organization(unit) if unit else None
    overdue, stalled = late.get("overdue", 0), late.get("stalled", 0)
    return {
        "unit": unit, "unit_zh": org.name_zh if org else None, **tally,
        "overdue": overdue, "stalled": stalled,
        "closure_rate": _rate(tally["closed"], tally["total"]),
        "overdue_rate": _rate(overdue, tally["open"]),
        "stalled_rate": _rate(stalled, tally["open"]),
        "unfounded_rate": _rate(tally["unfounded"], tally["closed"]),
        "self_found_rate": _rate(tally["self_found"], tally["total"]),
        # 整改率: closed problems struck off as rectified, of all closed
        "rectified_rate": _rate(tally["struck_off"], tally["closed"]),
        # 按期率: open problems within their clock, of all open; none open gives no rate
        "on_time_rate": _rate(tally["open"] - overdue, tally["open"]) if tally["open"] else None,
    }


def satisfaction_totals(per_unit: dict[str | None, dict]) -> dict[str, int]:
    """回访满意度 by value over every unit in scope."""
    totals: dict[str, int] = {}
    for counts in per_unit.values():
        for value, n in counts.items():
            totals[value] = totals.get(value, 0) + n
    return totals


def _unit_satisfaction(counts: dict[str, int]) -> dict:
    """A unit's return-visit answers by value, and the share satisfied or basically so."""
    answered = sum(counts.values())
    content = counts.get("satisfied", 0) + counts.get("basically_satisfied", 0)
    return {"satisfaction": dict(counts), "satisfaction_answers": answered,
            "satisfaction_rate": _rate(content, answered)}


def _brief(row) -> dict:
    return {"id": row.id, "unit": row.unit, "title": row.title, "state": row.state,
            "due_on": _iso(row.due_on), "last_progress_on": _iso(row.last_progress_on)}


MAX_STATES = 1000
"""The most problems ``problem_states`` reads in one call (Open311's page of requests)."""
COUNTY_OFFSET = timezone(timedelta(hours=COUNTY_HOURS))
"""Asia/Shanghai keeps no summer time: a fixed offset converts a thousand times faster."""


def problem_states(uow: LedgerUnitOfWork, *, clue_ids: list[str],
                   with_text: bool = False) -> dict:
    """The narrow state of the problems registered for up to ``MAX_STATES`` clues, in one
    read (Open311: a partner platform's requests), as ``columns`` and ``rows`` (the names
    once, not per row: the answer of 1,000 travels as a fifth of the bytes). No actor: the
    gateway's Open311 door has already scoped the clues to the partner that submitted them;
    nothing internal beyond the row's state and topic (and the description it sent,
    ``with_text``)."""
    if len(clue_ids) > MAX_STATES:
        raise InvalidInput("clue_ids", f"at most {MAX_STATES} problems at once",
                           f"一次最多读取 {MAX_STATES} 个问题")
    with uow:
        rows = uow.views.states_by_clue(list(dict.fromkeys(clue_ids)), with_text=with_text)
    at = STATE_COLUMNS.index("updated_at")
    return {"columns": list(STATE_COLUMNS) + (["description"] if with_text else []),
            "rows": [[*row[:at], _county_time(row[at]), *row[at + 1:]] for row in rows]}


def _county_time(at: datetime | str) -> str:
    """W3C, in the county's time (as Open311 shows it: the gateway passes it on as is);
    text is already so (PostgreSQL formats it, ``adapters.views.states_by_clue``)."""
    if isinstance(at, str):
        return at
    aware = at if at.tzinfo else at.replace(tzinfo=timezone.utc)  # SQLite keeps UTC, naive
    return aware.astimezone(COUNTY_OFFSET).isoformat(timespec="seconds")
