"""Words of the workbench in Chinese and English.

The action specifications (``contracts.actions``) describe their fields partly in English,
partly in Chinese; what a form needs beyond that (a label in each language, a hint) is here,
keyed by field name. A field this table does not know still gets a label, derived from its
description (the Chinese in it, else the whole) or its name.
"""
from __future__ import annotations

import re

from contracts.vocabulary import (
    Action, HandlingClass, ProgressFlag, ReopenSource, Role, Seriousness, SeverityLevel, State,
    STATE_LABELS_ZH,
)

CJK = re.compile(r"[\u4e00-\u9fff]")

# field name (or dotted path) -> (Chinese, English)
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "plan": ("整改计划", "Rectification plan"),
    "plan.measures": ("整改措施", "Measures"),
    "plan.target": ("整改目标", "Target"),
    "plan.deadline": ("整改时限", "Deadline"),
    "plan.lead_official": ("牵头领导", "Lead official"),
    "plan.responsible_unit": ("责任单位", "Responsible unit"),
    "plan.responsible_person": ("具体责任人", "Responsible person"),
    "plan.handling": ("整改类别", "Handling class"),
    "plan.milestones": ("阶段目标", "Milestones"),
    "title": ("阶段目标", "Milestone"),
    "due_on": ("完成日期", "Due on"),
    "seriousness": ("问题性质认定", "Seriousness"),
    "note": ("说明", "Note"),
    "on_behalf_of": ("代为办理的单位", "Acting for unit"),
    "reason": ("理由", "Reason"),
    "findings": ("查否情况", "Findings"),
    "evidence": ("佐证材料", "Evidence"),
    "description": ("材料说明", "What it shows"),
    "sha256": ("文件", "File"),
    "milestone_done": ("已完成的阶段目标", "Milestone now done"),
    # the supervising body's and the county office's decisions (审核与督办决定)
    "unit": ("承办单位", "Unit"),
    "respond_by": ("答复期限", "Answer by"),
    "respond_days": ("办理时限（工作日）", "Working days to answer"),
    "new_deadline": ("新的整改时限", "New deadline"),
    "flags": ("检查发现的问题", "Findings of the check"),
    "flag": ("问题标记", "Finding"),
    "source": ("重新启动的来源", "Why it is reopened"),
    "into": ("合并到（保留的问题）", "Merge into (the problem kept)"),
    "to": ("移交至", "Transferred to"),
    "partner": ("移交至协作平台", "To a partner platform"),
    "decision": ("处理决定", "Decision"),
}

# labels of the acting inputs (代为办理), told apart by their specification's description
ACTING_MARK = "代为办理"
ACTING_LABELS: dict[str, tuple[str, str]] = {
    "reason": ("代为办理的理由", "Why you act for the unit"),
}

# keys of a history entry's data (办理过程), where they differ from the actions' fields
TIMELINE_LABELS: dict[str, tuple[str, str]] = {
    "role": ("角色", "Role"), "from": ("原状态", "From"), "to": ("新状态", "To"),
    "clue_id": ("线索编号", "Clue"), "channel": ("线索来源", "Channel"),
    "unit": ("承办单位", "Unit"), "respond_by": ("答复期限", "Answer by"),
    "respond_days": ("办理时限（工作日）", "Working days to answer"),
    "rectify_by": ("整改时限", "Rectify by"), "decide_by": ("审核期限", "Decision due"),
    "duplicate_suggestions": ("疑似重复问题", "Possible duplicates"),
    "title": ("标题", "Title"), "plan_id": ("工作方案编号", "Work plan"),
}

