"""What every ledger use case shares: the campaign's clocks, today, the supervisor of a
unit, the domain context of an action, and loading a problem the actor may see."""
from __future__ import annotations

from datetime import date

from kit.periods import county_today
from services.ledger.adapters.orm import utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import severity
from services.ledger.domain.access import may_see
from services.ledger.domain.actions import Actor, Context
from services.ledger.domain.lifecycle import Problem
from services.ledger.domain.timers import Rules

RULES = Rules()
_RULES_OF: dict[int, tuple[object, Rules]] = {}


class ProblemNotFound(Exception):
    pass


local_today = county_today  # the ledger's name for it


def supervisor_code(campaign, unit: str | None) -> str | None:
    body = campaign.supervisor_of(unit) if unit else None
    return body.code if body else None


def rules_of(campaign) -> Rules:
    """The campaign's clocks and calendar, built once per campaign object."""
    known = _RULES_OF.get(id(campaign))
    if known is None or known[0] is not campaign:
        known = _RULES_OF[id(campaign)] = (campaign, Rules.of(campaign))
    return known[1]


def context(campaign, today: date | None = None) -> Context:
    return Context(today=today or local_today(), now=utcnow(),
                   unit_exists=lambda code: campaign.organization(code) is not None,
                   phase_on=campaign.phase_on,
                   advise=lambda problem: severity.advise_level(problem, campaign),
                   rules=rules_of(campaign))


def load_visible(uow: LedgerUnitOfWork, campaign, problem_id: str, actor: Actor, *,
                 lock=False) -> Problem:
    """The problem, if it exists and the actor may see it (else: not found, never 403)."""
    problem = (uow.problems.get_for_update(problem_id) if lock
               else uow.problems.get(problem_id))
    if problem is None or not may_see(campaign, actor, problem):
        raise ProblemNotFound(problem_id)
    return problem
