"""The ledger's use cases: registration, every lifecycle action, views, roll-ups, the
history chain and work plans. Each takes a unit of work and the campaign configuration."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from contracts.events import ClueAccepted, ProblemRegistered, ProblemTransitioned, WorkPlanFiled
from kit.uow import AlreadyProcessed, UnitOfWork
from services.ledger.adapters import history
from services.ledger.adapters import repository as repo
from services.ledger.adapters.orm import utcnow
from services.ledger.domain import LOCAL_TZ, chain, duplicates, severity, timers
from services.ledger.domain.access import (
    NotPermitted, check_permitted, may_see, visible_units,
)
from services.ledger.domain.actions import Actor, Context, InvalidInput, Rules, perform
from services.ledger.domain.lifecycle import Action, Problem
from services.ledger.domain.registration import register

CONSUMER_ACCEPTED = "ledger.on_clue_accepted"
RULES = Rules()


class ProblemNotFound(Exception):
    pass


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def supervisor_code(campaign, unit: str | None) -> str | None:
    body = campaign.supervisor_of(unit) if unit else None
    return body.code if body else None


def context(campaign, today: date | None = None) -> Context:
    return Context(today=today or local_today(), now=utcnow(),
                   unit_exists=lambda code: campaign.organization(code) is not None,
                   phase_on=campaign.phase_on,
                   advise=lambda problem: severity.advise_level(problem, campaign),
                   rules=RULES)


# registration ----------------------------------------------------------------------------
def register_problem(uow: UnitOfWork, msg: ClueAccepted, campaign) -> str | None:
    """Register the clue's problem once (登记), suggest duplicates, announce it."""
    with uow:
        try:
            uow.consume_once(CONSUMER_ACCEPTED, msg.event_id)
        except AlreadyProcessed:
            return None
        clue = msg.clue
        problem = register(
            clue_id=msg.clue_id, channel=clue.channel, title=clue.title,
            description=clue.description, unit=clue.subject_unit, category=clue.category,
            kind=clue.kind, self_found=severity.is_self_found(clue.channel, campaign),
            now=utcnow())
        suggestions = _duplicate_suggestions(uow, problem, campaign)
        if suggestions:
            problem.details["duplicate_suggestions"] = suggestions
        repo.add(uow.session, problem, supervisor_code(campaign, problem.unit))
        repo.append_history(uow.session, problem_id=problem.id, action="register",
                            actor="system", at=problem.registered_at, state=repo.state_digest(
                                problem, supervisor_code(campaign, problem.unit)),
                            data={"clue_id": msg.clue_id, "channel": clue.channel,
                                  "unit": problem.unit, "duplicate_suggestions": suggestions})
        uow.emit(ProblemRegistered(
            event_id=f"registered-{problem.id}", problem_id=problem.id, clue_id=msg.clue_id,
            unit=problem.unit, category=problem.category, kind=problem.kind,
            title=problem.title, registered_at=problem.registered_at))
        uow.commit()
        return problem.id


def _duplicate_suggestions(uow: UnitOfWork, problem: Problem, campaign) -> list[dict]:
    if problem.unit is None:
        return []
    config = campaign.duplicates
    rows = repo.find_candidates(
        uow.session, unit=problem.unit, category=problem.category, exclude=problem.id,
        since=problem.registered_at - timedelta(days=config.window_days))
    new = duplicates.Candidate(problem.id, problem.unit, problem.category, problem.title,
                               problem.description, problem.registered_at)
    existing = [duplicates.Candidate(r.id, r.unit, r.category, r.title, r.description,
                                     repo._utc(r.registered_at)) for r in rows]
    found = duplicates.suggest_duplicates(new, existing, window_days=config.window_days,
                                          threshold=config.threshold)
    return [{"problem_id": s.problem_id, "score": round(s.score, 3)} for s in found]


