"""What a decision's form shows beside its inputs, read from the ledger (办理决定的参考信息):

* merge (合并): this problem and the duplicate suggestions the ledger made at registration
  (``details.duplicate_suggestions``), side by side: title, unit, category, registration
  date, a description excerpt, state and text similarity;
* unmerge (撤销合并): the problem this one was merged into;
* severity (宽严相济): the ledger's advice (``severity_advice``) and its reasons
  (``severity_reasons``), beside the decision;
* transfer (移交): the partner platforms to choose from (``offer_partners``).

The ledger decides scope: a suggestion the caller may not see is named, not shown.
"""
from __future__ import annotations

import asyncio

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from contracts.vocabulary import Action, State
from gateway.broker import RemoteCallError
from gateway.routes.problems import actor
from gateway.workbench import decisions
from gateway.workbench.labels import state_label
from gateway.workbench.pages import lang_of, principal_in
from kit.errors import refusal_from_reply

MAX_CANDIDATES = 6


async def extras(request: Request, action: Action, problem: dict, *,
                 into: str | None = None) -> dict:
    """The context of ``action``'s form on ``problem`` (empty for most actions)."""
    if action is Action.MERGE:
        return {"merge": await merge_view(request, problem, into)}
    if action is Action.UNMERGE and problem.get("merged_into"):
        found = await _fetch(request, problem["merged_into"])
        return {"merged_into": card(request, found, problem["merged_into"])}
    if action is Action.DECIDE_SEVERITY:
        return {"severity": severity_view(problem)}
    return {}


async def offer_partners(request: Request, form) -> None:
    """The transfer form's ``partner`` input becomes a choice among the active partners."""
    if form.spec.action is not Action.TRANSFER_OUT:
        return
    partners = await run_in_threadpool(request.app.state.partners.list)
    for item in form.inputs:
        if item.name == "partner":
            item.kind, item.choices = "select", decisions.partner_choices(partners)


async def _fetch(request: Request, problem_id: str) -> dict | None:
    try:
        return await request.app.state.broker.call(
            "ledger", "get_problem", problem_id=str(problem_id)[:64],
            actor=actor(principal_in(request)))
    except RemoteCallError as exc:
        refusal = refusal_from_reply(exc.error)
        if refusal is None or refusal.status != 404:
            raise
        return None


def card(request: Request, problem: dict | None, problem_id: str, score=None) -> dict:
    """One side of the comparison; ``seen`` False when the ledger shows the caller nothing."""
    if problem is None:
        return {"id": problem_id, "seen": False, "score": score}
    campaign, lang = request.app.state.campaign, lang_of(request)

    def name(item, code):
        return (item.name_en if lang == "en" else item.name_zh) if item else (code or "—")
    return {
        "id": problem["id"], "seen": True, "score": score, "title": problem.get("title"),
        "unit": name(campaign.organization(problem.get("unit") or ""), problem.get("unit")),
        "category": name(campaign.category(problem.get("category") or ""),
                         problem.get("category")),
        "registered_at": (problem.get("registered_at") or "")[:16].replace("T", " "),
        "excerpt": decisions.excerpt(problem.get("description")),
        "state": state_label(problem.get("state") or "", lang),
        "open": problem.get("state") != State.CLOSED.value,
        "mergeable": problem.get("state") == State.REGISTERED.value
        and not problem.get("suspended"),
    }


async def merge_view(request: Request, problem: dict, into: str | None) -> dict:
    suggestions = [s for s in (problem.get("details") or {}).get("duplicate_suggestions") or []
                   if isinstance(s, dict) and s.get("problem_id")][:MAX_CANDIDATES]
    ids = [str(s["problem_id"]) for s in suggestions]
    scores = {str(s["problem_id"]): s.get("score") for s in suggestions}
    if into and into not in ids and into != problem["id"]:
        ids.append(into)  # "keep this one instead", from the other problem's form
    found = await asyncio.gather(*(_fetch(request, pid) for pid in ids))
    return {"this": card(request, problem, problem["id"]),
            "candidates": [card(request, p, pid, scores.get(pid)) for pid, p in zip(ids, found)]}


def severity_view(problem: dict) -> dict:
    reasons = problem.get("severity_reasons") or {}
    advice = problem.get("severity_advice")
    same = reasons.get("level") == advice
    return {"advice": advice, "decision": problem.get("severity_decision"),
            "reasons": reasons.get("reasons") or [] if same else [],
            "reasons_zh": reasons.get("reasons_zh") or [] if same else []}
