from __future__ import annotations

from contracts.events import ProblemRegistered, ProblemTransitioned, WorkPlanFiled
from kit.uow import AlreadyProcessed, UnitOfWork
from services.notify import domain
from services.notify.adapters import orm


def problem_registered(uow: UnitOfWork, msg: ProblemRegistered) -> None:
    deliver(uow, msg.event_id,
            domain.on_problem_registered(msg.problem_id, msg.title))


def deliver(uow: UnitOfWork, message_id: str, notices) -> None:
    with uow:
        try:
            uow.consume_once(message_id)
        except AlreadyProcessed:
            return
        for notice in notices:
            orm.add(uow.session, notice)
        uow.commit()


def problem_transitioned(uow: UnitOfWork, msg: ProblemTransitioned) -> None:
    deliver(uow, msg.event_id, domain.on_problem_transitioned(
        msg.name, msg.problem_id, msg.unit, msg.supervisor))


def work_plan_filed(uow: UnitOfWork, msg: WorkPlanFiled) -> None:
    deliver(uow, msg.event_id,
            domain.on_work_plan_filed(msg.plan_id, msg.unit, msg.supervisor))
