"""Lifecycle actions (办理): one action moves a problem's state, appends its history entry
and announces it, all in one transaction, or changes nothing."""
from __future__ import annotations

from datetime import date

from contracts.events import SHARED_FIELDS, ProblemTransitioned
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain.access import authorize, may_see
from services.ledger.domain.actions import Actor, InvalidInput, parse_input, perform
from services.ledger.domain.lifecycle import Action, Problem
from services.ledger.handlers.common import context, load_visible, supervisor_code
from services.ledger.handlers.views import view


def act(uow: LedgerUnitOfWork, campaign, *, problem_id: str, action: str, actor: Actor, args: dict,
        today: date | None = None) -> dict:
    """Perform one lifecycle action; state, history and event commit together."""
    try:
        chosen = Action(action)
    except ValueError:
        raise InvalidInput("action", f"unknown action '{action}'") from None
    inp = parse_input(chosen, args)
    ctx = context(campaign, today)
    with uow:
        problem = load_visible(uow, campaign, problem_id, actor, lock=True)
        counted_as = uow.problems.count_key(problem, supervisor_code(campaign, problem.unit))
        authorize(campaign, actor, chosen, problem, inp)
        target = _merge_target(uow, campaign, problem, chosen, inp, actor)
        change = perform(problem, chosen, actor, inp, ctx)
        supervisor = supervisor_code(campaign, problem.unit)
        state = uow.problems.save(problem, supervisor, counted_as)
        if chosen is Action.RATE_SATISFACTION:  # 回访满意度, counted for the roll-up
            uow.problems.count_satisfaction(problem.unit, supervisor,
                                            change.data["satisfaction"])
        _move_provenance(uow, problem, chosen, target, change)
        seq = uow.history.append(problem_id=problem.id, action=chosen.value,
                                 actor=actor.username, at=ctx.now, state=state, data={
                                     "role": actor.role, "from": change.from_state.value,
                                     "to": change.to_state.value, **change.data})
        uow.emit(ProblemTransitioned(
            event_id=f"h{seq}-{problem.id[:16]}", name=change.event_name, problem_id=problem.id,
            action=chosen.value, from_state=change.from_state.value,
            to_state=change.to_state.value,
            outcome=problem.outcome.value if problem.outcome else None, unit=problem.unit,
            supervisor=supervisor, category=problem.category,
            actor=actor.username, actor_role=actor.role, history_seq=seq,
            data=_event_data(problem, change), channel=problem.channel,
            clue_id=problem.clue_id, requested_by=problem.requested_by))
        uow.commit()
        return view(problem, ctx.today, rules=ctx.rules)


def _event_data(problem: Problem, change) -> dict:
    """The history entry's data; a transfer to a partner platform adds what it shares
    (``contracts.events.SHARED_FIELDS``), in the event only (the chain keeps the case once)."""
    if change.action is not Action.TRANSFER_OUT or not change.data.get("partner"):
        return change.data
    shared = {"problem_id": problem.id, "clue_id": problem.clue_id, "title": problem.title,
              "description": problem.description, "category": problem.category,
              "kind": problem.kind, "unit": problem.unit, "reason": change.data.get("reason"),
              "to": change.data.get("to")}
    return {**change.data, "shared": {k: shared[k] for k in SHARED_FIELDS}}


def _merge_target(uow: LedgerUnitOfWork, campaign, problem, action, args, actor) -> Problem | None:
    if action is Action.MERGE:
        target = uow.problems.get_for_update(args.into)
        if target is None or not target.is_open or not may_see(campaign, actor, target):
            raise InvalidInput("into", "the id of another open problem you can see")
        return target
    if action is Action.UNMERGE:
        return uow.problems.get_for_update(problem.merged_into)
    return None


def _move_provenance(uow: LedgerUnitOfWork, problem, action, target, change) -> None:
    """A merge keeps every clue and its channel as provenance of the one problem."""
    if action is Action.MERGE:
        moved = uow.problems.move_clues(problem.id, target.id, "merged")
        change.data["clues"] = moved
    elif action is Action.UNMERGE and target is not None:
        # Take back exactly the clue this problem was registered for.
        uow.problems.unlink_clue(target.id, problem.clue_id)
        uow.problems.link_clue(problem.id, problem.clue_id, problem.channel, "registered")
