"""The ledger's words (台账用语), one home for every service and the gateway.

States, outcomes, actions, the events they publish, the roles that act and the small sets of
codes an action's input takes. Each is a ``StrEnum``: its members are their own wire value
(``State.CLOSED == "closed"``), so a message or a stored row compares equal without
conversion. What each action may do, from which state, by whom and with what input is in
``contracts.actions``; everything else derives from these two modules.
"""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a problem stands in its life (问题状态)."""

    REGISTERED = "registered"    # 已登记, awaiting dispatch
    DISPATCHED = "dispatched"    # 已交办, awaiting the unit's answer
    VERIFIED = "verified"        # 已查实, plan awaiting approval
    UNFOUNDED = "unfounded"      # 查否, awaiting the supervisor's acceptance
    RECTIFYING = "rectifying"    # 整改中
    RECTIFIED = "rectified"      # 已整改, awaiting strike-off
    CLOSED = "closed"            # 已办结 (the outcome says how)


class Outcome(StrEnum):
    """How a closed problem was closed (办结结果)."""

    RECTIFIED = "rectified"      # 整改完成, 销号
    UNFOUNDED = "unfounded"      # 查否
    MERGED = "merged"            # 重复线索, 合并
    TRANSFERRED = "transferred"  # 移交


class Action(StrEnum):
    """What someone does to a problem (办理操作); one specification each in
    ``contracts.actions.SPECS``."""

    DISPATCH = "dispatch"                          # 交办
    REASSIGN = "reassign"                          # 转办
    VERIFY = "verify"                              # 查实
    REPORT_UNFOUNDED = "report_unfounded"          # 查否
    APPROVE_PLAN = "approve_plan"                  # 审核通过整改计划
    REJECT_PLAN = "reject_plan"                    # 退回整改计划
    ACCEPT_UNFOUNDED = "accept_unfounded"          # 认可查否
    REJECT_UNFOUNDED = "reject_unfounded"          # 退回查否
    RECORD_PROGRESS = "record_progress"            # 报告整改进展
    CHECK_PROGRESS = "check_progress"              # 整改落实情况检查
    REPORT_RECTIFIED = "report_rectified"          # 报告整改完成
    REJECT_RECTIFICATION = "reject_rectification"  # 退回整改
    STRIKE_OFF = "strike_off"                      # 销号
    REOPEN = "reopen"                              # 重新启动
    MERGE = "merge"                                # 合并重复线索
    UNMERGE = "unmerge"                            # 撤销合并
    TRANSFER_OUT = "transfer_out"                  # 移交
    SUSPEND = "suspend"                            # 中止计时
    RESUME = "resume"                              # 恢复计时
    DECIDE_SEVERITY = "decide_severity"            # 宽严相济处理决定
    REPORTER_SUPPLEMENT = "reporter_supplement"    # 举报人补充材料 (the reporter, by receipt)
    RATE_SATISFACTION = "rate_satisfaction"        # 回访满意度评价 (the reporter, by receipt)
    PUBLISH = "publish"                            # 公开曝光 (典型案例, the public page)
    UNPUBLISH = "unpublish"                        # 撤销公开曝光


class EventName(StrEnum):
    """What happened (past tense), published by the ledger as ``problem.<name>``."""

    DISPATCHED = "dispatched"
    REASSIGNED = "reassigned"
    VERIFIED = "verified"
    CLOSURE_UNFOUNDED = "closure_unfounded"
    PLAN_APPROVED = "plan_approved"
    PLAN_REJECTED = "plan_rejected"
    UNFOUNDED_ACCEPTED = "unfounded_accepted"
    UNFOUNDED_REJECTED = "unfounded_rejected"
    PROGRESS_RECORDED = "progress_recorded"
    PROGRESS_CHECKED = "progress_checked"
    RECTIFICATION_REPORTED = "rectification_reported"
    RECTIFICATION_REJECTED = "rectification_rejected"
    STRUCK_OFF = "struck_off"
    REOPENED = "reopened"
    MERGED = "merged"
    UNMERGED = "unmerged"
    TRANSFERRED = "transferred"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    SEVERITY_DECIDED = "severity_decided"
    REPORTER_SUPPLEMENTED = "reporter_supplemented"
    SATISFACTION_RATED = "satisfaction_rated"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


class ClockAlert(StrEnum):
    """A threshold a problem's clock crosses (催办), published as ``clock.<name>``
    (``contracts.events.ProblemClockAlert``)."""

    DUE_SOON = "due_soon"    # 即将到期 (黄灯)
    OVERDUE = "overdue"      # 已超期 (红灯)
    STALLED = "stalled"      # 长期无进展 (红灯)


class CycleEvent(StrEnum):
    """What the reporting rhythm and the campaign's calendar publish as ``cycle.<name>``
    (``contracts.events.ReportCycleEvent``)."""

    REPORT_FILED = "report_filed"                # 报告已报送
    REPORT_AMENDED = "report_amended"            # 报告已更正
    REPORT_DUE = "report_due"                  # 催报: the report is due (a reminder)
    REPORT_MISSING = "report_missing"            # 未按时报送
    ESCALATION_PROPOSED = "escalation_proposed"  # 提请问责
    ZERO_CONTRADICTED = "zero_contradicted"      # 零报告与台账不符
    PHASE_STARTED = "phase_started"              # 进入新阶段
    SUMMARY_FORWARDED = "summary_forwarded"      # 系统汇总已报县委办
    BULLETIN_DRAFTED = "bulletin_drafted"        # 月通报数据已生成, 待审阅发布


class Role(StrEnum):
    """The role an account holds (角色). Every gateway endpoint names the roles that may
    call it; ``gateway.auth.roles`` re-exports this enum with the roles' Chinese labels."""

    PUBLIC = "public"                # anyone, no token (群众、举报人)
    UNIT_HANDLER = "unit_handler"    # a unit's handler (承办人), tied to one organization
    SUPERVISOR = "supervisor"        # a supervising body (系统分管部门), tied to its organization
    COUNTY_OFFICE = "county_office"  # the county party office (县委办公室)
    MEDIA = "media"                  # the publicity department's media team (县委宣传部)
    SPOT_CHECK = "spot_check"        # the spot-check team (抽查组)
    OPS = "ops"                      # operations (运维)
    INVITED_SUPERVISOR = "invited_supervisor"  # an invited supervisor (特邀监督员)
    PARTNER = "partner"              # a partner platform (协作平台: 作风整顿 / 纪委 platforms)
    CUSTODIAN = "custodian"          # the contact custodian (联系方式保管人, e.g. 纪检)


