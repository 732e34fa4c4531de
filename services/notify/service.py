"""notify: the nameko shell."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.events import ProblemRegistered, ProblemTransitioned, WorkPlanFiled
from kit.nameko_ext import Store, reliable_event_handler
from services.notify import handlers
from services.notify.adapters import orm


class NotifyService:
    name = "notify"

    uow = Store(orm.outbox_table, orm.inbox_table)

    @reliable_event_handler("ledger", "problem_registered")
    def on_problem_registered(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.problem_registered(
            uow, ProblemRegistered.model_validate(body)))

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_transitioned(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.problem_transitioned(
            uow, ProblemTransitioned.model_validate(body)))

    @reliable_event_handler("ledger", "work_plan_filed")
    def on_work_plan_filed(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.work_plan_filed(
            uow, WorkPlanFiled.model_validate(body)))

    @rpc
    def list_notifications(self, recipient: str, limit: int = 50) -> list[dict]:
        with self.uow() as uow:
            return orm.for_recipient(uow.session, recipient, min(limit, 200))

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "notifications": orm.count(uow.session)}


SERVICE = NotifyService
