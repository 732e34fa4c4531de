"""The ladder's tables and repository (问责阶梯的存储), on audit's own store.

Proposals are unique per facts key: facts proposed once (waiting, confirmed or dismissed) are
never proposed again. Steps are unique per (case, step), like their chain key. Beside them,
what the triggers need to remember: each problem's channel (自查自纠), overdue problems being
watched, weekly reports missing per unit and month.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON, Boolean, Column, Date, DateTime, Integer, String, Table, Text, UniqueConstraint,
    delete, func, select, update,
)

from contracts.vocabulary import LadderStep, LadderTrigger, ProposalStatus
from kit import deferred
from kit.schedule import Claims, add_schedule_claims
from kit.store import insert_new_in
from services.audit.adapters.orm import metadata
from services.audit.ladder import Facts, Person, Proposal, StepRecord

proposals = Table(
    "ladder_proposals", metadata,
    Column("id", String(32), primary_key=True),
    Column("facts_key", String(400), nullable=False, unique=True),
    Column("unit", String(64), nullable=False, index=True),
    Column("trigger", String(32), nullable=False),
    Column("step", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("problem_ids", JSON, nullable=False),
    Column("period", String(32)),
    Column("round_id", String(64)),
    Column("ref", String(64)),
    Column("documents", JSON, nullable=False),
    Column("self_found", Boolean, nullable=False),
    Column("source", String(200), nullable=False),
    Column("notes", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    Column("dismiss_reason", Text),
    Column("step_id", String(32)),
)

steps = Table(
    "ladder_steps", metadata,
    Column("id", String(32), primary_key=True),
    Column("case_id", String(32), nullable=False),
    Column("unit", String(64), nullable=False, index=True),
    Column("step", String(32), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("problem_ids", JSON, nullable=False),
    Column("documents", JSON, nullable=False),
    Column("proposal_id", String(32)),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("skip_reason", String(64)),
    Column("note", Text, nullable=False),
    Column("persons", JSON, nullable=False),
    Column("head", JSON),
    Column("deadline_passed", Boolean, nullable=False),
    Column("chain_seq", Integer),
    Column("chain_hash", String(64)),
    UniqueConstraint("case_id", "step", name="uq_ladder_steps_case_step"),
)

problem_channels = Table(
    "ladder_problem_channels", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("self_found", Boolean, nullable=False),
)

overdue_watch = Table(
    "ladder_overdue_watch", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("title", String(400), nullable=False),
)

missing_reports = Table(
    "ladder_missing_reports", metadata,
    Column("unit", String(64), primary_key=True),
    Column("period", String(32), primary_key=True),
    Column("month", String(7), nullable=False),
)

schedule_claims = (metadata.tables["schedule_claims"] if "schedule_claims" in metadata.tables
                   else add_schedule_claims(metadata))
CLAIMS = Claims(schedule_claims)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every time here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


# ── proposals ─────────────────────────────────────────────────────────────────────────────

def _proposal(row) -> Proposal:
    m = row._mapping
    facts = Facts(unit=m["unit"], trigger=LadderTrigger(m["trigger"]), reason=m["reason"],
                  problem_ids=tuple(m["problem_ids"]), period=m["period"],
                  round_id=m["round_id"], ref=m["ref"], documents=tuple(m["documents"]),
                  self_found=m["self_found"], source=m["source"])
    return Proposal(id=m["id"], facts=facts, step=LadderStep(m["step"]),
                    notes=tuple((n[0], n[1]) for n in m["notes"]),
                    created_at=_utc(m["created_at"]), status=ProposalStatus(m["status"]),
                    decided_by=m["decided_by"], decided_at=_utc(m["decided_at"]),
                    dismiss_reason=m["dismiss_reason"], step_id=m["step_id"])


def known_facts(session, key: str) -> bool:
    return session.execute(select(proposals.c.id).where(proposals.c.facts_key == key)
                           ).first() is not None


def add_proposal(session, p: Proposal) -> None:
    f = p.facts
    session.execute(proposals.insert().values(
        id=p.id, facts_key=f.key(), unit=f.unit, trigger=LadderTrigger(f.trigger).value,
        step=p.step.value, status=p.status.value, reason=f.reason,
        problem_ids=list(f.problem_ids), period=f.period, round_id=f.round_id, ref=f.ref,
        documents=list(f.documents), self_found=f.self_found, source=f.source[:200],
        notes=[list(n) for n in p.notes], created_at=p.created_at))


def save_decision(session, p: Proposal) -> None:
    """A decided (or re-stepped) proposal; only a waiting one changes, so a concurrent second
    decision finds nothing to change (``rowcount`` 0)."""
    result = session.execute(update(proposals).where(
        proposals.c.id == p.id, proposals.c.status == ProposalStatus.PROPOSED.value).values(
        status=p.status.value, step=p.step.value, notes=[list(n) for n in p.notes],
        decided_by=p.decided_by, decided_at=p.decided_at, dismiss_reason=p.dismiss_reason,
        step_id=p.step_id))
    if result.rowcount != 1:
        raise LookupError(p.id)


def get_proposal(session, proposal_id: str, *, for_update: bool = False) -> Proposal | None:
    query = select(proposals).where(proposals.c.id == proposal_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.execute(query).first()
    return _proposal(row) if row else None


def list_proposals(session, *, status: str | None = None, units: list[str] | None = None,
                   limit: int = 200) -> list[Proposal]:
    query = select(proposals).order_by(proposals.c.created_at.desc(), proposals.c.id)
    if status:
        query = query.where(proposals.c.status == status)
    if units is not None:
        query = query.where(proposals.c.unit.in_(units))
    return [_proposal(r) for r in session.execute(query.limit(limit))]


def pending_of(session, unit: str) -> list[Proposal]:
    return list_proposals(session, status=ProposalStatus.PROPOSED.value, units=[unit])


def count_pending(session) -> dict[str, int]:
    rows = session.execute(select(proposals.c.unit, func.count()).where(
        proposals.c.status == ProposalStatus.PROPOSED.value).group_by(proposals.c.unit))
    return {unit: n for unit, n in rows}


# ── steps ─────────────────────────────────────────────────────────────────────────────────

def _step(row) -> StepRecord:
    m = row._mapping
    return StepRecord(
        id=m["id"], case_id=m["case_id"], unit=m["unit"], step=LadderStep(m["step"]),
        trigger=LadderTrigger(m["trigger"]), reason=m["reason"], decided_by=m["decided_by"],
        decided_at=_utc(m["decided_at"]), due_on=m["due_on"],
        problem_ids=tuple(m["problem_ids"]), documents=tuple(m["documents"]),
        proposal_id=m["proposal_id"], skip_reason=m["skip_reason"], note=m["note"],
        persons=tuple(Person(p["post"], p["name"]) for p in m["persons"]), head=m["head"],
        deadline_passed=m["deadline_passed"], chain_seq=m["chain_seq"],
        chain_hash=m["chain_hash"])


def add_step(session, s: StepRecord) -> None:
    session.execute(steps.insert().values(
        id=s.id, case_id=s.case_id, unit=s.unit, step=s.step.value, trigger=s.trigger.value,
        reason=s.reason, problem_ids=list(s.problem_ids), documents=list(s.documents),
        proposal_id=s.proposal_id, decided_by=s.decided_by, decided_at=s.decided_at,
        due_on=s.due_on, skip_reason=s.skip_reason, note=s.note,
        persons=[{"post": p.post, "name": p.name} for p in s.persons], head=s.head,
        deadline_passed=s.deadline_passed, chain_seq=None, chain_hash=None))


def steps_of(session, unit: str) -> list[StepRecord]:
    rows = session.execute(select(steps).where(steps.c.unit == unit)
                           .order_by(steps.c.decided_at, steps.c.id))
    return [_step(r) for r in rows]


def get_step(session, step_id: str) -> StepRecord | None:
    row = session.execute(select(steps).where(steps.c.id == step_id)).first()
    return _step(row) if row else None


def all_steps(session, units: list[str] | None = None) -> list[StepRecord]:
    query = select(steps).order_by(steps.c.decided_at, steps.c.id)
    if units is not None:
        query = query.where(steps.c.unit.in_(units))
    return [_step(r) for r in session.execute(query)]


def open_deadlines(session, before: date) -> list[StepRecord]:
    rows = session.execute(select(steps).where(steps.c.deadline_passed.is_(False),
                                               steps.c.due_on < before))
    return [_step(r) for r in rows]


def mark_deadline_passed(session, step_id: str) -> None:
    session.execute(update(steps).where(steps.c.id == step_id).values(deadline_passed=True))


def unchained(session, limit: int = 50) -> list[StepRecord]:
    rows = session.execute(select(steps).where(steps.c.chain_seq.is_(None))
                           .order_by(steps.c.decided_at).limit(limit))
    return [_step(r) for r in rows]


def mark_chained(session, step_id: str, seq: int, digest: str) -> None:
    session.execute(update(steps).where(steps.c.id == step_id).values(chain_seq=seq,
                                                                       chain_hash=digest))


# ── what the triggers remember ────────────────────────────────────────────────────────────

def remember_channel(session, problem_id: str, channel: str, self_found: bool) -> None:
    """The channel a problem first came by (a second clue of it changes nothing). Written
    with the batch's other rows (``kit.deferred``: one multi-row INSERT ... ON CONFLICT DO
    NOTHING at the flush; ``found_by_unit`` reads them back after it): a SELECT and an INSERT
    per clue had been over half of audit's time on PostgreSQL."""
    deferred.defer(session, insert_new_in(session, problem_channels),
                   {"problem_id": problem_id, "channel": channel, "self_found": self_found})


