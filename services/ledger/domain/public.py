"""What the reporter may see and do (举报人可见的办理进度与回访), plain Python.

The follow-up page shows a case's stages with their dates, derived from the hash-chained
history: registered 已登记, dispatched 已交办, verified 已核实 or unfounded 查否, rectified
已整改, struck off 已销号, reopened 重新办理 (and merged, transferred). Only steps that stand
are shown: a plan sent back (退回整改计划) takes its "verified" away, a rectification sent
back its "rectified"; an unfounded finding shows once the supervising body accepted it.
Nothing internal reaches the reporter: no account, no unit handler, no note, no plan.

**The words about findings** (向举报人公开的办理情况) come from ``public_findings``, a field
of ``report_unfounded`` and ``report_rectified`` (the unit writes it beside its internal
findings) and of ``accept_unfounded`` and ``strike_off`` (the deciding body may rewrite
it; its words win). Without it the reporter reads a standard sentence: the internal findings
may name people, the reporter included, so they are never shown as written.

**Satisfaction** (回访满意度): once the case is rectified (reported, or struck off) or closed
as unfounded, the reporter answers satisfied 满意, basically satisfied 基本满意 or not satisfied
不满意 (a reason required). One answer per receipt per outcome: a second answer to the same
outcome is refused (``AlreadyRated``, kept as first given: the history is append-only); once
a reopened case reaches a new outcome, the reporter is asked again.
"""
from __future__ import annotations

from contracts.vocabulary import (
    PUBLIC_STAGE_LABELS, SATISFACTION_LABELS, Action, Outcome, PublicStage, Satisfaction, State,
)

A, P = Action, PublicStage

STANDARD_WORDS: dict[PublicStage, tuple[str, str]] = {
    P.REGISTERED: ("您的举报已登记入台账。", "Your report is registered in the ledger."),
    P.DISPATCHED: ("已交承办单位办理。", "Handed to the responsible unit."),
    P.VERIFIED: ("经核查，反映的问题属实，承办单位已制定整改方案。",
                 "Checked: the problem is real, and the unit has a rectification plan."),
    P.UNFOUNDED: ("经核查，反映的问题不属实。", "Checked: the report was found unfounded."),
    P.RECTIFIED: ("承办单位已报告整改完成，正在审核。",
                  "The unit reports the problem rectified; this is being reviewed."),
    P.STRUCK_OFF: ("整改已通过审核，予以销号。", "The rectification passed review; struck off."),
    P.REOPENED: ("问题已重新启动办理。", "The case is being handled again."),
    P.MERGED: ("与反映同一问题的其他举报合并办理。",
               "Handled together with other reports of the same problem."),
    P.TRANSFERRED: ("已移交有关部门办理。", "Transferred to the competent authority."),
    P.SUPPLEMENTED: ("您补充了情况。", "You added information."),
}
RATED_SINCE = (State.RECTIFIED, State.CLOSED)
RATED_OUTCOMES = (None, Outcome.RECTIFIED, Outcome.UNFOUNDED)


class AlreadyRated(Exception):
    """This receipt has answered the return visit for this outcome already."""


class ReasonRequired(ValueError):
    """Not satisfied, without a reason."""


def _stage(kind: PublicStage, at: str, text: str | None = None, **extra) -> dict:
    zh, en = PUBLIC_STAGE_LABELS[kind]
    words_zh, words_en = STANDARD_WORDS[kind]
    return {"stage": kind.value, "label_zh": zh, "label_en": en, "at": at,
            "public_findings": text or None, "standard_zh": words_zh,
            "standard_en": words_en, **extra}


def _drop_last(stages: list[dict], kind: PublicStage) -> None:
    """Take back the latest stage of ``kind`` since the case was last reopened."""
    for i in range(len(stages) - 1, -1, -1):
        if stages[i]["stage"] == P.REOPENED.value:
            return
        if stages[i]["stage"] == kind.value:
            del stages[i]
            return


