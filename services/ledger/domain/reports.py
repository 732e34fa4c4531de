"""Weekly reports (周报告), zero reports (零报告), the summary report (总结报告) and the campaign's
calendar of deadlines: pure rules.

The plan (四(四)一): "每周 … 按分管渠道报送工作进展和清理(问责)情况 … 没有发现问题的实行零报告". Each
unit (乡镇, 县直部门, school, county enterprise) files its week with its supervising body, the
one its reporting line names in the campaign file (``reporting_lines`` and ``reports_to``: 乡镇 →
县委办公室, party departments → 县直机关党委, government departments → 县监察局, schools →
县教育局, county enterprises → 县财政局(国资局)). A unit that found nothing files a zero report,
signed by the person filing. Filing again for the same week is an amendment with a reason and its
own chain entry; a zero report is withdrawn only by such an amendment.

Deadlines (``Deadline``) are working days (法定工作日) by the campaign's calendar, so nothing is
ever due, reminded or listed on a holiday:

| step | weekly report of week W | summary report, work plan |
|---|---|---|
| reminder 催报 | the due day (the ``due_workdays``-th working day after W's Sunday) | ``remind_workdays`` working days before the due day |
| missing 未报 | the next working day after the due day | the same |
| escalation proposal 提请问责 | ``escalate_workdays`` working days after the due day | the same |

A week without a single working day (a whole holiday week, e.g. 国庆) is not a reporting week.
A zero report is **contradicted** (与实际不符) when the same week the unit was the subject of a
clue from any channel, or it had open problems: the spot-check team reads the list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from kit.periods import iso_week, week_bounds, weeks_between

WEEKLY, ZERO, SUMMARY = "weekly", "zero", "summary"
KINDS = (WEEKLY, ZERO, SUMMARY)
KIND_ZH = {WEEKLY: "周报告", ZERO: "零报告", SUMMARY: "总结报告"}
SUMMARY_PERIOD = "summary"
WORK_PLAN = "work_plan"
UNIT_TYPES = ("township", "party_department", "government_department", "school", "enterprise")
# The figures a weekly report carries (清理(问责)情况), with their Chinese labels.
FIGURES = {"found": "发现问题数", "rectified": "已整改数", "cleaned_up": "清理事项数",
           "held_accountable": "问责人数"}
MAX_FIGURE = 1_000_000
STEPS = ("reminder", "missing", "escalation")
STEP_ZH = {"reminder": "催报提醒", "missing": "未按时报送", "escalation": "提请问责"}
MEASURE_STATUSES = {"issued": "已出台", "planned": "计划出台"}


class ReportRefused(ValueError):
    """A report or register entry refused: ``code`` (in ``kit.errors.CODES``), ``field``, and
    the reason in English and Chinese."""

    def __init__(self, code: str, field_name: str | None, message: str, message_zh: str,
                 status: str = "invalid"):
        super().__init__(message)
        self.code, self.field, self.message_zh, self.status = code, field_name, message_zh, status


@dataclass(frozen=True)
class Rules:
    """When reports are due, from the campaign file's ``reporting`` section."""

    due_workdays: int = 1          # the week's report is due this many working days after Sunday
    remind_workdays: int = 3       # summary and work plan: reminded this many working days before
    escalate_workdays: int = 2     # missing this many working days after the due day → escalation

    @classmethod
    def of(cls, campaign) -> Rules:
        section = campaign.reporting
        return cls(due_workdays=section.due_workdays, remind_workdays=section.remind_workdays,
                   escalate_workdays=section.escalate_workdays)


# ── who files where ────────────────────────────────────────────────────────────────────────
def reporting_units(campaign) -> list:
    """The organizations that file weekly reports: every unit on a reporting line."""
    return [o for o in campaign.organizations if o.type in campaign.reporting_lines]


def supervising_body(campaign, unit: str) -> str:
    """The body a unit reports to, by its reporting line (按分管渠道)."""
    org = campaign.organization(unit)
    if org is None or org.type not in campaign.reporting_lines:
        raise ReportRefused("not_a_reporting_unit", "unit", f"{unit!r} files no weekly reports",
                            "该单位不是报送周报告的单位")
    return campaign.reporting_lines[org.type]


