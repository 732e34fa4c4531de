"""The ledger's refusals in the caller's two languages (拒绝办理的中英文说明).

The domain raises its own exceptions with English text and the field they are about; here
each becomes one of ``kit.errors``' refusals with a snake_case code and a message that is
Chinese all through: field names get their Chinese labels, and the domain's reasons their
Chinese wording. A reason this table does not know still reads in Chinese (内容不符合要求),
never with an English tail.
"""
from __future__ import annotations

import functools
import re

from kit.bulletin import BulletinRefused
from kit.errors import Conflict, Forbidden, Invalid, NotFound, RemoteError
from services.ledger.domain.access import NotPermitted
from services.ledger.domain.actions import InvalidInput
from services.ledger.domain.lifecycle import IllegalTransition
from services.ledger.domain.plan import PlanInvalid
from services.ledger.domain.public import AlreadyRated
from services.ledger.domain.reports import ReportRefused
from services.ledger.handlers import ProblemNotFound

STATE_ZH = {"registered": "已登记", "dispatched": "已交办", "verified": "已查实",
            "unfounded": "查否待认可", "rectifying": "整改中", "rectified": "已整改待销号",
            "closed": "已办结"}
ACTION_ZH = {
    "dispatch": "交办", "reassign": "转办", "verify": "查实", "report_unfounded": "查否",
    "approve_plan": "审核通过整改计划", "reject_plan": "退回整改计划",
    "accept_unfounded": "认可查否", "reject_unfounded": "退回查否",
    "record_progress": "报告整改进展", "check_progress": "整改落实情况检查",
    "report_rectified": "报告整改完成", "reject_rectification": "退回整改",
    "strike_off": "销号", "reopen": "重新启动", "merge": "合并重复线索", "unmerge": "撤销合并",
    "transfer_out": "移交", "suspend": "中止计时", "resume": "恢复计时",
    "decide_severity": "宽严相济处理决定", "reporter_supplement": "补充材料",
    "rate_satisfaction": "回访满意度评价"}
FIELD_ZH = {
    "plan": "整改计划", "measures": "整改措施", "target": "整改目标", "deadline": "整改时限",
    "lead_official": "牵头领导", "responsible_unit": "责任单位",
    "responsible_person": "具体责任人", "handling": "整改类别", "milestones": "阶段目标",
    "title": "标题", "due_on": "完成日期", "summary": "内容摘要", "findings": "查否情况",
    "evidence": "佐证材料", "description": "说明", "sha256": "文件摘要",
    "respond_days": "办理时限(工作日)", "respond_by": "办理期限", "unit": "承办单位",
    "seriousness": "严重程度", "milestone_done": "已完成的阶段目标", "flags": "检查结论",
    "flag": "问题标记", "source": "重新启动来源", "into": "合并到的问题", "decision": "处理决定",
    "action": "操作", "plan_id": "工作方案", "phase": "工作阶段", "reason": "理由",
    "note": "说明", "new_deadline": "新的整改时限", "document_sha256": "文件摘要",
    "on_behalf_of": "代为办理的单位", "args": "操作内容", "sort": "排序方式",
    "text": "补充的情况", "photos": "照片", "satisfaction": "满意度",
    "public_findings": "向举报人公开的办理情况",
}
REASON_ZH: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"^required, as a date YYYY-MM-DD$", "为必填项,日期格式应为 YYYY-MM-DD"),
    (r"^required, an object with the plan's fields$", "为必填项,应包含整改计划的各项内容"),
    (r"^required$", "为必填项"),
    (r"^at most (\d+) characters$", r"最多 \1 个字符"),
    (r"^(\d+) to ([\d,]+) characters$", r"应为 \1 至 \2 个字符"),
    (r"^lies in the past$", "不能早于今天"),
    (r"^lies more than five years ahead$", "不能晚于五年之后"),
    (r"^after the plan's deadline$", "不能晚于整改时限"),
    (r"^at least one item of evidence is required$", "至少需要一项佐证材料"),
    (r"^a whole number of working days, 1 to 120$", "应为 1 至 120 之间的整数(工作日)"),
    (r"^unknown (unit|organization) '.*'$", "不是本次专项工作中的单位"),
    (r"^the problem is already with this unit$", "问题已由该单位承办"),
    (r"^ordinary or serious$", "应为 ordinary(一般)或 serious(严重典型)"),
    (r"^the index of one of the plan's milestones$", "应为整改计划中某一阶段目标的序号"),
    (r"^a list( of milestones)?$", "应为列表"),
    (r"^one of (.+)$", r"取值应为以下之一:\1"),
    (r"^the id of another open problem( you can see)?$", "应为另一个未办结且您有权查看的问题编号"),
    (r"^unknown action '.*'$", "不是台账支持的操作"),
    (r"^this work plan was acknowledged already$", "该工作方案已经确认备案"),
    (r"^unknown phase '.*'$", "不是本次专项工作的阶段"),
    (r"^a long-term plan \(持续整改\) needs milestones$", "持续整改的整改计划须列明阶段目标"),
))
WHY_ZH: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"^it was closed as '(\w+)'$", "该问题的办结结果不允许此操作"),
    (r"^the problem is already suspended$", "问题已中止计时"),
    (r"^the problem is not published$", "该问题未公开曝光,无需撤销"),
    (r"^the problem is suspended; resume it first$", "问题已中止计时,请先恢复计时"),
    (r"^the problem is not suspended$", "问题未中止计时"),
))
FORBIDDEN_ZH: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"may not reopen problems$", "无权重新启动问题"),
    (r"^this problem is outside your system$", "该问题不属于您所在的系统"),
    (r"^only the handler of unit .* may \w+$", "仅该问题承办单位的承办人可执行此操作"),
    (r"^only a supervising body or the county office may \w+$",
     "仅系统分管部门或县委办公室可执行此操作"),
    (r"^roll-ups are for the county office and supervising bodies$",
     "统计汇总仅供县委办公室和系统分管部门查看"),
    (r"^only a unit's handler files its unit's work plan$", "仅单位承办人可报备本单位工作方案"),
))