def public_stages(timeline: list[dict], reporter: str | None = None) -> list[dict]:
    """The stages the reporter may see, oldest first, from a problem's history entries
    (``{"action", "actor", "at", "data"}``). ``reporter``: the reporter's pseudonymous actor
    name; their own supplements are shown (without their content), nobody else's."""
    stages: list[dict] = []
    pending_unfounded: str | None = None
    for entry in timeline:
        action, at, data = entry.get("action"), entry.get("at"), entry.get("data") or {}
        words = data.get("public_findings")
        if action == "register":
            stages.append(_stage(P.REGISTERED, at))
        elif action == A.DISPATCH:
            stages.append(_stage(P.DISPATCHED, at))
        elif action == A.VERIFY:
            stages.append(_stage(P.VERIFIED, at))
        elif action == A.REJECT_PLAN:
            _drop_last(stages, P.VERIFIED)
        elif action == A.REPORT_UNFOUNDED:
            pending_unfounded = words
        elif action == A.REJECT_UNFOUNDED:
            pending_unfounded = None
        elif action == A.ACCEPT_UNFOUNDED:
            stages.append(_stage(P.UNFOUNDED, at, words or pending_unfounded))
        elif action == A.REPORT_RECTIFIED:
            stages.append(_stage(P.RECTIFIED, at, words))
        elif action == A.REJECT_RECTIFICATION:
            _drop_last(stages, P.RECTIFIED)
        elif action == A.STRIKE_OFF:
            stages.append(_stage(P.STRUCK_OFF, at, words))
        elif action == A.REOPEN:
            pending_unfounded = None
            stages.append(_stage(P.REOPENED, at))
        elif action == A.MERGE:
            stages.append(_stage(P.MERGED, at))
        elif action == A.UNMERGE:
            _drop_last(stages, P.MERGED)
        elif action == A.TRANSFER_OUT:
            stages.append(transferred_stage(at, data))
        elif action == A.REPORTER_SUPPLEMENT and reporter and entry.get("actor") == reporter:
            stages.append(_stage(P.SUPPLEMENTED, at, photos=len(data.get("photos") or ())))
    return stages


def transferred_stage(at: str, data: dict) -> dict:
    """移交: to a partner platform, the reporter reads where it went (its public name, the
    ``to`` the gateway filled from the partner's name); to anywhere else, the standard words
    only (a free-text destination is the staff's, not written for the reporter). Never the
    reason."""
    destination = data.get("to") if data.get("partner") else None
    if not destination:
        return _stage(P.TRANSFERRED, at)
    return _stage(P.TRANSFERRED, at, f"已移交至{destination}办理。", destination=destination)


# ── Supplements and the return visit (补充材料 · 回访满意度) ──────────────────────────────────

def may_supplement(state: State) -> bool:
    """The reporter adds information while the case is open (not once it is closed)."""
    return state is not State.CLOSED


def rating_round(details: dict) -> int:
    """Which outcome an answer is about: each reopening starts a new one."""
    return len(details.get("reopened") or ())


def rating_of(details: dict, by: str) -> dict | None:
    """This reporter's answer about the current outcome, if given."""
    current = rating_round(details)
    return next((r for r in details.get("satisfaction") or ()
                 if r.get("by") == by and r.get("round") == current), None)


def ratable(state: State, outcome: Outcome | None) -> bool:
    """Rectified (reported or struck off) or closed as unfounded: the outcome to rate."""
    return state in RATED_SINCE and outcome in RATED_OUTCOMES


def may_rate(state: State, outcome: Outcome | None, details: dict, by: str) -> bool:
    return ratable(state, outcome) and rating_of(details, by) is None


def rate(details: dict, *, by: str, satisfaction: Satisfaction, reason: str | None,
         on: str) -> dict:
    """Record one answer in ``details`` and return it (``AlreadyRated``, ``ReasonRequired``
    otherwise). The caller has checked the state (``ratable``), as the action's
    specification does."""
    if satisfaction is Satisfaction.NOT_SATISFIED and not (reason or "").strip():
        raise ReasonRequired("reason")
    if rating_of(details, by) is not None:
        raise AlreadyRated(by)
    zh, en = SATISFACTION_LABELS[satisfaction]
    record = {"by": by, "round": rating_round(details), "satisfaction": satisfaction.value,
              "satisfaction_zh": zh, "reason": reason or None, "on": on}
    details.setdefault("satisfaction", []).append(record)
    return record


def public_rating(record: dict | None) -> dict | None:
    """A reporter's own answer as the follow-up page shows it back."""
    if record is None:
        return None
    value = Satisfaction(record["satisfaction"])
    zh, en = SATISFACTION_LABELS[value]
    return {"satisfaction": value.value, "label_zh": zh, "label_en": en, "on": record["on"]}