class Party(StrEnum):
    """Someone who acts on a problem without an account (无账号的一方), so never a ``Role``:
    no token, no account and no gateway endpoint names it.

    ``REPORTER``: the reporter of the problem's clue (举报人), who reaches exactly the
    problem their receipt code (回执码) leads to. The gateway finds that problem by the code
    and asks the ledger to act as this party; the reporter's actions are to dispute a
    closure (异议, ``reopen`` with source ``reporter_dispute``), to add information and
    photos to an open case (补充材料, ``reporter_supplement``) and to say whether the
    outcome satisfies them (回访满意度, ``rate_satisfaction``)."""

    REPORTER = "reporter"


class Reach(StrEnum):
    """Which problems an actor reaches (办理范围)."""

    OWN_UNIT = "own_unit"        # the problems of the actor's own unit (本单位)
    OWN_SYSTEM = "own_system"    # the problems of the units the actor's body supervises (本系统)
    ALL = "all"                  # every problem (全县)
    OWN_CLUE = "own_clue"        # the one problem of the actor's own clue (本人举报)
    NONE = "none"                # none


REACH: dict[Role | Party, Reach] = {
    Role.UNIT_HANDLER: Reach.OWN_UNIT,
    Role.SUPERVISOR: Reach.OWN_SYSTEM,
    Role.COUNTY_OFFICE: Reach.ALL,
    Role.SPOT_CHECK: Reach.ALL,
    Party.REPORTER: Reach.OWN_CLUE,
}
"""The reach of each actor in the ledger; an actor not listed reaches nothing."""


