"""The reporter's follow-up (举报人进度查询): what the ledger lets the reporter see of the one
problem their receipt code leads to (the gateway found it through intake). Stages and
dates in public words (``domain.public``), whether they may add information or rate the
outcome, and their own answer; never a name, a note or anything else internal."""
from __future__ import annotations

from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import public
from services.ledger.handlers.common import ProblemNotFound


def public_progress(uow: LedgerUnitOfWork, *, problem_id: str, reporter: str) -> dict:
    """``reporter``: the receipt's pseudonymous actor name (``reporter:<digest prefix>``)."""
    with uow:
        problem = uow.problems.get(problem_id)
        if problem is None:
            raise ProblemNotFound(problem_id)
        timeline = uow.history.timeline(problem_id)
    details = problem.details
    return {
        "stages": public.public_stages(timeline, reporter),
        "may_supplement": public.may_supplement(problem.state),
        "may_rate": public.may_rate(problem.state, problem.outcome, details, reporter),
        "rating": public.public_rating(public.rating_of(details, reporter)),
    }
