"""The rectification plan (整改计划): all six fields the plan requires, and a handling class.

逐项逐条标明整改措施、整改目标、整改时限,牵头领导、责任单位和具体责任人.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from pydantic import ValidationError

from contracts.actions import Plan, field_path, reason_of
from contracts.vocabulary import HandlingClass

__all__ = ["HORIZON", "HandlingClass", "Milestone", "PlanInvalid", "RectificationPlan",
           "make_plan", "plan_from_dict"]

class PlanInvalid(ValueError):
    """A plan is missing a field or contradicts itself; ``problems`` lists (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class Milestone:
    title: str
    due_on: date
    done_on: date | None = None


@dataclass(frozen=True)
class RectificationPlan:
    measures: str              # 整改措施
    target: str                # 整改目标
    deadline: date             # 整改时限
    lead_official: str         # 牵头领导
    responsible_unit: str      # 责任单位 (organization code)
    responsible_person: str    # 具体责任人
    handling: HandlingClass    # 立行立改 / 限时整改 / 持续整改
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["deadline"] = self.deadline.isoformat()
        data["handling"] = self.handling.value
        data["milestones"] = [{"title": m.title, "due_on": m.due_on.isoformat(),
                               "done_on": m.done_on.isoformat() if m.done_on else None}
                              for m in self.milestones]
        return data

    def next_due(self) -> date:
        """The next undone milestone's date, else the plan's deadline."""
        pending = [m.due_on for m in self.milestones if m.done_on is None]
        return min(pending) if pending else self.deadline


HORIZON = timedelta(days=5 * 366)  # no deadline lies further ahead than this


def make_plan(data, *, today: date, known_unit) -> RectificationPlan:
    """Build a plan from plain data (or a ``contracts.actions.Plan``), or raise PlanInvalid
    naming every missing or bad field: first its shape (the contract), then the rules that
    need today and the campaign."""
    try:
        shape = data if isinstance(data, Plan) else Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanInvalid([(field_path(e["loc"]) or "plan", reason_of(e)[0])
                           for e in exc.errors()]) from None
    problems: list[tuple[str, str]] = []
    if shape.deadline < today:
        problems.append(("deadline", "lies in the past"))
    if shape.deadline > today + HORIZON:
        problems.append(("deadline", "lies more than five years ahead"))
    if not known_unit(shape.responsible_unit):
        problems.append(("responsible_unit",
                         f"unknown organization '{shape.responsible_unit}'"))
    for i, stone in enumerate(shape.milestones):
        if stone.due_on > shape.deadline:
            problems.append((f"milestones[{i}].due_on", "after the plan's deadline"))
    if shape.handling is HandlingClass.LONG_TERM and not shape.milestones:
        problems.append(("milestones", "a long-term plan (持续整改) needs milestones"))
    if problems:
        raise PlanInvalid(problems)
    return RectificationPlan(
        measures=shape.measures, target=shape.target, deadline=shape.deadline,
        lead_official=shape.lead_official, responsible_unit=shape.responsible_unit,
        responsible_person=shape.responsible_person, handling=shape.handling,
        milestones=tuple(Milestone(m.title, m.due_on) for m in shape.milestones))


def plan_from_dict(data: dict) -> RectificationPlan:
    """Rebuild a stored plan (already validated)."""
    return RectificationPlan(
        measures=data["measures"], target=data["target"],
        deadline=date.fromisoformat(data["deadline"]), lead_official=data["lead_official"],
        responsible_unit=data["responsible_unit"], responsible_person=data["responsible_person"],
        handling=HandlingClass(data["handling"]),
        milestones=tuple(Milestone(m["title"], date.fromisoformat(m["due_on"]),
                                   date.fromisoformat(m["done_on"]) if m.get("done_on") else None)
                         for m in data.get("milestones", [])))
