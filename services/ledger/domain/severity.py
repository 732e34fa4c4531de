"""Severity advice (宽严相济, plan section 四(三)).

    要坚持宽严相济,对自查自纠主动清理并积极整改的,要减轻或从轻处理;对比较严重的典型问题,
    要严肃查处,体现越往后执纪越严。

The rule, configured in the campaign file's ``severity_advice`` section
(``contracts.campaign.SeverityAdviceRules``):

* start at ``standard``;
* self-found (``Problem.self_found``, recorded at registration with ``is_self_found``: the
  clue's channel group is in ``self_found_channel_groups`` and the unit reported itself,
  自查自纠) **and** actively
  rectified → one step lighter (减轻或从轻);
* a serious typical case (``seriousness == "serious"``, 严肃查处) → ``stricter``: with
  ``serious_is: stricter`` it is at least stricter whatever else applies, with
  ``one_step_stricter`` it is one step stricter;
* the phase the problem was confirmed in (``confirmed_phase``, else the phase of its registration
  date) moves it ``phase_shift[phase]`` steps stricter (越往后执纪越严);
* a category of severity ``high`` moves it ``high_severity_category_shift`` steps stricter;
* the result is clamped to lighter | standard | stricter.

This is ADVICE, never a decision. A person with authority decides the handling; that decision is
recorded by the ledger's ``decide_severity`` action (``Problem.severity_decision``), beside the
advice (``Problem.severity_advice``) so that a departure from the advice is visible. Pure: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from contracts.campaign import Campaign, SeverityAdviceRules
from contracts.clue_rules import Submitter, reports_itself
from services.ledger.domain.lifecycle import Problem

LEVELS = ("lighter", "standard", "stricter")
_STANDARD = LEVELS.index("standard")


@dataclass(frozen=True)
class Advice:
    """An advised level with the reasons that led to it, in English and Chinese (same order)."""

    level: str
    reasons: list[str] = field(default_factory=list)
    reasons_zh: list[str] = field(default_factory=list)


def is_self_found(channel_code: str, campaign: Campaign, *, subject_unit: str | None = None,
                  submitter_role: str | None = None, submitter_org: str | None = None) -> bool:
    """Whether a clue counts as 自查自纠: its channel's group is a self-found one **and** a unit
    reported itself (an account of ``subject_unit``, ``clue_rules.reports_itself``). Unknown
    channels, and anyone else's clue on a self-inspection channel, do not."""
    channel = campaign.channel(channel_code)
    return (channel is not None and channel.group in _rules(campaign).self_found_channel_groups
            and reports_itself(campaign, channel=channel_code, subject_unit=subject_unit,
                               submitter=Submitter(submitter_role or "", submitter_org)))


def advise(problem: Problem, campaign: Campaign, *, actively_rectified: bool) -> Advice:
    """The advised severity level for ``problem`` and why (see the module docstring)."""
    rules = _rules(campaign)
    step = _STANDARD
    reasons: list[str] = []
    reasons_zh: list[str] = []

    def note(en: str, zh: str) -> None:
        reasons.append(en)
        reasons_zh.append(zh)

    self_found = problem.self_found  # recorded at registration by is_self_found(channel)
    if self_found and actively_rectified:
        step -= 1
        note("found by the unit's own inspection and actively rectified: one step lighter",
             "自查自纠主动清理并积极整改:减轻或从轻处理")
    elif self_found:
        note("found by the unit's own inspection but not yet actively rectified: no reduction",
             "属自查自纠,但尚未积极整改:不予从轻")

    serious = problem.seriousness == "serious"
    if serious and rules.serious_is == "one_step_stricter":
        step += 1
        note("serious typical case: one step stricter", "比较严重的典型问题:严肃查处,从严一档")

    phase = _phase_code(problem, campaign)
    shift = rules.phase_shift.get(phase, 0) if phase else 0
    if shift:
        step += shift
        name = _phase_names(campaign, phase)
        note(f"confirmed in phase {name[0]} ({phase}): {shift} step(s) stricter",
             f"于{name[1]}阶段查实:越往后执纪越严,从严{shift}档")

    category = campaign.category(problem.category) if problem.category else None
    if category is not None and category.severity == "high" and rules.high_severity_category_shift:
        step += rules.high_severity_category_shift
        note(f"high-severity category {category.name_en}: "
             f"{rules.high_severity_category_shift} step(s) stricter",
             f"问题类别“{category.name_zh}”危害较大:从严{rules.high_severity_category_shift}档")

    clamped = min(max(step, 0), len(LEVELS) - 1)
    if serious and rules.serious_is == "stricter":
        clamped = len(LEVELS) - 1
        note("serious typical case: handled strictly", "比较严重的典型问题:严肃查处")
    elif clamped != step:
        note(f"clamped to {LEVELS[clamped]}", f"已取{_ZH[LEVELS[clamped]]}档(上下限)")

    if not reasons:
        note("no grounds for a lighter or stricter handling", "无从轻或从严情节")
    return Advice(LEVELS[clamped], reasons, reasons_zh)


def advise_level(problem: Problem, campaign: Campaign) -> str:
    """The advised level as the ledger records it at verification: actively rectified means the
    problem has a rectification plan."""
    return advise(problem, campaign, actively_rectified=problem.plan is not None).level


def _phase_names(campaign: Campaign, code: str) -> tuple[str, str]:
    phase = next((p for p in campaign.phases if p.code == code), None)
    return (phase.name_en, phase.name_zh) if phase else (code, code)


_ZH = {"lighter": "从轻", "standard": "一般", "stricter": "从严"}


def _rules(campaign: Campaign) -> SeverityAdviceRules:
    return campaign.severity_advice


def _phase_code(problem: Problem, campaign: Campaign) -> str | None:
    if problem.confirmed_phase:
        return problem.confirmed_phase
    phase = campaign.phase_on(problem.registered_at.date())
    return phase.code if phase else None
