"""Spot-check rounds (抽查轮次): the pure rules. The population each round draws from (查否、
零报告、已销号问题), a round's steps in their only order (manifest frozen → manifest on the
chain → seed → sample → re-checks → close), who may re-check what, and every refusal in both
languages. No database, no broker: ``services/audit/round_handlers.py`` stores, the nameko
shell translates (AUDIT-SAMPLING.md for the method, ``services/audit/sampling.py`` for the
sampler itself)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from contracts.vocabulary import RecheckVerdict, ReopenSource, Stratum
from kit.periods import COUNTY_TZ

CLOSURE_STRATA = (Stratum.ORDINARY, Stratum.HIGH_SEVERITY)
ZERO_STRATA = (Stratum.ZERO_REPORT, Stratum.ZERO_CONTRADICTED)


class RoundKind(StrEnum):
    """What a round samples (抽查类型)."""

    SPOT_CHECK = "spot_check"    # 查否复查 + 抽查零报告: closures as unfounded and zero reports
    LOOK_BACK = "look_back"      # 回头看: problems struck off
    FULL_REVIEW = "full_review"  # 全面复查: every item of one unit and stratum


ROUND_KIND_LABELS: dict[RoundKind, tuple[str, str]] = {
    RoundKind.SPOT_CHECK: ("查否复查与零报告抽查", "Unfounded closures and zero reports"),
    RoundKind.LOOK_BACK: ("回头看(已销号问题)", "Look-back over struck-off problems"),
    RoundKind.FULL_REVIEW: ("全面复查", "Full review of one unit"),
}

STRATA_OF_KIND: dict[RoundKind, tuple[Stratum, ...]] = {
    RoundKind.SPOT_CHECK: (*CLOSURE_STRATA, *ZERO_STRATA),
    RoundKind.LOOK_BACK: (Stratum.LOOK_BACK,),
    RoundKind.FULL_REVIEW: tuple(Stratum),
}


class RoundStatus(StrEnum):
    """Where a round stands (轮次状态)."""

    FROZEN = "frozen"        # 样本框已冻结, its digest not yet on the chain
    PUBLISHED = "published"  # 样本框摘要已上链: the seed may be entered
    DRAWN = "drawn"          # 已录入种子并抽样: re-checks under way
    CLOSED = "closed"        # 已结束


ROUND_STATUS_LABELS: dict[RoundStatus, tuple[str, str]] = {
    RoundStatus.FROZEN: ("样本框已冻结,待上链", "Manifest frozen, not yet on the chain"),
    RoundStatus.PUBLISHED: ("样本框已上链,待录入种子", "Manifest on the chain; awaiting the seed"),
    RoundStatus.DRAWN: ("已抽样,复查中", "Sample drawn; re-checks under way"),
    RoundStatus.CLOSED: ("已结束", "Closed"),
}

SPOT_CHECKERS = ("spot_check", "county_office")  # who opens, seeds, assigns (抽查组、县委办)
UNIT_ROLES = ("unit_handler", "supervisor")


class RoundRefused(Exception):
    """A refusal, in both languages, with the input it is about; nothing was changed.
    ``kind``: not_found | invalid | conflict | forbidden (``kit.errors``' four)."""

    def __init__(self, kind: str, code: str, message: str, message_zh: str,
                 field: str | None = None):
        super().__init__(message)
        self.kind, self.code, self.message, self.message_zh, self.field = (
            kind, code, message, message_zh, field)


def month_of(at: datetime) -> str:
    """The period (YYYY-MM) a closure or report falls in, on the county's calendar."""
    return at.astimezone(COUNTY_TZ).strftime("%Y-%m")


def check_period(period: str) -> str:
    period = (period or "").strip()
    ok = len(period) == 7 and period[4] == "-" and period[:4].isdigit() \
        and period[5:].isdigit() and 1 <= int(period[5:]) <= 12
    if not ok:
        raise RoundRefused("invalid", "invalid_period", "the period is a month, YYYY-MM",
                           "抽查期间应为月份,如 2017-10", "period")
    return period


# --- the population (样本总体) ------------------------------------------------------------

@dataclass(frozen=True)
class PopulationItem:
    """One item a round may sample: a problem closed as unfounded (查否), a problem struck off
    (回头看), or a zero report (零报告). ``active``: it is (still) closed that way."""

    item_id: str
    unit: str
    stratum: Stratum
    period: str
    problem_id: str | None = None
    category: str | None = None
    outcome: str | None = None
    seq: int = 0
    active: bool = True
    week: str | None = None  # a zero report's ISO week


def closure_stratum(category: str | None, campaign) -> Stratum:
    found = campaign.category(category) if category else None
    return Stratum.HIGH_SEVERITY if found is not None and found.severity == "high" \
        else Stratum.ORDINARY


def after_transition(current: PopulationItem | None, *, name: str, problem_id: str,
                     to_state: str, outcome: str | None, unit: str | None,
                     category: str | None, history_seq: int, occurred_at: datetime,
                     campaign) -> PopulationItem | None:
    """What a problem's transition makes of its population item (None: nothing to store).
    Accepted as unfounded (认可查否) → a closure item; struck off (销号) → a look-back item;
    any later move out of that closure (reopened, ...) → no longer in the population. An
    event older than what is held changes nothing (redelivery, reordering)."""
    if current is not None and history_seq <= current.seq:
        return None
    if name == "unfounded_accepted" and to_state == "closed" and unit:
        return PopulationItem(problem_id, unit, closure_stratum(category, campaign),
                              month_of(occurred_at), problem_id, category, outcome or "unfounded",
                              history_seq)
    if name == "struck_off" and to_state == "closed" and unit:
        return PopulationItem(problem_id, unit, Stratum.LOOK_BACK, month_of(occurred_at),
                              problem_id, category, outcome or "rectified", history_seq)
    if current is None:
        return None
    still = to_state == "closed" and outcome == current.outcome
    return replace(current, seq=history_seq, active=current.active and still)


def after_report(current: PopulationItem | None, *, name: str, kind: str | None,
                 report_id: str, unit: str | None, week: str, occurred_at: datetime
                 ) -> PopulationItem | None:
    """A zero report filed (零报告) is an item; the ledger contradicting it moves it to the
    contradicted stratum (与台账不符), whichever message arrives first."""
    if not unit or not report_id:
        return None
    if name in ("report_filed", "report_amended"):
        if kind != "zero":
            return None
        if current is not None:
            return None  # the contradiction came first: keep its stratum
        return PopulationItem(report_id, unit, Stratum.ZERO_REPORT, month_of(occurred_at),
                              week=week)
    if name == "zero_contradicted":
        base = current or PopulationItem(report_id, unit, Stratum.ZERO_REPORT,
                                         month_of(occurred_at), week=week)
        return replace(base, stratum=Stratum.ZERO_CONTRADICTED)
    return None


def round_population(items: list[PopulationItem], kind: RoundKind, period: str,
                     unit: str | None = None, stratum: Stratum | None = None
                     ) -> list[PopulationItem]:
    """The items a round of ``kind`` for ``period`` freezes in its manifest."""
    strata = STRATA_OF_KIND[kind]
    chosen = [i for i in items if i.active and i.period == period and i.stratum in strata]
    if kind is RoundKind.FULL_REVIEW:
        chosen = [i for i in chosen if i.unit == unit and i.stratum == stratum]
    return sorted(chosen, key=lambda i: i.item_id)


def check_opening(kind: str, period: str, unit: str | None, stratum: str | None, campaign
                  ) -> tuple[RoundKind, str, str | None, Stratum | None]:
    try:
        chosen = RoundKind(kind)
    except ValueError:
        raise RoundRefused("invalid", "invalid_round", f"unknown round kind {kind!r}",
                           "未知的抽查类型", "kind") from None
    period = check_period(period)
    if chosen is not RoundKind.FULL_REVIEW:
        return chosen, period, None, None
    if not unit or campaign.organization(unit) is None:
        raise RoundRefused("invalid", "unknown_unit", "a full review names a known unit",
                           "全面复查须选择一个单位", "unit")
    try:
        return chosen, period, unit, Stratum(stratum or "")
    except ValueError:
        raise RoundRefused("invalid", "invalid_round", "a full review names a stratum",
                           "全面复查须选择抽查层", "stratum") from None


def require_spot_checker(actor: dict) -> None:
    if actor.get("role") not in SPOT_CHECKERS:
        raise RoundRefused("forbidden", "forbidden", "only the spot-check team or the county "
                           "office may do this", "仅抽查组或县委办公室可执行此操作")


# --- the round's steps ----------------------------------------------------------------------

def check_seed_allowed(status: RoundStatus, has_seed: bool) -> None:
    """A seed only after the manifest is on the chain, and only once (种子只录入一次)."""
    if has_seed:
        raise RoundRefused("conflict", "seed_already_entered",
                           "this round has its seed already; a second one is refused",
                           "本轮已录入随机种子,不能再次录入", "seed")
    if status is not RoundStatus.PUBLISHED:
        raise RoundRefused("conflict", "manifest_not_published",
                           "the manifest's digest is not on the chain yet: no seed before it",
                           "样本框摘要尚未上链,不能录入随机种子", "seed")


def check_seed_digits(seed: str, min_digits: int) -> str:
    seed = (seed or "").strip()
    if not seed.isascii() or not seed.isdigit() or len(seed) < min_digits:
        raise RoundRefused("invalid", "invalid_seed",
                           f"the seed is digits only, at least {min_digits} of them",
                           f"随机种子只能由数字组成,且不少于 {min_digits} 位", "seed")
    return seed


def excluded_orgs(unit: str, campaign) -> set[str]:
    """Whose people may not re-check the unit's items: the unit itself, and its supervising
    body where the campaign file says so (回避)."""
    out = {unit}
    if campaign.spot_checks.recheckers_exclude_supervisor:
        body = campaign.supervisor_of(unit)
        if body is not None:
            out.add(body.code)
    return out


def check_rechecker(unit: str, rechecker_org: str | None, campaign) -> None:
    if rechecker_org and rechecker_org in excluded_orgs(unit, campaign):
        raise RoundRefused("forbidden", "rechecker_not_independent",
                           "a re-checker may not belong to the unit that closed the item, "
                           "nor to its supervising body",
                           "复查人员不得来自该事项的承办单位或其主管部门(回避)", "rechecker")


def round_robin(items: list[tuple[str, str]], recheckers: list[tuple[str, str | None]],
                campaign, load: dict[str, int] | None = None) -> dict[str, str]:
    """Assign items (id, unit) in turn to the eligible re-checker with the least work so far
    (ties by username): {item id: username}. An item nobody may re-check is left out."""
    load = dict(load or {})
    for name, _org in recheckers:
        load.setdefault(name, 0)
    out: dict[str, str] = {}
    for item_id, unit in items:
        allowed = [n for n, org in recheckers
                   if not (org and org in excluded_orgs(unit, campaign))]
        if not allowed:
            continue
        chosen = min(allowed, key=lambda n: (load[n], n))
        load[chosen] += 1
        out[item_id] = chosen
    return out


def check_verdict(verdict: str, findings: str) -> tuple[RecheckVerdict, str]:
    try:
        chosen = RecheckVerdict(verdict)
    except ValueError:
        raise RoundRefused("invalid", "invalid_verdict", "choose a verdict",
                           "请选择复查结论", "verdict") from None
    findings = (findings or "").strip()
    if not 5 <= len(findings) <= 5000:
        raise RoundRefused("invalid", "findings_required",
                           "say what the re-check found (5 to 5,000 characters)",
                           "请填写复查情况(5 至 5000 个字符)", "findings")
    return chosen, findings


def reopen_source(stratum: str, verdict: RecheckVerdict) -> ReopenSource | None:
    """What a verdict reopens: a wrong closure (or one not produced) reopens its problem
    (抽查 for a closure, 回头看 for a struck-off one); zero reports and upheld ones nothing."""
    if verdict is RecheckVerdict.UPHELD:
        return None
    if stratum in CLOSURE_STRATA:
        return ReopenSource.SPOT_CHECK
    if stratum == Stratum.LOOK_BACK:
        return ReopenSource.LOOK_BACK
    return None


def check_closing(actor: dict, unchecked: int, reason: str | None) -> str | None:
    """A round closes when every sampled item is re-checked, or when a person of the county
    office records why not (the rest then count as not produced, i.e. wrong)."""
    reason = (reason or "").strip() or None
    if unchecked and (actor.get("role") != "county_office" or not reason):
        raise RoundRefused("conflict", "round_not_rechecked",
                           f"{unchecked} sampled item(s) are not re-checked yet: only the county "
                           "office may close now, recording why",
                           f"尚有 {unchecked} 个抽中事项未复查:须由县委办公室说明理由后方可结束",
                           "reason")
    return reason


def unit_may_see(actor: dict, item_unit: str, material_requested: bool, closed: bool,
                 campaign) -> bool:
    """A unit learns that an item of its own was sampled only once the re-check reaches it
    (material requested) or the round is closed; a supervising body likewise for its
    system's units."""
    if not (material_requested or closed):
        return False
    org = actor.get("org_code")
    if actor.get("role") == "unit_handler":
        return org == item_unit
    if actor.get("role") == "supervisor":
        body = campaign.supervisor_of(item_unit)
        return body is not None and body.code == org
    return False