FIELD_HINTS: dict[str, tuple[str, str]] = {
    "partner": ("选择协作平台时，问题经签名回调推送给该平台；“移交至”可不填，默认为平台名称（举报人可见）。",
                "A partner platform receives the case by signed webhook; “Transferred to” may "
                "stay empty: it defaults to the platform's name (the reporter sees it)."),
    "plan.measures": ("写明具体采取的整改措施。", "What will be done, concretely."),
    "plan.target": ("整改要达到的效果。", "What the rectification must achieve."),
    "plan.deadline": ("不能早于今天。", "Not before today."),
    "plan.handling": ("持续整改须填写阶段目标。", "A long-term plan needs milestones."),
    "plan.milestones": ("持续整改须至少填写一项；其他类别可不填。",
                        "At least one for a long-term plan; optional otherwise."),
    "on_behalf_of": ("县委办公室代单位办理时必填，须为该问题的承办单位。",
                     "Required when the county office acts for the unit: the problem's unit."),
    "evidence": ("每项写明说明，并附上文件（照片、PDF 等）。",
                 "Describe each item and attach its file (a photo, a PDF …)."),
    "sha256": ("照片、PDF、Office 文档或视频，按文件内容识别类型。",
               "A photo, PDF, Office document or video, typed by its content."),
    "milestone_done": ("填写整改计划中阶段目标的序号（从 0 开始），没有可不填。",
                       "The number of the plan's milestone now done (from 0); may be empty."),
    "unit": ("输入单位名称，从列表中选择。", "Type the unit's name and choose it from the list."),
    "plan.responsible_unit": ("输入单位名称，从列表中选择。",
                              "Type the unit's name and choose it from the list."),
    "respond_by": ("与“办理时限”二选一；都不填则按专项工作规定的时限。",
                   "Either this or the working days; neither: the campaign's default."),
    "respond_days": ("与“答复期限”二选一。", "Either this or the answer date."),
    "new_deadline": ("标记问题时必填。", "Required when you flag a finding."),
}
ACTING_HINTS: dict[str, tuple[str, str]] = {
    "reason": ("代为办理时必填。", "Required when acting for the unit."),
}

CHOICES: dict[type, dict[str, tuple[str, str]]] = {
    HandlingClass: {"immediate": ("立行立改", "Immediately"),
                    "time_limited": ("限时整改", "Within a time limit"),
                    "long_term": ("持续整改", "Long-term, with milestones")},
    Seriousness: {"ordinary": ("一般", "Ordinary"), "serious": ("严重典型", "Serious")},
    SeverityLevel: {"lighter": ("从轻", "Lighter"), "standard": ("一般", "Standard"),
                    "stricter": ("从严", "Stricter")},
    ProgressFlag: {"slow_progress": ("整改进度慢", "Slow progress"),
                   "inadequate": ("整改不到位", "Inadequate"),
                   "poor_effect": ("整改效果不佳", "Poor effect")},
    ReopenSource: {"spot_check": ("抽查", "Spot check"), "look_back": ("回头看", "Look-back"),
                   "reporter_dispute": ("举报人异议", "Reporter's dispute")},
}

STATE_LABELS_EN = {State.REGISTERED: "Registered", State.DISPATCHED: "Dispatched",
                   State.VERIFIED: "Verified, plan awaiting approval",
                   State.UNFOUNDED: "Unfounded, awaiting acceptance",
                   State.RECTIFYING: "Rectifying",
                   State.RECTIFIED: "Rectified, awaiting strike-off",
                   State.CLOSED: "Closed"}

ROLE_LABELS_EN = {Role.PUBLIC: "Public", Role.UNIT_HANDLER: "Unit handler",
                  Role.SUPERVISOR: "Supervising body", Role.COUNTY_OFFICE: "County office",
                  Role.MEDIA: "Media team", Role.SPOT_CHECK: "Spot-check team", Role.OPS: "Ops",
                  Role.INVITED_SUPERVISOR: "Invited supervisor", Role.PARTNER: "Partner platform",
                  Role.CUSTODIAN: "Contact custodian"}

LIGHTS = {"green": ("绿灯：按期办理中", "Green: on time"),
          "yellow": ("黄灯：即将到期", "Yellow: due soon"),
          "red": ("红灯：已超期", "Red: overdue")}

