"""The monthly bulletin (月通报): plain rules on per-unit figures (standard library only: the
ledger uses them for the month and its refusals, the gateway to compose and print).

From each unit's figures (problems registered 登记, rectified 整改销号, on time 按期, overdue
超期, stalled 停滞, missing weekly reports 漏报周报告, contradicted zero reports 零报告存疑,
satisfaction 回访满意率 where the follow-up exists) the bulletin's rows, and rankings by rates.

Rates of small units are unreliable (a unit with 2 problems at 50 % is not worse than one
with 200 at 40 %: FixMyStreet's users complained of exactly such league tables), so a unit
with fewer problems than ``min_problems`` is listed apart (样本较少,不参与排名), never ranked
beside the big ones. Typical cases (典型案例) are problem ids chosen by the county office.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from kit.periods import week_bounds

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MIN_PROBLEMS = 5   # default: fewer problems than this and a unit is listed apart, not ranked
# The rankings: (key, figure on the row, higher is better?, Chinese name)
RANKINGS = (("on_time_rate", True, "按期办结率"),
            ("rectified_on_time_rate", True, "按期整改率"),
            ("rectified_rate", True, "整改销号率"),
            ("overdue_rate", False, "超期率"))


class BulletinRefused(ValueError):
    """A bulletin request refused (bad month, bad case ids, published already): ``code`` (in
    ``kit.errors.CODES``), ``field``, the reason in English and Chinese, and ``status``
    (invalid, conflict, not_found), mapped like a report's refusal."""

    def __init__(self, code: str, field_name: str | None, message: str, message_zh: str,
                 status: str = "invalid"):
        super().__init__(message)
        self.code, self.field, self.message_zh, self.status = code, field_name, message_zh, status


def check_month(month: str) -> str:
    """``YYYY-MM``; anything else is refused."""
    if not isinstance(month, str) or not MONTH.match(month):
        raise BulletinRefused("invalid_bulletin", "month", "a month, e.g. 2026-11",
                              "月份格式应为 YYYY-MM,如 2026-11")
    return month


