"""Words of the supervisor's and the county office's action forms (审核与督办决定)."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "actions.group.unit": ("本单位办理", "The unit's answer"),
    "actions.group.decision": ("审核与督办决定", "Decisions of the supervising body"),
    "actions.group.unit_lead": ("承办单位的答复与整改。", "The unit's answers and rectification."),
    "actions.group.decision_lead": ("交办、审核、检查、销号、合并、移交和计时等决定。",
                                    "Dispatch, approval, checks, strike-off, merging, transfer "
                                    "and timers."),
    "actions.irreversible": ("不可撤回", "Cannot be undone"),
    "actions.confirm.strike_off": (
        "销号后问题即办结，不能撤回；只有抽查、回头看或举报人异议才能重新启动。请确认整改已验收到位。",
        "Striking off closes the problem for good; only a spot check, a look-back or the "
        "reporter's dispute can reopen it. Confirm the rectification was checked."),
    "actions.confirm.accept_unfounded": (
        "认可查否后问题即以“查否”办结，不能撤回；只有抽查、回头看或举报人异议才能重新启动。",
        "Accepting closes the problem as unfounded for good; only a spot check, a look-back or "
        "the reporter's dispute can reopen it."),
    "actions.confirm.transfer_out": (
        "移交后问题在本台账中办结，不能撤回，由接收机关处理。",
        "Transferring closes the problem in this ledger for good; the receiving body handles "
        "it."),
    "actions.confirm_box": ("我已核实，确认{action}", "I have checked; confirm: {action}"),
    "actions.confirm_required": ("请勾选确认后再提交", "Tick the confirmation to submit"),
    "actions.confirm_label": ("确认", "Confirmation"),
    "actions.unit_list": ("单位名称列表", "Units"),
    "actions.merge.title": ("疑似重复问题对照", "Possible duplicates side by side"),
    "actions.merge.lead": ("本问题与台账登记时发现的疑似重复问题对照如下。选择要保留的问题，本问题将并入该问题并以“合并”办结；线索及其来源全部保留，可撤销合并。",
                           "This problem beside the possible duplicates the ledger found at "
                           "registration. Choose the problem to keep: this one is merged into "
                           "it and closed as merged; every clue and its channel is kept, and "
                           "the merge can be undone."),
    "actions.merge.similarity": ("相似度", "Similarity"),
    "actions.merge.this": ("本问题（将并入所选问题）", "This problem (merged into the one chosen)"),
    "actions.merge.candidates": ("选择保留的问题", "Choose the problem to keep"),
    "actions.merge.none": ("台账未发现疑似重复问题；如确属重复，请在下方填写要保留的问题编号。",
                           "The ledger found no possible duplicate; if this is one, give the "
                           "number of the problem to keep below."),
    "actions.merge.other": ("或填写其他问题编号", "Or give another problem's number"),
    "actions.merge.other_hint": ("未在上方选择时使用。", "Used when none is chosen above."),
    "actions.merge.score": ("文字相似度 {score}", "text similarity {score}"),
    "actions.merge.closed": ("已办结，不能作为保留的问题", "Closed: cannot be the one kept"),
    "actions.merge.keep_this": ("改为保留本问题（将该问题并入本问题）",
                                "Keep this problem instead (merge that one into this)"),
    "actions.merge.id": ("问题编号", "Number"),
    "actions.merge.registered": ("登记时间", "Registered"),
    "actions.merge.unseen": ("问题 {id} 未找到，或您无权查看", "Problem {id}: not found or not visible to you"),
    "actions.unmerge.lead": ("本问题已并入以下问题；撤销合并后本问题恢复为“已登记”，其线索回到本问题。",
                             "This problem was merged into the one below; undoing the merge "
                             "makes it registered again and takes its clue back."),
    "actions.severity.title": ("台账建议", "The ledger's advice"),
    "actions.severity.lead": ("宽严相济：建议仅供参考，由有权限的人员作出决定，决定与建议并列记入台账。",
                              "Advice only: a person with authority decides; the decision is "
                              "kept beside the advice."),
    "actions.severity.advice": ("建议", "Advice"),
    "actions.severity.why": ("理由", "Why"),
    "actions.severity.none": ("尚无建议（问题查实后才有）。", "No advice yet (it comes with verification)."),
    "actions.severity.decided": ("已作出的决定", "Decision already recorded"),
    "actions.severity.advised": ("（台账建议）", "(the ledger's advice)"),
    "actions.level.lighter": ("从轻", "Lighter"),
    "actions.level.standard": ("一般", "Standard"),
    "actions.level.stricter": ("从严", "Stricter"),
    "actions.unmerge.into": ("已并入", "Merged into"),
    "actions.not_offered": ("问题当前状态下通常不能执行此操作；提交后将由台账作出判断。",
                            "This action is not usually possible in the problem's state; the "
                            "ledger decides when you submit."),
}
