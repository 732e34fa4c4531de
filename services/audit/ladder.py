"""The accountability ladder (严格责任追究, 四(五)): pure rules, no I/O.

    通报, 限期整改 (notice) → 约谈主要负责人 (interview) → 责任追究和问责 (accountability)

* **Cases.** A unit climbs one case at a time: a case holds at most one confirmed step of each
  kind (its chain key is ``case:<id>:<step>``). A case is complete once accountability is
  confirmed; a later trigger opens a new case, again from a notice.
* **Proposals, never automatic.** Rules of the campaign file (``campaign.accountability``)
  propose a step on facts (``Facts``): a wrong closure found by a re-check, a failed full
  review, a problem overdue past ``overdue_workdays``, ``missing_reports`` weekly reports
  missing in a month (or the ledger's escalation), a contradicted zero report, 走过场 or 弄虚作假
  found by covert inspection, an interview whose deadline passed (约谈后效果依然不明显). A
  person of the county office confirms (the step is recorded with its deadline and a chain
  entry) or dismisses with a reason; facts once proposed are never proposed again
  (``Facts.key``: unit, trigger and the problems, report period, round or finding).
* **The step proposed** is the unit's next step on its open case (none yet → notice; after a
  notice → interview; after an interview → accountability). 宽严相济: where the unit found the
  problem itself (自查自纠: every problem the facts name came through a self-inspection channel
  group, reported by the unit itself) one step lighter, never below a notice. 越往后执纪越严: never
  below the phase's floor (``phase_floor``).
* **No skipping.** A step above the next one (e.g. an interview proposed by a phase floor
  where no notice was given) is confirmed only with a reason the campaign file allows
  (``skip_reasons``), recorded with the step.
* **Names.** An accountability record may name the persons concerned (post and name) and an
  interview names the unit's principal head: only the county office and the custodian
  (纪检) read names; every other reader gets them redacted.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

from contracts.vocabulary import (
    LADDER_ORDER, LADDER_STEP_LABELS, LADDER_TRIGGER_LABELS, LadderStep, LadderTrigger,
    ProposalStatus, Role,
)

DECIDERS = frozenset({Role.COUNTY_OFFICE})
"""Who confirms or dismisses a proposal (县委办公室)."""
FINDERS = frozenset({Role.COUNTY_OFFICE, Role.SPOT_CHECK})
"""Who records a covert inspection finding (暗访巡查: the county office, the spot-check team)."""
NAME_READERS = frozenset({Role.COUNTY_OFFICE, Role.CUSTODIAN})
"""Who reads the names of the persons concerned."""
OVERSEERS = frozenset({Role.COUNTY_OFFICE, Role.CUSTODIAN, Role.SPOT_CHECK})
"""Who reads every unit's ladder (proposals included)."""
FINDING_TRIGGERS = (LadderTrigger.PERFUNCTORY, LadderTrigger.FALSIFIED)

MAX_REASON = 2000
MAX_PERSONS = 20
MAX_DOCUMENTS = 20