def check_filer(campaign, actor, unit: str) -> str:
    """The filer belongs to the unit (a handler of it); returns the unit's supervising body."""
    if actor.role != "unit_handler" or actor.org_code != unit:
        raise ReportRefused("not_own_unit_report", "unit",
                            f"you may file reports for your own unit only, not {unit!r}",
                            "只能报送本单位的报告", status="forbidden")
    return supervising_body(campaign, unit)


# ── what a report says ─────────────────────────────────────────────────────────────────────
def check_figures(kind: str, figures: dict | None) -> dict:
    """Whole numbers from 0; rectified ≤ found; a zero report carries none (all zero)."""
    if kind not in KINDS:
        raise ReportRefused("invalid_report", "kind", f"kind is one of {', '.join(KINDS)}",
                            "报告类型应为 weekly(周报告)、zero(零报告)或 summary(总结报告)")
    figures = dict(figures or {})
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        raise ReportRefused("invalid_report", f"figures.{unknown[0]}",
                            f"unknown figure {unknown[0]!r}", "不是报告中的统计项")
    clean = {}
    for name, label in FIGURES.items():
        value = figures.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReportRefused("invalid_report", f"figures.{name}", "a whole number",
                                f"{label}应为整数")
        if value < 0:
            raise ReportRefused("negative_count", f"figures.{name}",
                                f"{name} may not be negative", f"{label}不能为负数")
        if value > MAX_FIGURE:
            raise ReportRefused("invalid_report", f"figures.{name}", f"{name} is too large",
                                f"{label}过大")
        clean[name] = value
    if clean["rectified"] > clean["found"]:
        raise ReportRefused("rectified_exceeds_found", "figures.rectified",
                            "rectified may not exceed found", "已整改数不能大于发现问题数")
    if kind == ZERO and any(clean.values()):
        raise ReportRefused("invalid_report", "figures",
                            "a zero report states that nothing was found: all figures 0",
                            "零报告表示未发现问题,各项数字应为0")
    return clean


def check_text(kind: str, text: str | None, document_sha256: str | None) -> str:
    text = (text or "").strip()
    if kind == ZERO and not text:
        text = "本周未发现不作为、乱作为、慢作为问题。"
    if not 2 <= len(text) <= 20000:
        raise ReportRefused("invalid_report", "text", "2 to 20,000 characters",
                            "报告内容应为 2 至 20000 个字符")
    if kind == SUMMARY and not document_sha256:
        raise ReportRefused("invalid_report", "document_sha256",
                            "the summary report is filed with its document",
                            "总结报告须附报告文件")
    return text


def check_period(campaign, kind: str, period: str, today: date) -> tuple[date, date]:
    """The period a report is for, ended by ``today`` and inside the campaign."""
    if kind == SUMMARY:
        if period != SUMMARY_PERIOD:
            raise ReportRefused("invalid_report", "period", "the summary report's period is "
                                "'summary'", "总结报告的报告期应为 summary")
        return campaign.campaign.start, campaign.campaign.end
    try:
        monday, sunday = week_bounds(period)
    except ValueError:
        raise ReportRefused("invalid_report", "period", "a week, e.g. 2017-W23",
                            "报告周应为形如 2017-W23 的周次") from None
    if sunday >= today:
        raise ReportRefused("week_not_ended", "period", f"the week {period} has not ended yet",
                            f"{period} 周尚未结束,不能报送")
    info = campaign.campaign
    if sunday < info.start or monday > info.end:
        raise ReportRefused("invalid_report", "period", f"{period} lies outside the campaign",
                            "该周不在专项工作期间")
    return monday, sunday


def check_amendment(current, reason: str | None) -> str | None:
    """A report already filed for the period is amended only with a reason (更正说明)."""
    reason = (reason or "").strip()
    if current is None:
        return reason or None
    if not 5 <= len(reason) <= 1000:
        raise ReportRefused("amendment_reason_required", "reason",
                            "this period was filed already: amending it needs a reason "
                            "(5 to 1,000 characters)",
                            "该报告期已报送,更正须说明理由(5 至 1000 个字符)")
    return reason


