"""Who hears of what (通知). Plain rules: a newly registered problem is announced to the
county office (县委办公室), which dispatches it; later issues add units and deadlines."""
from __future__ import annotations

from dataclasses import dataclass

from contracts.vocabulary import EventName as E

COUNTY_OFFICE = "county_office"


@dataclass(frozen=True)
class Notice:
    recipient: str
    subject_zh: str
    subject_en: str
    ref: str


def on_problem_registered(problem_id: str, title: str) -> list[Notice]:
    return [Notice(recipient=COUNTY_OFFICE,
                   subject_zh=f"新问题已登记入台账,待交办:{title}",
                   subject_en=f"New problem registered, awaiting dispatch: {title}",
                   ref=problem_id)]


# Who hears of each lifecycle step: the unit when the ball is in its court, the supervising
# body when it has something to decide, the county office when a problem is struck off.
TO_UNIT = {E.DISPATCHED, E.REASSIGNED, E.PLAN_REJECTED, E.UNFOUNDED_REJECTED,
           E.RECTIFICATION_REJECTED, E.PROGRESS_CHECKED, E.REOPENED, E.REPORTER_SUPPLEMENTED}
TO_SUPERVISOR = {E.VERIFIED, E.CLOSURE_UNFOUNDED, E.RECTIFICATION_REPORTED, E.REOPENED,
                 E.REPORTER_SUPPLEMENTED, E.SATISFACTION_RATED}
TO_COUNTY = {E.STRUCK_OFF, E.UNFOUNDED_ACCEPTED, E.TRANSFERRED}
SUBJECTS: dict[E, tuple[str, str]] = {
    E.DISPATCHED: ("问题已交办,请按期反馈", "A problem was dispatched to you"),
    E.REASSIGNED: ("问题已转办至本单位", "A problem was reassigned to your unit"),
    E.VERIFIED: ("单位已查实并提交整改计划,待审核", "Verified; rectification plan awaits review"),
    E.CLOSURE_UNFOUNDED: ("单位报告查否,待审核", "Reported unfounded; awaits review"),
    E.PLAN_REJECTED: ("整改计划被退回", "Rectification plan sent back"),
    E.UNFOUNDED_REJECTED: ("查否结论被退回", "Unfounded finding sent back"),
    E.PROGRESS_CHECKED: ("整改落实情况检查结果", "Progress check recorded"),
    E.RECTIFICATION_REPORTED: ("单位报告整改完成,待销号", "Rectification reported; awaits strike-off"),
    E.RECTIFICATION_REJECTED: ("整改结果被退回", "Rectification sent back"),
    E.STRUCK_OFF: ("问题已销号", "Problem struck off"),
    E.UNFOUNDED_ACCEPTED: ("查否结论已认可", "Unfounded finding accepted"),
    E.TRANSFERRED: ("问题已移交", "Problem transferred"),
    E.REOPENED: ("问题被重新启动", "Problem reopened"),
    E.REPORTER_SUPPLEMENTED: ("举报人补充了情况或照片", "The reporter added information"),
    E.SATISFACTION_RATED: ("举报人作出回访满意度评价", "The reporter rated the outcome"),
}


def on_problem_transitioned(name: str, problem_id: str, unit: str | None,
                            supervisor: str | None) -> list[Notice]:
    zh, en = SUBJECTS.get(name, (name, name))
    recipients = []
    if name in TO_UNIT and unit:
        recipients.append(unit)
    if name in TO_SUPERVISOR:
        recipients.append(supervisor or COUNTY_OFFICE)
    if name in TO_COUNTY:
        recipients.append(COUNTY_OFFICE)
    return [Notice(recipient=r, subject_zh=zh, subject_en=en, ref=problem_id)
            for r in dict.fromkeys(recipients)]


def on_work_plan_filed(plan_id: str, unit: str, supervisor: str | None) -> list[Notice]:
    return [Notice(recipient=supervisor or COUNTY_OFFICE,
                   subject_zh=f"单位 {unit} 报送清理工作方案,请备案",
                   subject_en=f"Unit {unit} filed its work plan for acknowledgement",
                   ref=plan_id)]