# lifecycle ---------------------------------------------------------------------------------
def act(uow: UnitOfWork, campaign, *, problem_id: str, action: str, actor: Actor, args: dict,
        today: date | None = None) -> dict:
    """Perform one lifecycle action; state, history and event commit together."""
    try:
        chosen = Action(action)
    except ValueError:
        raise InvalidInput("action", f"unknown action '{action}'") from None
    ctx = context(campaign, today)
    with uow:
        problem = _load_visible(uow, campaign, problem_id, actor, lock=True)
        counted_as = repo.count_key(problem, supervisor_code(campaign, problem.unit))
        check_permitted(campaign, actor, chosen, problem, args)
        target = _merge_target(uow, campaign, problem, chosen, args, actor)
        change = perform(problem, chosen, actor, args, ctx)
        repo.save(uow.session, problem, supervisor_code(campaign, problem.unit), counted_as)
        _move_provenance(uow, problem, chosen, target, change)
        seq = repo.append_history(uow.session, problem_id=problem.id, action=chosen.value,
                                  actor=actor.username, at=ctx.now, state=repo.state_digest(
                                      problem, supervisor_code(campaign, problem.unit)), data={
                                      "role": actor.role, "from": change.from_state.value,
                                      "to": change.to_state.value, **change.data})
        uow.emit(ProblemTransitioned(
            event_id=f"h{seq}-{problem.id[:16]}", name=change.event_name, problem_id=problem.id,
            action=chosen.value, from_state=change.from_state.value,
            to_state=change.to_state.value,
            outcome=problem.outcome.value if problem.outcome else None, unit=problem.unit,
            supervisor=supervisor_code(campaign, problem.unit), category=problem.category,
            actor=actor.username, actor_role=actor.role, history_seq=seq, data=change.data))
        uow.commit()
        return view(problem, ctx.today)


def _load_visible(uow, campaign, problem_id, actor, *, lock=False) -> Problem:
    problem = repo.load(uow.session, problem_id, lock=lock)
    if problem is None or (actor.role != "reporter" and not may_see(campaign, actor, problem)):
        raise ProblemNotFound(problem_id)
    return problem


def _merge_target(uow, campaign, problem, action, args, actor) -> Problem | None:
    if action is Action.MERGE:
        target = repo.load(uow.session, str(args.get("into")), lock=True)
        if target is None or not target.is_open or not may_see(campaign, actor, target):
            raise InvalidInput("into", "the id of another open problem you can see")
        return target
    if action is Action.UNMERGE:
        return repo.load(uow.session, problem.merged_into, lock=True)
    return None


def _move_provenance(uow, problem, action, target, change) -> None:
    """A merge keeps every clue and its channel as provenance of the one problem."""
    if action is Action.MERGE:
        moved = repo.move_clues(uow.session, problem.id, target.id, "merged")
        change.data["clues"] = moved
    elif action is Action.UNMERGE and target is not None:
        # Take back exactly the clue this problem was registered for.
        repo.unlink_clue(uow.session, target.id, problem.clue_id)
        repo.link_clue(uow.session, problem.id, problem.clue_id, problem.channel, "registered")