def actor_kind(value: object) -> Role | Party | None:
    """The role or party named by ``value`` (as it travels on the wire), or None."""
    for kind in (Role, Party):
        try:
            return kind(value)
        except ValueError:
            continue
    return None


# ── Codes an action's input takes ───────────────────────────────────────────────────────────

class HandlingClass(StrEnum):
    """How a rectification is handled (整改类别)."""

    IMMEDIATE = "immediate"        # 立行立改
    TIME_LIMITED = "time_limited"  # 限时整改
    LONG_TERM = "long_term"        # 持续整改, with milestones


class Seriousness(StrEnum):
    ORDINARY = "ordinary"          # 一般
    SERIOUS = "serious"            # 严重典型


class SeverityLevel(StrEnum):
    """The handling decided (宽严相济)."""

    LIGHTER = "lighter"            # 从轻
    STANDARD = "standard"          # 一般
    STRICTER = "stricter"          # 从严


class ProgressFlag(StrEnum):
    """What a progress check (整改落实情况检查) may find."""

    SLOW_PROGRESS = "slow_progress"  # 整改进度慢
    INADEQUATE = "inadequate"        # 整改不到位
    POOR_EFFECT = "poor_effect"      # 整改效果不佳


class ReopenSource(StrEnum):
    """Why a closed problem is reopened."""

    SPOT_CHECK = "spot_check"              # 抽查
    LOOK_BACK = "look_back"                # 回头看
    REPORTER_DISPUTE = "reporter_dispute"  # 举报人异议


class Satisfaction(StrEnum):
    """The reporter's answer to the return visit (回访满意度)."""

    SATISFIED = "satisfied"                      # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    NOT_SATISFIED = "not_satisfied"              # 不满意 (a reason is required)


SATISFACTION_LABELS: dict[Satisfaction, tuple[str, str]] = {
    Satisfaction.SATISFIED: ("满意", "Satisfied"),
    Satisfaction.BASICALLY_SATISFIED: ("基本满意", "Basically satisfied"),
    Satisfaction.NOT_SATISFIED: ("不满意", "Not satisfied"),
}


class PublicStage(StrEnum):
    """A stage of a case the reporter may see on the follow-up page (举报人可见的办理环节).
    Derived from the history by ``services.ledger.domain.public``; never a name, a note or
    anything else internal."""

    REGISTERED = "registered"      # 已登记
    DISPATCHED = "dispatched"      # 已交办
    VERIFIED = "verified"          # 已核实 (查实, a rectification plan is made)
    UNFOUNDED = "unfounded"        # 查否 (accepted by the supervising body)
    RECTIFIED = "rectified"        # 已整改 (reported, awaiting strike-off)
    STRUCK_OFF = "struck_off"      # 已销号
    REOPENED = "reopened"          # 重新办理
    MERGED = "merged"              # 合并办理
    TRANSFERRED = "transferred"    # 已移交
    SUPPLEMENTED = "supplemented"  # 您补充了材料 (the reporter's own)


PUBLIC_STAGE_LABELS: dict[PublicStage, tuple[str, str]] = {
    PublicStage.REGISTERED: ("已登记", "Registered"),
    PublicStage.DISPATCHED: ("已交办", "Dispatched to the responsible unit"),
    PublicStage.VERIFIED: ("已核实", "Verified; a rectification plan is made"),
    PublicStage.UNFOUNDED: ("查否", "Found unfounded"),
    PublicStage.RECTIFIED: ("已整改", "Rectified"),
    PublicStage.STRUCK_OFF: ("已销号", "Struck off"),
    PublicStage.REOPENED: ("重新办理", "Reopened"),
    PublicStage.MERGED: ("合并办理", "Merged with another report"),
    PublicStage.TRANSFERRED: ("已移交", "Transferred"),
    PublicStage.SUPPLEMENTED: ("您补充了材料", "You added information"),
}


