"""ledger: the nameko shell. Translates messages to handler calls and domain errors to
remote errors the gateway maps to HTTP statuses."""
from __future__ import annotations

import eventlet
from nameko.rpc import rpc

from contracts.events import ClueAccepted, ContactOpened
from kit.errors import EXPECTED
from kit.nameko_ext import reliable_event_handler
from services.ledger import bootstrap, custody, handlers
from services.ledger.domain.actions import Actor
from services.ledger.refusals import refusals


def actor_from(data: dict) -> Actor:
    return Actor(username=str(data["username"]), role=str(data["role"]),
                 org_code=data.get("org_code"))


class LedgerService:
    name = "ledger"

    uow = bootstrap.store()
    campaign = bootstrap.campaign()
    signer = bootstrap.signer()

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.register_problem(
            uow, ClueAccepted.model_validate(body), self.campaign))

    @reliable_event_handler("intake", "contact_opened")
    def on_contact_opened(self, bodies):
        return self.uow.each(bodies, lambda uow, body: custody.record_contact_opened(
            uow, ContactOpened.model_validate(body)))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def act(self, problem_id: str, action: str, actor: dict, args: dict | None = None) -> dict:
        return handlers.act(self.uow(), self.campaign, problem_id=problem_id, action=action,
                            actor=actor_from(actor), args=args or {})

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def public_progress(self, problem_id: str, reporter: str) -> dict:
        """For the gateway's follow-up page only: it found the problem by receipt code."""
        return handlers.public_progress(self.uow(), problem_id=problem_id, reporter=reporter)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def get_problem(self, problem_id: str, actor: dict) -> dict:
        return handlers.get_problem(self.uow(), self.campaign, problem_id=problem_id,
                                    actor=actor_from(actor))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_problems(self, actor: dict, filters: dict | None = None, limit: int = 50,
                      offset: int = 0) -> dict:
        return handlers.list_problems(self.uow(), self.campaign, actor=actor_from(actor),
                                      filters=filters or {}, limit=limit, offset=offset)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def rollup(self, actor: dict) -> dict:
        return handlers.rollup(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc
    def verify_chain(self, published: dict | None = None) -> dict:
        return handlers.verify_chain(self.uow(), between_batches=lambda: eventlet.sleep(0),
                                     published=published)

    @rpc
    def chain_head(self) -> dict:
        return handlers.chain_head(self.uow(), signer=self.signer)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def file_work_plan(self, actor: dict, title: str, summary: str,
                       document_sha256: str | None = None) -> dict:
        return handlers.file_work_plan(self.uow(), self.campaign, actor=actor_from(actor),
                                       title=title, summary=summary,
                                       document_sha256=document_sha256)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def acknowledge_work_plan(self, actor: dict, plan_id: str) -> dict:
        return handlers.acknowledge_work_plan(self.uow(), self.campaign,
                                              actor=actor_from(actor), plan_id=plan_id)

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def list_work_plans(self, actor: dict) -> dict:
        return handlers.list_work_plans(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc(expected_exceptions=EXPECTED)
    @refusals
    def missing_work_plans(self, actor: dict, phase: str | None = None) -> dict:
        return handlers.missing_work_plans(self.uow(), self.campaign, actor=actor_from(actor),
                                           phase=phase)

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "problems": uow.problems.count()}


SERVICE = LedgerService