# views -------------------------------------------------------------------------------------
def view(problem: Problem, today: date, **extra) -> dict:
    light = timers.light(problem, today, RULES)
    due = timers.due_on(problem)
    return {
        "id": problem.id, "clue_id": problem.clue_id, "channel": problem.channel,
        "title": problem.title, "description": problem.description, "unit": problem.unit,
        "category": problem.category, "kind": problem.kind, "state": problem.state.value,
        "outcome": problem.outcome.value if problem.outcome else None,
        "decided_by": problem.decided_by,
        "registered_at": problem.registered_at.isoformat(),
        "respond_by": _iso(problem.respond_by), "rectify_by": _iso(problem.rectify_by),
        "due_on": _iso(due), "last_progress_on": _iso(problem.last_progress_on),
        "light": light, "light_zh": timers.LIGHT_ZH.get(light),
        "overdue": timers.is_overdue(problem, today),
        "stalled": timers.is_stalled(problem, today, RULES),
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


def get_problem(uow: UnitOfWork, campaign, *, problem_id: str, actor: Actor) -> dict:
    with uow:
        problem = _load_visible(uow, campaign, problem_id, actor)
        return view(problem, local_today(), timeline=repo.timeline(uow.session, problem_id),
                    clues=repo.clues_of(uow.session, problem_id))


def _scope(campaign, actor: Actor) -> tuple[list[str] | None, str | None]:
    """(units, supervisor): filter by the supervisor column where that is exact."""
    if actor.role == "supervisor":
        return None, actor.org_code
    return visible_units(campaign, actor), None


def list_problems(uow: UnitOfWork, campaign, *, actor: Actor, filters: dict, limit: int,
                  offset: int) -> dict:
    today = local_today()
    units, supervisor = _scope(campaign, actor)
    with uow:
        total, rows = repo.list_problems(
            uow.session, units=units, supervisor=supervisor, filters=filters, today=today,
            stall_before=timers.stall_cutoff(today, RULES), limit=limit,
            offset=offset)
        items = []
        for row in rows:
            item = view(repo.to_problem(row), today)
            item.pop("details")
            items.append(item)
        return {"total": total, "limit": limit, "offset": offset, "items": items}


def rollup(uow: UnitOfWork, campaign, *, actor: Actor) -> dict:
    """Counts by state, category, kind, unit and channel; overdue and stalled; rates."""
    today = local_today()
    stall_before = timers.stall_cutoff(today, RULES)
    units, supervisor = _scope(campaign, actor)
    scope = {"units": units, "supervisor": supervisor}
    if units is not None:
        raise NotPermitted("roll-ups are for the county office and supervising bodies")
    with uow:
        by = repo.counts_by_state_and_outcome(uow.session, supervisor=supervisor)
        by.update({name: repo.counts_by(uow.session, name, supervisor=supervisor)
                   for name in ("category", "kind", "channel")})
        totals = repo.unit_totals(uow.session, supervisor=supervisor)
        by["unit"] = {(row.unit or "none"): int(row.total) for row in totals}
        late = repo.late_per_unit(uow.session, today=today, stall_before=stall_before, **scope)
        attention = repo.attention_list(uow.session, today=today, stall_before=stall_before,
                                        **scope)
    per_unit = {row.unit or None: {name: int(getattr(row, name) or 0) for name in (
        "total", "open", "closed", "struck_off", "unfounded", "self_found")} for row in totals}
    units_out = [_unit_rates(unit, tally, late.get(unit, {}), campaign)
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
    }


def _brief(row) -> dict:
    return {"id": row.id, "unit": row.unit, "title": row.title, "state": row.state,
            "due_on": _iso(row.due_on), "last_progress_on": _iso(row.last_progress_on)}


# history -----------------------------------------------------------------------------------
def verify_chain(uow: UnitOfWork, between_batches=None, published: dict | None = None) -> dict:
    """Re-hash the whole chain, check each entry is filed under the problem it was hashed
    for and each problem's row against the state its history binds; with ``published``
    ({seq, hash}, a head published earlier) prove that today's chain extends it."""
    given = chain.Published(int(published["seq"]), str(published["hash"])) if published \
        else None
    with uow:
        history.snapshot(uow.session)
        verdict = chain.verify_stored(
            history.iter_chain(uow.session, between_batches=between_batches), given)
        head = repo.head(uow.session)
        rows = chain.verify_rows(
            history.iter_problem_states(uow.session, between_batches=between_batches),
            deleted=history.problems_without_rows(uow.session, chain.NAMED_AT_MOST))
    at_head = verdict.head_hash == head["hash"] and verdict.checked == head["seq"]
    problem = verdict.problem
    if problem is None and not at_head:
        problem = "the chain's head does not match its last entry (entries removed at the end)"
    if problem is None and verdict.misfiled_count:
        first = verdict.misfiled[0]
        problem = f"entry {first['seq']}: {first['problem']}"
    if problem is None and rows.disagreeing_count:
        first = rows.disagreeing[0]
        problem = f"problem {first['problem_id']}: {first['problem']}"
    ok = problem is None
    answer = {"ok": ok, "checked": verdict.checked, "head": head,
              "first_broken_seq": verdict.first_broken_seq, "problem": problem,
              "misfiled": verdict.misfiled, "misfiled_count": verdict.misfiled_count,
              "problems_checked": rows.checked, "disagreeing": rows.disagreeing,
              "disagreeing_count": rows.disagreeing_count}
    if given is not None:
        answer["published"] = {"seq": given.seq, "hash": given.hash,
                               "extended": bool(verdict.extends_published)}
    return answer


def chain_head(uow: UnitOfWork, signer=None) -> dict:
    """The chain's head, fit to publish; signed as a checkpoint when a signer is given."""
    with uow:
        head = repo.head(uow.session)
    return signer.checkpoint(head["seq"], head["hash"]) if signer is not None else head


# work plans (清理工作方案备案) ------------------------------------------------------------------
def file_work_plan(uow: UnitOfWork, campaign, *, actor: Actor, title: str, summary: str,
                   document_sha256: str | None = None) -> dict:
    if actor.role != "unit_handler" or not actor.org_code:
        raise NotPermitted("only a unit's handler files its unit's work plan")
    title, summary = (title or "").strip(), (summary or "").strip()
    if not 2 <= len(title) <= 200:
        raise InvalidInput("title", "2 to 200 characters")
    if not 5 <= len(summary) <= 20000:
        raise InvalidInput("summary", "5 to 20,000 characters")
    plan_id = uuid.uuid4().hex
    supervisor = supervisor_code(campaign, actor.org_code)
    now = utcnow()
    with uow:
        repo.add_work_plan(uow.session, id=plan_id, unit=actor.org_code, supervisor=supervisor,
                           title=title, summary=summary, document_sha256=document_sha256,
                           filed_by=actor.username, filed_at=now)
        repo.append_history(uow.session, problem_id=None, action="file_work_plan",
                            actor=actor.username, at=now,
                            data={"plan_id": plan_id, "unit": actor.org_code, "title": title})
        uow.emit(WorkPlanFiled(event_id=f"plan-{plan_id}", plan_id=plan_id, unit=actor.org_code,
                               supervisor=supervisor))
        uow.commit()
    return {"id": plan_id, "unit": actor.org_code, "supervisor": supervisor,
            "filed_at": now.isoformat()}


def acknowledge_work_plan(uow: UnitOfWork, campaign, *, actor: Actor, plan_id: str) -> dict:
    with uow:
        row = repo.get_work_plan(uow.session, plan_id, lock=True)
        if row is None or not _may_acknowledge(actor, row.supervisor):
            raise ProblemNotFound(plan_id)
        if row.acknowledged_at is not None:
            raise InvalidInput("plan_id", "this work plan was acknowledged already")
        repo.acknowledge_work_plan(uow.session, plan_id, actor.username)
        now = utcnow()
        repo.append_history(uow.session, problem_id=None, action="acknowledge_work_plan",
                            actor=actor.username, at=now, data={"plan_id": plan_id})
        uow.commit()
    return {"id": plan_id, "acknowledged_by": actor.username}


def _may_acknowledge(actor: Actor, supervisor: str | None) -> bool:
    return actor.role == "county_office" or (
        actor.role == "supervisor" and actor.org_code == supervisor)


def list_work_plans(uow: UnitOfWork, campaign, *, actor: Actor) -> dict:
    with uow:
        rows = repo.list_work_plans(uow.session, units=visible_units(campaign, actor))
    return {"items": [_work_plan(r) for r in rows]}


def _work_plan(row) -> dict:
    return {"id": row.id, "unit": row.unit, "supervisor": row.supervisor, "title": row.title,
            "summary": row.summary, "document_sha256": row.document_sha256,
            "filed_by": row.filed_by, "filed_at": repo._utc(row.filed_at).isoformat(),
            "acknowledged_by": row.acknowledged_by,
            "acknowledged_at": repo._utc(row.acknowledged_at).isoformat()
            if row.acknowledged_at else None}


def missing_work_plans(uow: UnitOfWork, campaign, *, actor: Actor,
                       phase: str | None = None) -> dict:
    """Units with no work plan filed (missing) or filed after the phase's end (late)."""
    chosen = next((p for p in campaign.phases if p.code == phase), None) if phase \
        else campaign.phases[0]
    if chosen is None:
        raise InvalidInput("phase", f"unknown phase '{phase}'")
    deadline = datetime.combine(chosen.end + timedelta(days=1), datetime.min.time(),
                                tzinfo=LOCAL_TZ)
    units = visible_units(campaign, actor)
    candidates = [o for o in campaign.organizations
                  if o.type in UNIT_TYPES and (units is None or o.code in units)]
    with uow:
        filed = repo.first_filings(uow.session)
    brief = lambda o: {"unit": o.code, "unit_zh": o.name_zh, "supervisor": o.reports_to}  # noqa: E731
    missing = [brief(o) for o in candidates if o.code not in filed]
    late = [{**brief(o), "filed_at": filed[o.code].isoformat()} for o in candidates
            if o.code in filed and filed[o.code] >= deadline]
    return {"phase": chosen.code, "deadline": chosen.end.isoformat(), "units": len(candidates),
            "on_time": len(candidates) - len(missing) - len(late), "missing": missing,
            "late": late}


UNIT_TYPES = {"township", "party_department", "government_department", "school", "enterprise"}
