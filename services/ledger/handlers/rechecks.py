"""A re-check found a closure wrong (复查结论不实): the ledger reopens the problem with the
source the audit names (``spot_check`` 抽查 or ``look_back`` 回头看), as the re-checker, the
findings as its reason. Once per message (the inbox); a problem no longer closed (someone
reopened it already) or gone is skipped and logged, never retried forever."""
from __future__ import annotations

import logging

from contracts.events import RecheckRecorded
from kit.uow import AlreadyProcessed
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain.access import NotPermitted
from services.ledger.domain.actions import Actor, InvalidInput
from services.ledger.domain.lifecycle import IllegalTransition
from services.ledger.handlers.common import ProblemNotFound
from services.ledger.handlers.lifecycle import act

log = logging.getLogger(__name__)
REOPENING = ("wrong", "not_produced")


def reopen_after_recheck(uow: LedgerUnitOfWork, campaign, msg: RecheckRecorded) -> str | None:
    """Reopen the problem of a wrong closure; returns its new state, or None (nothing to do,
    done before, or skipped)."""
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return None
        if msg.verdict not in REOPENING or not msg.problem_id or not msg.reopen_source:
            uow.commit()
            return None
        actor = Actor(username=msg.recheck_by, role=msg.recheck_role or "spot_check")
        try:
            view = act(uow, campaign, problem_id=msg.problem_id, action="reopen", actor=actor,
                       args={"source": msg.reopen_source, "reason": msg.findings})
        except (IllegalTransition, ProblemNotFound, NotPermitted, InvalidInput) as exc:
            log.warning("re-check %s: problem %s not reopened (%s); skipped",
                        msg.event_id, msg.problem_id, exc)
            uow.commit()
            return None
        uow.commit()
        return view["state"]
