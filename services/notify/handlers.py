from __future__ import annotations

from contracts.events import ProblemRegistered
from kit.uow import AlreadyProcessed, UnitOfWork
from services.notify import domain
from services.notify.adapters import orm


def problem_registered(uow: UnitOfWork, msg: ProblemRegistered) -> None:
    with uow:
        try:
            uow.consume_once("notify.on_problem_registered", msg.event_id)
        except AlreadyProcessed:
            return
        for notice in domain.on_problem_registered(msg.problem_id, msg.title):
            orm.add(uow.session, notice)
        uow.commit()
