"""Work plans (清理工作方案备案) in the ledger's store (SQLAlchemy Core)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from services.ledger.adapters.orm import utcnow, work_plans
from services.ledger.adapters.problems import _utc

def add_work_plan(session: Session, **values) -> None:
    session.execute(insert(work_plans).values(**values))


def get_work_plan(session: Session, plan_id: str, *, lock: bool = False):
    query = select(work_plans).where(work_plans.c.id == plan_id)
    return session.execute(query.with_for_update() if lock else query).first()


def acknowledge_work_plan(session: Session, plan_id: str, by: str) -> None:
    session.execute(update(work_plans).where(work_plans.c.id == plan_id).values(
        acknowledged_by=by, acknowledged_at=utcnow()))


def list_work_plans(session: Session, *, units: list[str] | None) -> list:
    query = select(work_plans).order_by(work_plans.c.filed_at.desc())
    if units is not None:
        query = query.where(work_plans.c.unit.in_(units))
    return session.execute(query).all()


def first_filings(session: Session) -> dict[str, datetime]:
    """Each unit's earliest work plan filing."""
    rows = session.execute(select(work_plans.c.unit, func.min(work_plans.c.filed_at))
                           .group_by(work_plans.c.unit))
    return {unit: _utc(first) for unit, first in rows}