def field_zh(name: str) -> str:
    """``evidence[2].description`` → 佐证材料第3项的说明."""
    parts = []
    for part in name.split("."):
        match = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        if match:
            parts.append(f"{FIELD_ZH.get(match[1], '输入项')}第{int(match[2]) + 1}项")
        else:
            parts.append(FIELD_ZH.get(part, "输入项"))
    return "的".join(parts)


def _first(table, text: str, fallback: str) -> str:
    for pattern, zh in table:
        match = pattern.search(text)
        if match:
            return match.expand(zh)
    return fallback


def reason_zh(reason: str) -> str:
    return _first(REASON_ZH, reason, "内容不符合要求")


def _field_and_reason(text: str) -> tuple[str, str]:
    name, _, reason = text.partition(": ")
    return name, reason


def refusal(exc: Exception) -> RemoteError | None:
    """The refusal for a domain exception, or None when it is not one."""
    if isinstance(exc, IllegalTransition):
        state, action = exc.state.value, exc.action.value
        _, _, why = str(exc).partition(": ")
        zh = f"问题当前状态为“{STATE_ZH.get(state, state)}”,不能执行“{ACTION_ZH.get(action, action)}”"
        if why:
            zh += ":" + _first(WHY_ZH, why, "不符合办理规则")
        return Conflict(str(exc), zh + "。", "illegal_transition")
    if isinstance(exc, PlanInvalid):
        zh = ";".join(f"{field_zh(f)}{reason_zh(m)}" for f, m in exc.problems)
        first = exc.problems[0][0] if exc.problems else "plan"
        return Invalid(f"rectification plan: {exc}", f"整改计划不完整或有误:{zh}。",
                       "invalid_plan", f"plan.{first}" if first != "plan" else "plan")
    if isinstance(exc, InvalidInput):
        _, reason = _field_and_reason(str(exc))
        zh = getattr(exc, "message_zh", None) or reason_zh(reason)
        return Invalid(str(exc), f"{field_zh(exc.field)}{zh.rstrip('。')}。", "invalid_input",
                       exc.field)
    if isinstance(exc, NotPermitted):
        zh = getattr(exc, "message_zh", None) or _first(FORBIDDEN_ZH, str(exc), "无权执行此操作")
        code = "duties_not_separated" if type(exc).__name__ == "DutiesNotSeparated" \
            else "not_permitted"
        return Forbidden(str(exc), zh.rstrip("。") + "。", code)
    if isinstance(exc, AlreadyRated):
        return Conflict("this receipt has rated this outcome already; the first answer stands",
                        "您已对本次办理结果作出评价,以首次评价为准。", "already_rated")
    if isinstance(exc, (ReportRefused, BulletinRefused)):
        kind = {"forbidden": Forbidden, "not_found": NotFound,
                "conflict": Conflict}.get(exc.status, Invalid)
        return kind(str(exc), exc.message_zh.rstrip("。") + "。", exc.code, exc.field)
    if isinstance(exc, ProblemNotFound):
        return NotFound("not found: no such problem or work plan you may see",
                        "未找到该问题或工作方案,或您无权查看。", "not_found")
    return None


def refusals(fn):
    """Domain refusals leave the service as ``kit.errors`` refusals; anything else is a
    fault and propagates as it is (the gateway shows none of it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            mapped = refusal(exc)
            if mapped is None:
                raise
            raise mapped from None

    return wrapper
