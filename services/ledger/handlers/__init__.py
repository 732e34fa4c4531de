"""The ledger's use cases, one module per seam: registration, lifecycle actions, views and
roll-ups, the history chain, and work plans. Each takes a unit of work offering the
ledger's repositories (``services.ledger.adapters.uow.LedgerUnitOfWork``, or the fake in
``tests/fakes/ledger.py``) and, where it needs it, the campaign configuration."""
from services.ledger.handlers.common import (
    RULES, ProblemNotFound, context, local_today, rules_of, supervisor_code,
)
from services.ledger.handlers.history import chain_head, verify_chain
from services.ledger.handlers.lifecycle import act
from services.ledger.handlers.public import public_progress, published_cases
from services.ledger.handlers.registration import register_problem
from services.ledger.handlers.views import get_problem, list_problems, rollup, view
from services.ledger.handlers.work_plans import (
    acknowledge_work_plan, file_work_plan, list_work_plans, missing_work_plans,
)

__all__ = [
    "RULES", "ProblemNotFound", "context", "local_today", "rules_of", "supervisor_code",
    "chain_head", "verify_chain", "act", "public_progress", "published_cases", "register_problem", "get_problem", "list_problems",
    "rollup", "view", "acknowledge_work_plan", "file_work_plan", "list_work_plans",
    "missing_work_plans",
]