def rate(part: int, whole: int) -> float | None:
    """part / whole, or none when there is nothing to divide (never a false 0 %)."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class UnitFigures:
    """What the ledger and the reports say of one unit for the month."""

    unit: str
    name_zh: str
    registered: int = 0           # problems on the unit's ledger (登记)
    open: int = 0
    closed: int = 0
    rectified: int = 0            # closed and struck off as rectified (整改销号)
    overdue: int = 0
    stalled: int = 0
    missing_reports: int = 0      # weeks of the month without a report (漏报)
    contradicted_zero: int = 0    # zero reports flagged as contradicted (零报告存疑)
    satisfaction: float | None = None   # 回访满意率 (0..1); none until the follow-up exists
    new_in_month: int = 0         # registered in the month (本月新增)
    rectified_on_time: int = 0    # struck off, rectification reported by the plan's deadline
    overturned: int = 0           # unfounded closures a spot check found wrong (查否被推翻)


@dataclass
class BulletinRow:
    unit: str
    name_zh: str
    registered: int
    rectified: int
    overdue: int
    stalled: int
    missing_reports: int
    contradicted_zero: int
    on_time_rate: float | None
    rectified_rate: float | None
    overdue_rate: float | None
    satisfaction: float | None
    small: bool                   # below the minimum: listed apart, not ranked
    new_in_month: int = 0
    rectified_on_time: int = 0
    rectified_on_time_rate: float | None = None   # 按期整改率: of the rectified, by the deadline
    overturned: int = 0


@dataclass
class Ranking:
    key: str
    name_zh: str
    higher_is_better: bool
    ranked: list[dict] = field(default_factory=list)   # {rank, unit, name_zh, rate}


@dataclass
class Bulletin:
    month: str
    min_problems: int
    rows: list[BulletinRow]
    rankings: list[Ranking]
    small_units: list[BulletinRow]
    totals: dict
    cases: list[str]
    spot_checks: list[dict] = field(default_factory=list)   # 抽查复查: per unit and stratum

    def to_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        """SHA-256 of the figures as printed: the page carries the one reviewed, and
        publishing refuses when the figures changed since (review the new draft)."""
        raw = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False,
                         separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


def row_of(f: UnitFigures, min_problems: int) -> BulletinRow:
    return BulletinRow(
        unit=f.unit, name_zh=f.name_zh, registered=f.registered, rectified=f.rectified,
        overdue=f.overdue, stalled=f.stalled, missing_reports=f.missing_reports,
        contradicted_zero=f.contradicted_zero,
        on_time_rate=rate(f.open - f.overdue, f.open),
        rectified_rate=rate(f.rectified, f.closed), overdue_rate=rate(f.overdue, f.open),
        satisfaction=f.satisfaction, small=f.registered < min_problems,
        new_in_month=f.new_in_month, rectified_on_time=f.rectified_on_time,
        rectified_on_time_rate=rate(f.rectified_on_time, f.rectified), overturned=f.overturned)


def rank(rows: list[BulletinRow], key: str, higher_is_better: bool) -> list[dict]:
    """Competition ranking (1, 2, 2, 4) of the rows that have the rate; ties share a rank,
    ordered among themselves by more problems first, then by code."""
    have = [r for r in rows if getattr(r, key) is not None]
    sign = -1 if higher_is_better else 1
    have.sort(key=lambda r: (sign * getattr(r, key), -r.registered, r.unit))
    out, previous, place = [], object(), 0
    for i, r in enumerate(have, start=1):
        value = getattr(r, key)
        if value != previous:
            place, previous = i, value
        out.append({"rank": place, "unit": r.unit, "name_zh": r.name_zh, "rate": value,
                    "registered": r.registered})
    return out


def check_cases(cases: list[str] | None) -> list[str]:
    """Typical cases (典型案例): problem ids, each once, in the order chosen."""
    out: list[str] = []
    for case in cases or []:
        if not isinstance(case, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", case):
            raise BulletinRefused("invalid_bulletin", "cases", "typical cases are problem ids",
                                  "典型案例应为问题编号")
        if case not in out:
            out.append(case)
    return out


SPOT_CHECK_FIELDS = ("unit", "stratum", "population", "sampled", "checked", "errors",
                     "upper_bound", "decision")


def spot_check_rows(results: list[dict] | None, names: dict[str, str]) -> list[dict]:
    """The month's closed spot-check rounds per unit and stratum (抽查复查情况), as the audit
    service publishes them (``audit.spot_check_results``): N, n, checked, errors, the exact
    upper bound on the wrong-closure rate and the decision, with the Chinese words."""
    from contracts.vocabulary import STRATUM_LABELS, UNIT_DECISION_LABELS, Stratum, UnitDecision
    rows = []
    for r in results or []:
        row = {k: r.get(k) for k in SPOT_CHECK_FIELDS}
        row["name_zh"] = names.get(row["unit"]) or row["unit"]
        row["stratum_zh"] = STRATUM_LABELS[Stratum(row["stratum"])][0]
        row["decision_zh"] = UNIT_DECISION_LABELS[UnitDecision(row["decision"])][0]
        rows.append(row)
    return sorted(rows, key=lambda r: (r["unit"], r["stratum"]))


def compose(month: str, figures: list[UnitFigures], *, min_problems: int = MIN_PROBLEMS,
            cases: list[str] | None = None, spot_checks: list[dict] | None = None) -> Bulletin:
    """The bulletin of ``month``: every unit's row (by code), the rankings of the units with
    at least ``min_problems`` problems, the small units apart, the totals, the cases."""
    check_month(month)
    if min_problems < 1:
        raise BulletinRefused("invalid_bulletin", "min_problems", "at least 1",
                              "参与排名的最少问题数至少为 1")
    rows = sorted((row_of(f, min_problems) for f in figures), key=lambda r: r.unit)
    big = [r for r in rows if not r.small]
    rankings = [Ranking(key, zh, better, rank(big, key, better))
                for key, better, zh in RANKINGS]
    sums = {k: sum(getattr(f, k) for f in figures) for k in (
        "registered", "open", "closed", "rectified", "overdue", "stalled", "missing_reports",
        "contradicted_zero", "new_in_month", "rectified_on_time", "overturned")}
    sums["on_time_rate"] = rate(sums["open"] - sums["overdue"], sums["open"])
    sums["rectified_on_time_rate"] = rate(sums["rectified_on_time"], sums["rectified"])
    sums["rectified_rate"] = rate(sums["rectified"], sums["closed"])
    sums["units"] = len(rows)
    return Bulletin(month=month, min_problems=min_problems, rows=rows, rankings=rankings,
                    small_units=[r for r in rows if r.small], totals=sums,
                    cases=check_cases(cases), spot_checks=list(spot_checks or []))


def _satisfaction_of(unit: dict) -> float | None:
    """The roll-up's 回访 figure for a unit, where it carries one: ``satisfaction_rate`` of
    ``satisfaction_answers`` answers (none without answers: never a false 0 %); a plain
    number under ``satisfaction`` is taken as the rate."""
    if unit.get("satisfaction_rate") is not None:
        return unit["satisfaction_rate"] if int(unit.get("satisfaction_answers") or 0) else None
    value = unit.get("satisfaction")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def figures_from(rollup_units: list[dict], names: dict[str, str], missing: dict[str, int],
                 contradicted: dict[str, int], satisfaction: dict[str, float] | None = None,
                 expected: list[str] | None = None, new: dict[str, int] | None = None,
                 on_time: dict[str, int] | None = None,
                 overturned: dict[str, int] | None = None) -> list[UnitFigures]:
    """Per-unit figures from the ledger's roll-up rows, the month's missing and contradicted
    counts, and satisfaction where given. ``expected``: every unit that must appear (a unit
    with no problem and no report still appears, with zeros). ``on_time``: per unit, problems
    rectified by their plan's deadline; ``overturned``: per unit, unfounded closures a spot
    check found wrong in the month."""
    by_unit = {u["unit"]: u for u in rollup_units if u.get("unit")}
    new, on_time, overturned = new or {}, on_time or {}, overturned or {}
    codes = list(dict.fromkeys([*(expected or []), *by_unit, *missing, *contradicted, *new,
                                *overturned]))
    out = []
    for code in codes:
        u = by_unit.get(code, {})
        sat = (satisfaction or {}).get(code, _satisfaction_of(u))
        out.append(UnitFigures(
            unit=code, name_zh=names.get(code) or u.get("unit_zh") or code,
            registered=int(u.get("total") or 0), open=int(u.get("open") or 0),
            closed=int(u.get("closed") or 0), rectified=int(u.get("struck_off") or 0),
            overdue=int(u.get("overdue") or 0), stalled=int(u.get("stalled") or 0),
            missing_reports=int(missing.get(code, 0)),
            contradicted_zero=int(contradicted.get(code, 0)),
            satisfaction=float(sat) if sat is not None else None,
            new_in_month=int(new.get(code, 0)),
            rectified_on_time=int(on_time.get(code, 0)),
            overturned=int(overturned.get(code, 0))))
    return out


def on_time_counts(reports, tz) -> dict[str, int]:
    """Per unit, the problems struck off as rectified whose rectification was reported by
    the plan's deadline (整改时限, a local day): ``reports`` are (unit, deadline, reported at)."""
    counts: dict[str, int] = {}
    for unit, deadline, at in reports:
        if unit and deadline is not None and at is not None:
            if at.tzinfo is None:   # SQLite gives naive UTC
                from datetime import timezone
                at = at.replace(tzinfo=timezone.utc)
            if at.astimezone(tz).date() <= deadline:
                counts[unit] = counts.get(unit, 0) + 1
    return counts


def month_weeks(weeks: list[str], month: str) -> list[str]:
    """The reporting weeks (ISO, ``2026-W45``) counted in ``month``: each week in the month
    its Sunday falls in, so every week is counted in exactly one bulletin."""
    check_month(month)
    return [w for w in weeks if week_bounds(w)[1].strftime("%Y-%m") == month]