STATE_LABELS_ZH: dict[State, str] = {
    State.REGISTERED: "已登记", State.DISPATCHED: "已交办", State.VERIFIED: "已查实",
    State.UNFOUNDED: "查否待认可", State.RECTIFYING: "整改中", State.RECTIFIED: "已整改待销号",
    State.CLOSED: "已办结",
}
FLAG_LABELS_ZH: dict[ProgressFlag, str] = {
    ProgressFlag.SLOW_PROGRESS: "整改进度慢", ProgressFlag.INADEQUATE: "整改不到位",
    ProgressFlag.POOR_EFFECT: "整改效果不佳",
}
REOPEN_SOURCE_LABELS_ZH: dict[ReopenSource, str] = {
    ReopenSource.SPOT_CHECK: "抽查", ReopenSource.LOOK_BACK: "回头看",
    ReopenSource.REPORTER_DISPUTE: "举报人异议",
}


# ── Spot checks (查否复查, 抽查零报告, 回头看) and the accountability ladder (严格责任追究) ────────
# The method is ../shared/AUDIT-SAMPLING.md; the audit service (services/audit) keeps the words.

class Stratum(StrEnum):
    """What a sampled item is (抽查层): each stratum has its own tolerable rate and risk limit
    in the campaign file (``spot_checks.strata``)."""

    ORDINARY = "ordinary"                    # 查否, ordinary category (一般类别的查否问题)
    HIGH_SEVERITY = "high_severity"          # 查否, category of severity high (重点类别的查否问题)
    ZERO_REPORT = "zero_report"              # 零报告
    ZERO_CONTRADICTED = "zero_contradicted"  # 与台账不符的零报告
    LOOK_BACK = "look_back"                  # 已销号问题 (回头看)


STRATUM_LABELS: dict[Stratum, tuple[str, str]] = {
    Stratum.ORDINARY: ("查否问题(一般类别)", "Unfounded closures, ordinary categories"),
    Stratum.HIGH_SEVERITY: ("查否问题(重点类别)", "Unfounded closures, high-severity categories"),
    Stratum.ZERO_REPORT: ("零报告", "Zero reports"),
    Stratum.ZERO_CONTRADICTED: ("与台账不符的零报告", "Zero reports the ledger contradicts"),
    Stratum.LOOK_BACK: ("已销号问题(回头看)", "Struck-off problems (look-back)"),
}


class RecheckVerdict(StrEnum):
    """A re-checker's outcome for one sampled item (复查结论). ``NOT_PRODUCED`` counts as
    wrong (AUDIT-SAMPLING.md: an item that cannot be produced is a wrong closure)."""

    UPHELD = "upheld"              # 结论属实 (closure upheld)
    WRONG = "wrong"                # 结论不实, 问题属实 (closure wrong, the problem is real)
    NOT_PRODUCED = "not_produced"  # 无法提供材料 (counts as wrong)


RECHECK_VERDICT_LABELS: dict[RecheckVerdict, tuple[str, str]] = {
    RecheckVerdict.UPHELD: ("结论属实", "Closure upheld"),
    RecheckVerdict.WRONG: ("结论不实，问题属实", "Closure wrong; the problem is real"),
    RecheckVerdict.NOT_PRODUCED: ("无法提供材料(按不实计)",
                                  "Could not be produced (counts as wrong)"),
}


class UnitDecision(StrEnum):
    """What the statistics decide for a unit's practice in a stratum and period (抽查结论).
    Every confirmed wrong closure is its own accountability case regardless."""

    CLEARED = "cleared"              # 通过
    KEEP_SAMPLING = "keep_sampling"  # 继续抽查
    FULL_REVIEW = "full_review"      # 全面复查