HISTORY_ACTIONS_EXTRA = {"register": ("登记入台账", "Registered"),
                         "registered": ("登记入台账", "Registered"),
                         "link_clue": ("关联线索", "Clue linked"),
                         "contact_opened": ("联系方式启封", "Contact opened")}


def state_label(state: str, lang: str) -> str:
    try:
        s = State(state)
    except ValueError:
        return state
    return STATE_LABELS_ZH[s] if lang == "zh" else STATE_LABELS_EN[s]


def role_label(role: Role, lang: str) -> str:
    from gateway.auth.roles import ROLE_LABELS_ZH

    return ROLE_LABELS_ZH[role] if lang == "zh" else ROLE_LABELS_EN[role]


def action_label(action: str, lang: str) -> str:
    from contracts.actions import SPECS

    try:
        spec = SPECS[Action(action)]
    except ValueError:
        zh, en = HISTORY_ACTIONS_EXTRA.get(action, (action, action))
        return zh if lang == "zh" else en
    return spec.summary_zh if lang == "zh" else spec.summary_en.capitalize()


def _from_description(description: str | None) -> tuple[str | None, str | None]:
    """(Chinese, English) read off a spec's description such as "what it shows (说明)"."""
    if not description:
        return None, None
    inner = re.search(r"\(([^()]*)\)\s*$", description)
    if inner and CJK.search(inner.group(1)):
        english = description[:inner.start()].strip() or None
        return inner.group(1).strip(), english
    if CJK.search(description):
        return description.split(",")[0].strip(), None
    return None, description


def field_label(path: str, name: str, description: str | None) -> tuple[str, str]:
    """(Chinese, English) label of a field; ``path`` is dotted without list indices."""
    if ACTING_MARK in (description or "") and name in ACTING_LABELS:
        return ACTING_LABELS[name]
    known = FIELD_LABELS.get(path) or FIELD_LABELS.get(name)
    if known:
        return known
    zh, en = _from_description(description)
    fallback = name.replace("_", " ").capitalize()
    return zh or en or fallback, en or fallback


def field_hint(path: str, name: str, description: str | None = None) -> tuple[str, str] | None:
    if ACTING_MARK in (description or "") and name in ACTING_HINTS:
        return ACTING_HINTS[name]
    return FIELD_HINTS.get(path) or FIELD_HINTS.get(name)


def choice_label(enum: type, value: str) -> tuple[str, str]:
    return CHOICES.get(enum, {}).get(value, (value, value))


def _choice_anywhere(value: str) -> tuple[str, str] | None:
    for choices in CHOICES.values():
        if value in choices:
            return choices[value]
    return None


def readable(data, lang: str, units: dict[str, str], prefix: str = ""):
    """A history entry's or a plan's data for people: labels for keys, names for codes.

    Returns a list of (label, value) where value is text or, for a nested object or list,
    another such structure (a list of them for a list)."""
    if isinstance(data, dict):
        rows = []
        for key, value in data.items():
            if value in (None, "", [], {}, ()):
                continue
            zh, en = (TIMELINE_LABELS[key] if not prefix and key in TIMELINE_LABELS
                      else field_label(f"{prefix}{key}", key, None))
            if key in ("from", "to") and not prefix:
                value = state_label(str(value), lang)
            elif key == "role" and not prefix and value in set(Role):
                value = role_label(Role(value), lang)
            rows.append((en if lang == "en" else zh,
                         readable(value, lang, units, f"{prefix}{key}.")))
        return rows
    if isinstance(data, (list, tuple)):
        return [readable(item, lang, units, prefix) for item in data]
    if isinstance(data, str):
        if data in units:
            return units[data]
        choice = _choice_anywhere(data)
        if choice:
            return choice[1] if lang == "en" else choice[0]
    if isinstance(data, bool):
        return ("是" if data else "否") if lang == "zh" else ("yes" if data else "no")
    return str(data)