def found_by_unit(session, problem_ids) -> dict[str, bool]:
    if not problem_ids:
        return {}
    rows = session.execute(select(problem_channels.c.problem_id, problem_channels.c.self_found)
                           .where(problem_channels.c.problem_id.in_(list(problem_ids))))
    return {pid: bool(flag) for pid, flag in rows}


def watch_overdue(session, problem_id: str, unit: str, due_on: date, title: str) -> None:
    session.execute(delete(overdue_watch).where(overdue_watch.c.problem_id == problem_id))
    session.execute(overdue_watch.insert().values(problem_id=problem_id, unit=unit,
                                                  due_on=due_on, title=title[:400]))


def unwatch(session, problem_id: str) -> None:
    session.execute(delete(overdue_watch).where(overdue_watch.c.problem_id == problem_id))


def watched(session) -> list[tuple[str, str, date, str]]:
    return [tuple(r) for r in session.execute(select(
        overdue_watch.c.problem_id, overdue_watch.c.unit, overdue_watch.c.due_on,
        overdue_watch.c.title))]


def record_missing(session, unit: str, period: str, month: str) -> int:
    """Record a missing weekly report; returns how many the unit has missed in ``month``."""
    if session.execute(select(missing_reports.c.unit).where(
            missing_reports.c.unit == unit, missing_reports.c.period == period)).first() is None:
        session.execute(missing_reports.insert().values(unit=unit, period=period, month=month))
    return session.execute(select(func.count()).select_from(missing_reports).where(
        missing_reports.c.unit == unit, missing_reports.c.month == month)).scalar_one()