UNIT_DECISION_LABELS: dict[UnitDecision, tuple[str, str]] = {
    UnitDecision.CLEARED: ("通过", "Cleared"),
    UnitDecision.KEEP_SAMPLING: ("继续抽查", "Keep sampling"),
    UnitDecision.FULL_REVIEW: ("全面复查", "Full review"),
}


class LadderStep(StrEnum):
    """The accountability ladder (严格责任追究), in order: a step cannot be skipped unless a
    person of the county office records a reason the campaign file allows."""

    NOTICE = "notice"                  # 通报, 限期整改
    INTERVIEW = "interview"            # 约谈主要负责人
    ACCOUNTABILITY = "accountability"  # 责任追究和问责


LADDER_ORDER: tuple[LadderStep, ...] = (LadderStep.NOTICE, LadderStep.INTERVIEW,
                                        LadderStep.ACCOUNTABILITY)
LADDER_STEP_LABELS: dict[LadderStep, tuple[str, str]] = {
    LadderStep.NOTICE: ("通报，限期整改", "Notice with a deadline"),
    LadderStep.INTERVIEW: ("约谈主要负责人", "Interview of the principal head"),
    LadderStep.ACCOUNTABILITY: ("责任追究和问责", "Accountability"),
}


class LadderTrigger(StrEnum):
    """What a ladder proposal rests on (提出依据); the campaign file's ``accountability``
    section says which step each proposes."""

    WRONG_CLOSURE = "wrong_closure"              # 复查确认查否不实
    OVERDUE = "overdue"                          # 问题超期未办
    MISSING_REPORTS = "missing_reports"          # 未按时报送周报告
    ZERO_CONTRADICTED = "zero_contradicted"      # 零报告与台账不符
    FULL_REVIEW_FAILED = "full_review_failed"    # 全面复查未通过
    PERFUNCTORY = "perfunctory"                  # 暗访发现走过场
    FALSIFIED = "falsified"                      # 暗访发现弄虚作假
    INTERVIEW_INEFFECTIVE = "interview_ineffective"  # 约谈后效果依然不明显


LADDER_TRIGGER_LABELS: dict[LadderTrigger, tuple[str, str]] = {
    LadderTrigger.WRONG_CLOSURE: ("复查确认查否不实", "Re-check found a closure wrong"),
    LadderTrigger.OVERDUE: ("问题超期未办", "Problems overdue past the threshold"),
    LadderTrigger.MISSING_REPORTS: ("未按时报送周报告", "Weekly reports missing"),
    LadderTrigger.ZERO_CONTRADICTED: ("零报告与台账不符", "Zero report contradicted by the ledger"),
    LadderTrigger.FULL_REVIEW_FAILED: ("全面复查未通过", "Full review failed"),
    LadderTrigger.PERFUNCTORY: ("暗访发现走过场", "Covert inspection found it perfunctory"),
    LadderTrigger.FALSIFIED: ("暗访发现弄虚作假", "Covert inspection found falsification"),
    LadderTrigger.INTERVIEW_INEFFECTIVE: ("约谈后效果依然不明显",
                                          "No improvement after the interview"),
}


class ProposalStatus(StrEnum):
    """A ladder proposal waits for a person of the county office (never taken automatically)."""

    PROPOSED = "proposed"    # 待决定
    CONFIRMED = "confirmed"  # 已确认
    DISMISSED = "dismissed"  # 不予采纳 (with a reason; not proposed again for the same facts)


class ChainRecord(StrEnum):
    """What other services write into the ledger's hash chain (留痕), beside the problems'
    history: ``ledger.append_record(actor, kind, key, record)``, idempotent per (kind, key)."""

    SPOT_CHECK_MANIFEST = "spot_check_manifest"  # 抽查样本框 (manifest SHA-256 + parameters)
    SPOT_CHECK_SEED = "spot_check_seed"          # 抽查随机种子 (who entered it, when)
    SPOT_CHECK_CLOSED = "spot_check_closed"      # 抽查轮次结束 (per-unit results)
    ACCOUNTABILITY_STEP = "accountability_step"  # 问责阶梯的一步 (通报/约谈/问责)
