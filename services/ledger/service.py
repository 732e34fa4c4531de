"""ledger: the nameko shell. Translates messages to handler calls and domain errors to
remote errors the gateway maps to HTTP statuses."""
from __future__ import annotations

import functools
from pathlib import Path

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from contracts.campaign import load_campaign
from contracts.events import ClueAccepted
from kit.errors import Conflict, Forbidden, Invalid, NotFound
from kit.nameko_ext import Store, reliable_event_handler
from services.ledger import handlers
from services.ledger.adapters import orm, repository
from services.ledger.adapters.signing import Signer, signing_key_from
from services.ledger.domain.access import NotPermitted
from services.ledger.domain.actions import Actor, InvalidInput
from services.ledger.domain.lifecycle import IllegalTransition
from services.ledger.domain.plan import PlanInvalid


class Campaign(DependencyProvider):
    """The campaign configuration, loaded and validated once at start."""

    def setup(self):
        self.campaign = load_campaign(Path(self.container.config["CAMPAIGN_FILE"]))

    def get_dependency(self, worker_ctx):
        return self.campaign


class SigningKey(DependencyProvider):
    """Signs the chain's head (``LEDGER_SIGNING_KEY``; refused unset outside development)."""

    def setup(self):
        import os

        self.signer = Signer(signing_key_from(
            os.environ.get("LEDGER_SIGNING_KEY"),
            self.container.config.get("ENVIRONMENT", "development")))

    def get_dependency(self, worker_ctx):
        return self.signer


def domain_errors(fn):
    """Domain refusals become remote errors with a clear English and Chinese message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IllegalTransition as exc:
            raise Conflict(str(exc), f"当前状态“{exc.state.value}”下不能执行“{exc.action.value}”:"
                           f"{exc}") from None
        except PlanInvalid as exc:
            raise Invalid(f"rectification plan: {exc}", f"整改计划不完整或有误:{exc}") from None
        except InvalidInput as exc:
            raise Invalid(str(exc), f"输入有误:{exc}") from None
        except NotPermitted as exc:
            raise Forbidden(str(exc), f"无权执行此操作:{exc}") from None
        except handlers.ProblemNotFound as exc:
            raise NotFound(f"not found: {exc}", f"未找到:{exc}") from None

    return wrapper


def actor_from(data: dict) -> Actor:
    return Actor(username=str(data["username"]), role=str(data["role"]),
                 org_code=data.get("org_code"))


class LedgerService:
    name = "ledger"

    uow = Store(orm.outbox_table, orm.inbox_table)
    campaign = Campaign()
    signer = SigningKey()

    @reliable_event_handler("intake", "clue_accepted")
    def on_clue_accepted(self, bodies):
        return self.uow.each(bodies, lambda uow, body: handlers.register_problem(
            uow, ClueAccepted.model_validate(body), self.campaign))

    @rpc
    @domain_errors
    def act(self, problem_id: str, action: str, actor: dict, args: dict | None = None) -> dict:
        return handlers.act(self.uow(), self.campaign, problem_id=problem_id, action=action,
                            actor=actor_from(actor), args=args or {})

    @rpc
    @domain_errors
    def get_problem(self, problem_id: str, actor: dict) -> dict:
        return handlers.get_problem(self.uow(), self.campaign, problem_id=problem_id,
                                    actor=actor_from(actor))

    @rpc
    @domain_errors
    def list_problems(self, actor: dict, filters: dict | None = None, limit: int = 50,
                      offset: int = 0) -> dict:
        return handlers.list_problems(self.uow(), self.campaign, actor=actor_from(actor),
                                      filters=filters or {}, limit=limit, offset=offset)

    @rpc
    @domain_errors
    def rollup(self, actor: dict) -> dict:
        return handlers.rollup(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc
    def verify_chain(self, published: dict | None = None) -> dict:
        return handlers.verify_chain(self.uow(), between_batches=lambda: eventlet.sleep(0),
                                     published=published)

    @rpc
    def chain_head(self) -> dict:
        return handlers.chain_head(self.uow(), signer=self.signer)

    @rpc
    @domain_errors
    def file_work_plan(self, actor: dict, title: str, summary: str,
                       document_sha256: str | None = None) -> dict:
        return handlers.file_work_plan(self.uow(), self.campaign, actor=actor_from(actor),
                                       title=title, summary=summary,
                                       document_sha256=document_sha256)

    @rpc
    @domain_errors
    def acknowledge_work_plan(self, actor: dict, plan_id: str) -> dict:
        return handlers.acknowledge_work_plan(self.uow(), self.campaign,
                                              actor=actor_from(actor), plan_id=plan_id)

    @rpc
    @domain_errors
    def list_work_plans(self, actor: dict) -> dict:
        return handlers.list_work_plans(self.uow(), self.campaign, actor=actor_from(actor))

    @rpc
    @domain_errors
    def missing_work_plans(self, actor: dict, phase: str | None = None) -> dict:
        return handlers.missing_work_plans(self.uow(), self.campaign, actor=actor_from(actor),
                                           phase=phase)

    @rpc
    def health(self) -> dict:
        with self.uow() as uow:
            return {"service": self.name, "problems": repository.count_problems(uow.session)}


SERVICE = LedgerService
