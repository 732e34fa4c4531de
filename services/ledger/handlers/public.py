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


PUBLISHING = ("publish", "unpublish")


def published_cases(uow: LedgerUnitOfWork, campaign, *, limit: int = 100) -> list[dict]:
    """公开曝光: the typical cases the county office published, the latest first, in its own
    words (what was found, what was done) with the files to show, the unit and category;
    nothing else of the problem (no names, notes or reporter)."""
    found: list[dict] = []
    with uow:
        for problem_id in uow.history.problems_with(PUBLISHING):
            problem = uow.problems.get(problem_id)
            shown = problem.details.get("published") if problem is not None else None
            if not shown:
                continue
            unit = campaign.organization(problem.unit) if problem.unit else None
            found.append({
                "problem_id": problem.id, "title": problem.title, "unit": problem.unit,
                "unit_name": getattr(unit, "name_zh", None), "category": problem.category,
                "kind": problem.kind, "state": problem.state.value,
                "registered_on": problem.registered_at.date().isoformat(),
                "published_on": shown["on"], "found": shown["found"], "done": shown["done"],
                "media": [m for m in shown.get("media", []) if m.get("sha256")]})
            if len(found) >= limit:
                break
    return found
