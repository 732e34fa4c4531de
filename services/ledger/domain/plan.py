"""The rectification plan (整改计划): all six fields the plan requires, and a handling class.

逐项逐条标明整改措施、整改目标、整改时限,牵头领导、责任单位和具体责任人.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class HandlingClass(StrEnum):
    IMMEDIATE = "immediate"        # 立行立改
    TIME_LIMITED = "time_limited"  # 限时整改
    LONG_TERM = "long_term"        # 持续整改, with milestones


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

REQUIRED_TEXT = ("measures", "target", "lead_official", "responsible_unit", "responsible_person")


def make_plan(data: dict, *, today: date, known_unit) -> RectificationPlan:
    """Build a plan from plain data, or raise PlanInvalid naming every missing or bad field."""
    if not isinstance(data, dict):
        raise PlanInvalid([("plan", "required, an object with the plan's fields")])
    problems: list[tuple[str, str]] = []
    for name in REQUIRED_TEXT:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append((name, "required"))
    deadline = _date(data.get("deadline"), "deadline", problems)
    if deadline is not None and deadline < today:
        problems.append(("deadline", "lies in the past"))
    if deadline is not None and deadline > today + HORIZON:
        problems.append(("deadline", "lies more than five years ahead"))
    try:
        handling = HandlingClass(data.get("handling"))
    except ValueError:
        handling = None
        problems.append(("handling", "one of immediate, time_limited, long_term"))
    unit = data.get("responsible_unit")
    if isinstance(unit, str) and unit.strip() and not known_unit(unit):
        problems.append(("responsible_unit", f"unknown organization '{unit}'"))
    milestones = _milestones(data.get("milestones") or [], deadline, problems)
    if handling is HandlingClass.LONG_TERM and not milestones:
        problems.append(("milestones", "a long-term plan (持续整改) needs milestones"))
    if problems:
        raise PlanInvalid(problems)
    return RectificationPlan(
        measures=data["measures"].strip(), target=data["target"].strip(), deadline=deadline,
        lead_official=data["lead_official"].strip(), responsible_unit=unit.strip(),
        responsible_person=data["responsible_person"].strip(), handling=handling,
        milestones=tuple(milestones))


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


def _date(value, name: str, problems: list) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append((name, "required, as a date YYYY-MM-DD"))
    return None


def _milestones(raw: list, deadline: date | None, problems: list) -> list[Milestone]:
    found = []
    if not isinstance(raw, list):
        problems.append(("milestones", "a list of milestones"))
        return found
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not str(item.get("title", "")).strip():
            problems.append((f"milestones[{i}].title", "required"))
            continue
        due = _date(item.get("due_on"), f"milestones[{i}].due_on", problems)
        if due is not None and deadline is not None and due > deadline:
            problems.append((f"milestones[{i}].due_on", "after the plan's deadline"))
        if due is not None:
            found.append(Milestone(str(item["title"]).strip(), due))
    return found
