"""Work plans (清理工作方案备案): a unit files its plan, its supervising body acknowledges
it, and the county office sees who has not filed, or filed late."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from contracts.events import WorkPlanFiled
from services.ledger.adapters.orm import utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain.access import NotPermitted, visible_units
from services.ledger.domain.actions import Actor, InvalidInput
from services.ledger.handlers.common import ProblemNotFound, supervisor_code


def file_work_plan(uow: LedgerUnitOfWork, campaign, *, actor: Actor, title: str, summary: str,
                   document_sha256: str | None = None) -> dict:
    if actor.role != "unit_handler" or not actor.org_code:
        raise NotPermitted("only a unit's handler files its unit's work plan")
    title, summary = (title or "").strip(), (summary or "").strip()
    if not 2 <= len(title) <= 200:
        raise InvalidInput("title", "2 to 200 characters")
    if not 5 <= len(summary) <= 20000:
        raise InvalidInput("summary", "5 to 20,000 characters")
    plan_id = uuid.uuid4().hex
    supervisor = supervisor_code(campaign, actor.org_code)
    now = utcnow()
    with uow:
        uow.work_plans.add(id=plan_id, unit=actor.org_code, supervisor=supervisor,
                           title=title, summary=summary, document_sha256=document_sha256,
                           filed_by=actor.username, filed_at=now)
        uow.history.append(problem_id=None, action="file_work_plan", actor=actor.username,
                           at=now,
                           data={"plan_id": plan_id, "unit": actor.org_code, "title": title})
        uow.emit(WorkPlanFiled(event_id=f"plan-{plan_id}", plan_id=plan_id, unit=actor.org_code,
                               supervisor=supervisor))
        uow.commit()
    return {"id": plan_id, "unit": actor.org_code, "supervisor": supervisor,
            "filed_at": now.isoformat()}


def acknowledge_work_plan(uow: LedgerUnitOfWork, campaign, *, actor: Actor, plan_id: str) -> dict:
    with uow:
        plan = uow.work_plans.get_for_update(plan_id)
        if plan is None or not _may_acknowledge(actor, plan.supervisor):
            raise ProblemNotFound(plan_id)
        if plan.acknowledged_at is not None:
            raise InvalidInput("plan_id", "this work plan was acknowledged already")
        uow.work_plans.acknowledge(plan_id, actor.username)
        now = utcnow()
        uow.history.append(problem_id=None, action="acknowledge_work_plan",
                           actor=actor.username, at=now, data={"plan_id": plan_id})
        uow.commit()
    return {"id": plan_id, "acknowledged_by": actor.username}


def _may_acknowledge(actor: Actor, supervisor: str | None) -> bool:
    return actor.role == "county_office" or (
        actor.role == "supervisor" and actor.org_code == supervisor)


def list_work_plans(uow: LedgerUnitOfWork, campaign, *, actor: Actor) -> dict:
    with uow:
        plans = uow.work_plans.list(units=visible_units(campaign, actor))
    return {"items": [_work_plan(p) for p in plans]}


def _work_plan(plan) -> dict:
    return {"id": plan.id, "unit": plan.unit, "supervisor": plan.supervisor,
            "title": plan.title, "summary": plan.summary,
            "document_sha256": plan.document_sha256, "filed_by": plan.filed_by,
            "filed_at": plan.filed_at.isoformat(), "acknowledged_by": plan.acknowledged_by,
            "acknowledged_at": plan.acknowledged_at.isoformat()
            if plan.acknowledged_at else None}


def missing_work_plans(uow: LedgerUnitOfWork, campaign, *, actor: Actor,
                       phase: str | None = None) -> dict:
    """Units with no work plan filed (missing) or filed after the phase's end (late)."""
    chosen = next((p for p in campaign.phases if p.code == phase), None) if phase \
        else campaign.phases[0]
    if chosen is None:
        raise InvalidInput("phase", f"unknown phase '{phase}'")
    deadline = datetime.combine(chosen.end + timedelta(days=1), datetime.min.time(),
                                tzinfo=LOCAL_TZ)
    units = visible_units(campaign, actor)
    candidates = [o for o in campaign.organizations
                  if o.type in UNIT_TYPES and (units is None or o.code in units)]
    with uow:
        filed = uow.work_plans.first_filings()
    brief = lambda o: {"unit": o.code, "unit_zh": o.name_zh, "supervisor": o.reports_to}  # noqa: E731
    missing = [brief(o) for o in candidates if o.code not in filed]
    late = [{**brief(o), "filed_at": filed[o.code].isoformat()} for o in candidates
            if o.code in filed and filed[o.code] >= deadline]
    return {"phase": chosen.code, "deadline": chosen.end.isoformat(), "units": len(candidates),
            "on_time": len(candidates) - len(missing) - len(late), "missing": missing,
            "late": late}


UNIT_TYPES = {"township", "party_department", "government_department", "school", "enterprise"}
