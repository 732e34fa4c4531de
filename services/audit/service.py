"""audit: the nameko shell."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.events import ClueAccepted, ProblemRegistered, ProblemTransitioned
from kit.nameko_ext import Store, reliable_event_handler
from services.audit import domain, handlers
from services.audit.adapters import orm


class AuditService:
    name = "audit"

    uow = Store(orm.outbox_table, orm.inbox_table)

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, bodies):
        def apply(uow, body):
            msg = ClueAccepted.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, msg.event_type, msg.clue_id, msg.clue.subject_unit))
        return self.uow.each(bodies, apply)

    @reliable_event_handler("ledger", "problem_registered")
    def on_problem_registered(self, bodies):
        def apply(uow, body):
            msg = ProblemRegistered.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, msg.event_type, msg.problem_id, msg.unit))
        return self.uow.each(bodies, apply)

    @reliable_event_handler("ledger", "problem.#", contract=ProblemTransitioned)
    def on_problem_transitioned(self, bodies):
        def apply(uow, body):
            msg = ProblemTransitioned.model_validate(body)
            handlers.record(uow, domain.observe(
                msg.event_id, f"problem.{msg.name}", msg.problem_id, msg.unit))
        return self.uow.each(bodies, apply)

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "observed": orm.count_by_type(uow.session)}


SERVICE = AuditService