class LadderRefused(Exception):
    """A refusal of the ladder: a code of ``kit.errors.CODES``, both languages, the kind
    (``invalid`` 422, ``forbidden`` 403, ``conflict`` 409, ``not_found`` 404) and the field."""

    def __init__(self, code: str, message: str, message_zh: str, kind: str = "invalid",
                 field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.message_zh = code, message, message_zh
        self.kind, self.field = kind, field


class Calendar(Protocol):
    """Working days (the ledger's ``WorkCalendar``: the official calendar and the campaign's
    listed years)."""

    def add_workdays(self, start: date, days: int) -> date: ...
    def workdays_between(self, start: date, end: date) -> int: ...


# ── facts and proposals ─────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Facts:
    """What a proposal rests on. ``key()`` names the facts: a dismissed (or any earlier)
    proposal on the same key is never made again."""

    unit: str
    trigger: LadderTrigger
    reason: str = ""
    problem_ids: tuple[str, ...] = ()
    period: str | None = None      # report period, month, or an overdue problem's due date
    round_id: str | None = None    # the spot-check round
    ref: str | None = None         # a covert finding's id, an interview's case id
    documents: tuple[str, ...] = ()  # SHA-256 of evidence files
    self_found: bool = False
    source: str = ""               # the event id or the person that raised it

    def key(self) -> str:
        t = LadderTrigger(self.trigger)
        if t in (LadderTrigger.WRONG_CLOSURE, LadderTrigger.OVERDUE):
            basis = "problems:" + ",".join(sorted(set(self.problem_ids)))
        elif t in (LadderTrigger.MISSING_REPORTS, LadderTrigger.ZERO_CONTRADICTED):
            basis = f"period:{self.period or ''}"
        elif t is LadderTrigger.FULL_REVIEW_FAILED:
            basis = f"round:{self.round_id or ''}"
        else:
            basis = f"ref:{self.ref or ''}"
        return f"{self.unit}|{t.value}|{basis}"


@dataclass(frozen=True)
class Proposal:
    id: str
    facts: Facts
    step: LadderStep
    notes: tuple[tuple[str, str], ...]   # why this step: (zh, en) each
    created_at: datetime
    status: ProposalStatus = ProposalStatus.PROPOSED
    decided_by: str | None = None
    decided_at: datetime | None = None
    dismiss_reason: str | None = None
    step_id: str | None = None

    @property
    def unit(self) -> str:
        return self.facts.unit


@dataclass(frozen=True)
class Person:
    """A person concerned (涉及人员): post and name."""

    post: str
    name: str


@dataclass(frozen=True)
class StepRecord:
    """A confirmed step: its reason, the problems and documents it rests on, who decided and
    when, its deadline (限期), the chain entry once written."""

    id: str
    case_id: str
    unit: str
    step: LadderStep
    trigger: LadderTrigger
    reason: str
    decided_by: str
    decided_at: datetime
    due_on: date
    problem_ids: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    proposal_id: str | None = None
    skip_reason: str | None = None
    note: str = ""
    persons: tuple[Person, ...] = ()
    head: dict | None = None        # the principal head at confirmation: {name, title}
    deadline_passed: bool = False
    chain_seq: int | None = None
    chain_hash: str | None = None

    @property
    def chain_key(self) -> str:
        return f"case:{self.case_id}:{self.step.value}"


# ── where a unit stands ─────────────────────────────────────────────────────────────────────

def rank(step: LadderStep | str) -> int:
    return LADDER_ORDER.index(LadderStep(step))


def open_case(steps: Iterable[StepRecord]) -> tuple[str | None, tuple[LadderStep, ...]]:
    """The unit's open case and the steps confirmed in it (oldest first); (None, ()) when it
    has none (never climbed, or its latest case reached accountability)."""
    ordered = sorted(steps, key=lambda s: (s.decided_at, rank(s.step)))
    if not ordered:
        return None, ()
    case = ordered[-1].case_id
    taken = tuple(s.step for s in ordered if s.case_id == case)
    if LadderStep.ACCOUNTABILITY in taken:
        return None, ()
    return case, taken


def next_step(taken: Sequence[LadderStep]) -> LadderStep:
    """None yet → notice; after a notice → interview; after an interview → accountability."""
    if not taken:
        return LadderStep.NOTICE
    return LADDER_ORDER[min(max(rank(s) for s in taken) + 1, len(LADDER_ORDER) - 1)]


def proposed_step(taken: Sequence[LadderStep], facts: Facts, rules, phase: str | None
                  ) -> tuple[LadderStep, tuple[tuple[str, str], ...]]:
    """The step a rule proposes on ``facts`` for a unit whose open case holds ``taken``, and
    why (宽严相济, 越往后执纪越严). ``rules``: ``campaign.accountability``."""
    step = next_step(taken)
    label = LADDER_STEP_LABELS[step]
    notes = [(f"本单位下一步:{label[0]}", f"The unit's next step: {label[1]}")]
    if facts.self_found and rules.self_found_lighter and rank(step) > 0:
        step = LADDER_ORDER[rank(step) - 1]
        notes.append(("属自查自纠,从轻一档(不低于通报)",
                      "Found by the unit itself: one step lighter (never below a notice)"))
    floor = rules.phase_floor.get(phase) if phase else None
    if floor and rank(floor) > rank(step):
        step = LadderStep(floor)
        label = LADDER_STEP_LABELS[step]
        notes.append((f"越往后执纪越严:本阶段至少{label[0]}",
                      f"Stricter in later phases: at least {label[1]} in this phase"))
    return step, tuple(notes)


def skips(taken: Sequence[LadderStep], step: LadderStep) -> bool:
    """Whether confirming ``step`` would skip one (no interview without a notice, no
    accountability without an interview, in the open case)."""
    highest = max((rank(s) for s in taken), default=-1)
    return rank(step) > highest + 1


def check_step(taken: Sequence[LadderStep], step: LadderStep, skip_reason: str | None,
               rules) -> str | None:
    """The skip reason to record (None when nothing is skipped), or a refusal."""
    step = LadderStep(step)
    if step in taken:
        raise LadderRefused(
            "ladder_step_taken", f"the unit's case has a confirmed {step.value} already",
            f"该单位本轮已确认“{LADDER_STEP_LABELS[step][0]}”", "conflict")
    if not skips(taken, step):
        return None
    if not skip_reason:
        need = LADDER_STEP_LABELS[LADDER_ORDER[rank(step) - 1]]
        raise LadderRefused(
            "ladder_step_skipped",
            f"{step.value} needs an earlier confirmed {need[1].lower()}, or a reason the "
            "campaign file allows for skipping",
            f"“{LADDER_STEP_LABELS[step][0]}”须以已确认的“{need[0]}”为前提,"
            "或记录专项工作方案允许的越级理由", "conflict", "skip_reason")
    if skip_reason not in rules.skip_reasons:
        raise LadderRefused(
            "unknown_skip_reason", "not a reason the campaign file allows for skipping a step",
            "不是专项工作方案允许的越级理由", "invalid", "skip_reason")
    return skip_reason


def restep(pending: Iterable[Proposal], taken: Sequence[LadderStep], rules,
           phase: str | None) -> list[Proposal]:
    """After a confirmation, the unit's waiting proposals propose against its new standing:
    the ones whose step changed."""
    changed = []
    for p in pending:
        step, notes = proposed_step(taken, p.facts, rules, phase)
        if step != p.step or notes != p.notes:
            changed.append(replace(p, step=step, notes=notes))
    return changed


# ── deciding ────────────────────────────────────────────────────────────────────────────────

def check_decider(role: str) -> None:
    if role not in DECIDERS:
        raise LadderRefused("not_county_office",
                            "only a person of the county office confirms or dismisses a proposal",
                            "仅县委办公室人员可以确认或不予采纳问责建议", "forbidden")


def check_undecided(p: Proposal) -> None:
    if p.status is not ProposalStatus.PROPOSED:
        raise LadderRefused("already_decided", f"the proposal was {p.status.value} already",
                            "该建议已经作出决定,不能重复决定", "conflict")


def clean_text(value: object, name: str, name_zh: str, *, required: bool,
               limit: int = MAX_REASON) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise LadderRefused("reason_required", f"{name} is required", f"须填写{name_zh}",
                            "invalid", name)
    if len(text) > limit:
        raise LadderRefused("invalid_input", f"{name}: at most {limit} characters",
                            f"{name_zh}最多 {limit} 个字符", "invalid", name)
    return text


def persons_of(raw: object) -> tuple[Person, ...]:
    """The persons concerned as given (a list of {post, name}); a refusal when malformed."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_PERSONS:
        raise LadderRefused("invalid_input", f"persons: a list of at most {MAX_PERSONS}",
                            f"涉及人员应为列表,最多 {MAX_PERSONS} 人", "invalid", "persons")
    found = []
    for i, item in enumerate(raw):
        post = item.get("post") if isinstance(item, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        if not (isinstance(post, str) and isinstance(name, str) and post.strip()
                and name.strip() and len(post) <= 100 and len(name) <= 100):
            raise LadderRefused("invalid_input", f"persons[{i}]: post and name, 1 to 100 "
                                "characters each", f"涉及人员第{i + 1}项须填写职务和姓名"
                                "(各不超过 100 字)", "invalid", f"persons[{i}]")
        found.append(Person(post.strip(), name.strip()))
    return tuple(found)


def deadline(calendar: Calendar, day: date, step: LadderStep, rules) -> date:
    """The step's deadline (限期): ``deadline_workdays[step]`` working days after ``day``."""
    return calendar.add_workdays(day, rules.deadline_workdays[LadderStep(step).value])


def confirm(p: Proposal, *, role: str, username: str, steps: Sequence[StepRecord], rules,
            calendar: Calendar, now: datetime, today: date, step_id: str, new_case_id: str,
            skip_reason: str | None = None, note: str | None = None, persons=None,
            head: dict | None = None) -> tuple[Proposal, StepRecord]:
    """A person of the county office confirms ``p``: the proposal decided and the step
    recorded (in the open case, or a new one). Refusals change nothing."""
    check_decider(role)
    check_undecided(p)
    case, taken = open_case(steps)
    recorded_skip = check_step(taken, p.step, skip_reason or None, rules)
    text = clean_text(note, "note", "说明", required=False)
    named = persons_of(persons)
    if p.step is not LadderStep.INTERVIEW:
        head = None
    record = StepRecord(
        id=step_id, case_id=case or new_case_id, unit=p.unit, step=p.step,
        trigger=p.facts.trigger, reason=p.facts.reason, decided_by=username, decided_at=now,
        due_on=deadline(calendar, today, p.step, rules), problem_ids=p.facts.problem_ids,
        documents=p.facts.documents, proposal_id=p.id, skip_reason=recorded_skip, note=text,
        persons=named, head=dict(head) if head else None)
    decided = replace(p, status=ProposalStatus.CONFIRMED, decided_by=username, decided_at=now,
                      step_id=step_id)
    return decided, record


def dismiss(p: Proposal, *, role: str, username: str, reason: object,
            now: datetime) -> Proposal:
    check_decider(role)
    check_undecided(p)
    why = clean_text(reason, "reason", "不予采纳的理由", required=True)
    return replace(p, status=ProposalStatus.DISMISSED, decided_by=username, decided_at=now,
                   dismiss_reason=why)


# ── covert inspection findings (暗访) ─────────────────────────────────────────────────────────

def finding_facts(*, role: str, username: str, unit: str, kind: str, findings: object,
                  evidence: Sequence[str], problem_ids: Sequence[str], finding_id: str,
                  known_unit) -> Facts:
    """走过场 / 弄虚作假 found by covert inspection, recorded by the county office or the
    spot-check team on a form with evidence."""
    if role not in FINDERS:
        raise LadderRefused("not_permitted",
                            "only the county office or the spot-check team records a finding",
                            "仅县委办公室或抽查组可以登记暗访发现的问题", "forbidden")
    if not known_unit(unit):
        raise LadderRefused("unknown_unit", "no such unit", "不是本次专项工作中的单位",
                            "invalid", "unit")
    try:
        trigger = LadderTrigger(kind)
    except ValueError:
        trigger = None
    if trigger not in FINDING_TRIGGERS:
        raise LadderRefused("invalid_input", "kind: perfunctory or falsified",
                            "发现的问题应为“走过场”或“弄虚作假”", "invalid", "kind")
    text = clean_text(findings, "findings", "暗访发现的情况", required=True)
    documents = tuple(dict.fromkeys(evidence or ()))
    if not documents:
        raise LadderRefused("evidence_required", "a finding needs at least one evidence file",
                            "暗访发现须附至少一份佐证材料", "invalid", "evidence")
    if len(documents) > MAX_DOCUMENTS:
        raise LadderRefused("invalid_input", f"evidence: at most {MAX_DOCUMENTS} files",
                            f"佐证材料最多 {MAX_DOCUMENTS} 份", "invalid", "evidence")
    return Facts(unit=unit, trigger=trigger, reason=text,
                 problem_ids=tuple(dict.fromkeys(problem_ids or ())), ref=finding_id,
                 documents=documents, source=username)


# ── deadlines (限期) ─────────────────────────────────────────────────────────────────────────

def passed_deadlines(steps: Iterable[StepRecord], today: date) -> list[StepRecord]:
    """Confirmed steps whose deadline has passed by ``today`` and was not yet marked."""
    return [s for s in steps if not s.deadline_passed and s.due_on < today]


def ineffective_interview(step: StepRecord, unit_steps: Iterable[StepRecord]) -> Facts | None:
    """An interview whose deadline passed while it is still the latest step of its open case
    proposes the next step (约谈后效果依然不明显的, 将按有关规定进行责任追究和问责)."""
    if step.step is not LadderStep.INTERVIEW:
        return None
    case, taken = open_case(unit_steps)
    if case != step.case_id or (taken and taken[-1] is not LadderStep.INTERVIEW):
        return None
    label = LADDER_TRIGGER_LABELS[LadderTrigger.INTERVIEW_INEFFECTIVE]
    return Facts(unit=step.unit, trigger=LadderTrigger.INTERVIEW_INEFFECTIVE,
                 reason=f"{label[0]}(约谈期限 {step.due_on.isoformat()} 已过)",
                 problem_ids=step.problem_ids, ref=step.case_id, source=f"step:{step.id}")


# ── triggers from events ────────────────────────────────────────────────────────────────────

def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def missing_reports_due(periods_in_month: int, rules) -> bool:
    return periods_in_month >= rules.missing_reports


def overdue_enough(calendar: Calendar, due_on: date, today: date, rules) -> bool:
    return calendar.workdays_between(due_on, today) >= rules.overdue_workdays


def self_found(problem_ids: Sequence[str], found_by_unit: dict[str, bool]) -> bool:
    """Facts count as 自查自纠 when every problem they name came through a self-inspection
    channel from the unit itself (none named: no)."""
    return bool(problem_ids) and all(found_by_unit.get(p, False) for p in problem_ids)


# ── who sees what ───────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Reader:
    role: str
    org_code: str | None
    username: str = ""

    @property
    def sees_names(self) -> bool:
        return self.role in NAME_READERS


def may_read_unit(reader: Reader, unit: str, supervisor_of) -> bool:
    """The county office, the custodian and the spot-check team: every unit; a supervising
    body: its system's units; a unit's handler: its own unit."""
    if reader.role in OVERSEERS:
        return True
    if reader.role == Role.SUPERVISOR:
        return bool(reader.org_code) and supervisor_of(unit) == reader.org_code
    if reader.role == Role.UNIT_HANDLER:
        return bool(reader.org_code) and reader.org_code == unit
    return False


def sees_proposals(reader: Reader) -> bool:
    """A unit sees its confirmed steps only, never what is proposed about it."""
    return reader.role in OVERSEERS or reader.role == Role.SUPERVISOR


REDACTED = "***"


def step_view(s: StepRecord, reader: Reader, today: date | None = None) -> dict:
    """A step as ``reader`` may see it: names only for the county office and the custodian."""
    names = reader.sees_names
    head = None
    if s.head:
        head = {"title": s.head.get("title") or "",
                "name": s.head.get("name") if names else REDACTED}
    view = {
        "id": s.id, "case_id": s.case_id, "unit": s.unit, "step": s.step.value,
        "step_zh": LADDER_STEP_LABELS[s.step][0], "step_en": LADDER_STEP_LABELS[s.step][1],
        "trigger": s.trigger.value, "trigger_zh": LADDER_TRIGGER_LABELS[s.trigger][0],
        "trigger_en": LADDER_TRIGGER_LABELS[s.trigger][1], "reason": s.reason,
        "problem_ids": list(s.problem_ids), "documents": list(s.documents),
        "decided_by": s.decided_by, "decided_at": s.decided_at.isoformat(),
        "due_on": s.due_on.isoformat(), "skip_reason": s.skip_reason, "note": s.note,
        "persons": [{"post": p.post, "name": p.name if names else REDACTED} for p in s.persons],
        "head": head, "names_hidden": not names and bool(s.persons or s.head),
        "deadline_passed": s.deadline_passed or (today is not None and s.due_on < today),
        "chain": {"seq": s.chain_seq, "hash": s.chain_hash} if s.chain_seq is not None else None,
    }
    return view


def proposal_view(p: Proposal) -> dict:
    f = p.facts
    label = LADDER_STEP_LABELS[p.step]
    trig = LADDER_TRIGGER_LABELS[LadderTrigger(f.trigger)]
    return {"id": p.id, "unit": f.unit, "trigger": LadderTrigger(f.trigger).value,
            "trigger_zh": trig[0], "trigger_en": trig[1], "step": p.step.value,
            "step_zh": label[0], "step_en": label[1], "reason": f.reason,
            "problem_ids": list(f.problem_ids), "period": f.period, "round_id": f.round_id,
            "documents": list(f.documents), "self_found": f.self_found,
            "notes": [{"zh": zh, "en": en} for zh, en in p.notes], "facts_key": f.key(),
            "status": p.status.value, "created_at": p.created_at.isoformat(),
            "decided_by": p.decided_by,
            "decided_at": p.decided_at.isoformat() if p.decided_at else None,
            "dismiss_reason": p.dismiss_reason, "step_id": p.step_id}


def chain_record(s: StepRecord) -> dict:
    """What the hash chain keeps of a step (留痕): everything but the names, which it keeps
    as a digest only (the chain is read more widely than the names may be)."""
    persons = json.dumps([[p.post, p.name] for p in s.persons] + (
        [["head", s.head.get("name", "")]] if s.head else []), ensure_ascii=False)
    return {"case_id": s.case_id, "step_id": s.id, "unit": s.unit, "step": s.step.value,
            "trigger": s.trigger.value, "reason": s.reason, "problem_ids": list(s.problem_ids),
            "documents": list(s.documents), "decided_by": s.decided_by,
            "decided_at": s.decided_at.isoformat(), "due_on": s.due_on.isoformat(),
            "skip_reason": s.skip_reason, "proposal_id": s.proposal_id,
            "persons_sha256": hashlib.sha256(persons.encode()).hexdigest()}