def contradiction(kind: str, clues_in_week: int, open_problems: int) -> dict | None:
    """Why a zero report contradicts the ledger (零报告与台账不符), or None."""
    if kind != ZERO or not (clues_in_week or open_problems):
        return None
    return {"clues_in_week": clues_in_week, "open_problems": open_problems}


# ── deadlines ──────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Deadline:
    """Something every reporting unit owes by ``due_on``: a week's report, the summary
    report, the work plan. ``steps`` maps each working day to what happens on it."""

    what: str         # weekly | summary | work_plan
    period: str       # 2017-W40 | summary | work_plan
    due_on: date
    steps: dict = field(default_factory=dict, compare=False)   # date -> step


def _steps(calendar, due: date, remind_on: date, rules: Rules) -> dict:
    return {remind_on: "reminder", calendar.add_workdays(due, 1): "missing",
            calendar.add_workdays(due, rules.escalate_workdays): "escalation"}


def reporting_weeks(campaign, calendar) -> list[str]:
    """The campaign's reporting weeks: each ISO week with a working day in the campaign."""
    info = campaign.campaign
    weeks = []
    for key in weeks_between(info.start, info.end):
        monday, sunday = week_bounds(key)
        days = [monday + timedelta(days=n) for n in range(7)]
        if any(info.start <= d <= info.end and calendar.is_workday(d) for d in days):
            weeks.append(key)
    return weeks


def weekly_deadline(calendar, week: str, rules: Rules) -> Deadline:
    _, sunday = week_bounds(week)
    due = calendar.add_workdays(sunday, rules.due_workdays)
    return Deadline("weekly", week, due, _steps(calendar, due, due, rules))


def _last_workday_on_or_before(calendar, day: date) -> date:
    while not calendar.is_workday(day):
        day -= timedelta(days=1)
    return day


def campaign_deadlines(campaign, calendar, rules: Rules) -> list[Deadline]:
    """Every deadline of the campaign: each reporting week, the work plan (by the end of the
    first phase, 制定方案) and the summary report (总结报告, ``summary_report_due``)."""
    found = [weekly_deadline(calendar, week, rules)
             for week in reporting_weeks(campaign, calendar)]
    for what, period, due in ((WORK_PLAN, WORK_PLAN, campaign.phases[0].end),
                              (SUMMARY, SUMMARY_PERIOD, campaign.campaign.summary_report_due)):
        due = _last_workday_on_or_before(calendar, due)
        remind = calendar.subtract_workdays(due, rules.remind_workdays)
        found.append(Deadline(what, period, due, _steps(calendar, due, remind, rules)))
    return found


def steps_on(day: date, deadlines: list[Deadline]) -> list[tuple[Deadline, str]]:
    """What is due on ``day``: (deadline, step) pairs."""
    return [(d, d.steps[day]) for d in deadlines if day in d.steps]


def phases_starting(campaign, calendar, day: date) -> list:
    """Phases whose first working day is ``day`` (announced once, never on a holiday)."""
    starting = []
    for phase in campaign.phases:
        first = phase.start
        while not calendar.is_workday(first):
            first += timedelta(days=1)
        if first == day:
            starting.append(phase)
    return starting


def is_late(deadline: Deadline, filed_on: date) -> bool:
    return filed_on > deadline.due_on


def week_of(day: date) -> str:
    return iso_week(day)


# ── 建章立制: the register of institutions per unit ────────────────────────────────────────────
def check_measure(title: str | None, status: str | None, on: date | None, today: date) -> str:
    """A measure (制度) is issued (已出台, on a day gone by) or planned (计划出台, with a date)."""
    title = (title or "").strip()
    if not 2 <= len(title) <= 200:
        raise ReportRefused("invalid_measure", "title", "2 to 200 characters",
                            "制度名称应为 2 至 200 个字符")
    if status not in MEASURE_STATUSES:
        raise ReportRefused("invalid_measure", "status", "issued or planned",
                            "状态应为 issued(已出台)或 planned(计划出台)")
    if on is None:
        raise ReportRefused("invalid_measure", "on", "required, as a date YYYY-MM-DD",
                            "日期为必填项,格式应为 YYYY-MM-DD")
    if status == "issued" and on > today:
        raise ReportRefused("invalid_measure", "on", "an issued measure's date lies in the past",
                            "已出台制度的日期不能晚于今天")
    return title
