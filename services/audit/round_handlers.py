"""Spot-check rounds' use cases (抽查轮次): keep the population from the ledger's events, open a
round (freeze its manifest), put its steps on the ledger's hash chain, take the seed and
draw, assign and record re-checks, close it with the figures per unit and stratum.

Each use case takes a unit of work on the audit store; the chain is reached through
``append(kind, key, record)`` (the ledger's ``append_record`` RPC, idempotent per key), called
only after the audit's own commit. A crash between the two leaves the round's entry missing,
which ``publish_pending`` (on every later step and on the service's timer) appends again:
same key, same record, so the ledger answers with the first entry."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from datetime import datetime, timezone
from typing import Callable

from contracts.events import ProblemTransitioned, RecheckRecorded, ReportCycleEvent, \
    SpotCheckConcluded
from contracts.vocabulary import ChainRecord, RecheckVerdict, Stratum
from kit.uow import AlreadyProcessed, UnitOfWork
from services.audit import domain, handlers
from services.audit import rounds as rules
from services.audit import sampling
from services.audit.adapters import rounds as store
from services.audit.rounds import RoundKind, RoundRefused, RoundStatus

log = logging.getLogger(__name__)
Append = Callable[[str, str, dict], dict]
SHA256 = re.compile(r"^[0-9a-f]{64}$")
DOWNLOADS = ("manifest.tsv", "params.json", "seed.txt", "verdicts.json", "results.json")


def _consumed(uow: UnitOfWork, event_id: str) -> bool:
    try:
        uow.consume_once(event_id)
    except AlreadyProcessed:
        return True
    return False


# --- the population -------------------------------------------------------------------------

def observe_transition(uow: UnitOfWork, msg: ProblemTransitioned, campaign) -> None:
    """Once per message: ``transition``."""
    with uow:
        if not _consumed(uow, msg.event_id):
            transition(uow, msg, campaign)
        uow.commit()


def transition(uow: UnitOfWork, msg: ProblemTransitioned, campaign) -> None:
    """A problem's transition: kept as an observation (with outcome and category) and applied
    to the population (the caller applies each message once)."""
    handlers.keep(uow, domain.observe(msg.event_id, f"problem.{msg.name}", msg.problem_id,
                                      msg.unit, outcome=msg.outcome, category=msg.category))
    record_transition(uow, msg, campaign)


def record_transition(uow: UnitOfWork, msg: ProblemTransitioned, campaign) -> None:
    """The population after a problem's transition; the caller applies each message once
    (the observation's inbox mark, ``handlers.record``)."""
    with uow:
        current = store.get_item(uow.session, msg.problem_id, lock=True)
        changed = rules.after_transition(
            current, name=msg.name, problem_id=msg.problem_id, to_state=msg.to_state,
            outcome=msg.outcome, unit=msg.unit, category=msg.category,
            history_seq=msg.history_seq, occurred_at=msg.occurred_at, campaign=campaign)
        if changed is not None:
            store.put_item(uow.session, changed)
        uow.commit()


def record_report(uow: UnitOfWork, msg: ReportCycleEvent) -> None:
    """Once per message: ``report``."""
    with uow:
        if not _consumed(uow, msg.event_id):
            report(uow, msg)
        uow.commit()


def report(uow: UnitOfWork, msg: ReportCycleEvent) -> None:
    """Zero reports (零报告) and reports filed or amended: the population (the caller applies
    each message once)."""
    if msg.name in ("report_filed", "report_amended", "zero_contradicted") and msg.report_id:
        if msg.name == "report_amended":
            _drop_superseded(uow, msg.unit, msg.period, msg.report_id)
        current = store.get_item(uow.session, msg.report_id, lock=True)
        changed = rules.after_report(current, name=msg.name, kind=msg.kind,
                                     report_id=msg.report_id, unit=msg.unit,
                                     week=msg.period, occurred_at=msg.occurred_at)
        if changed is not None:
            store.put_item(uow.session, changed)


def _drop_superseded(uow, unit, week, report_id) -> None:
    """An amended report replaces the week's earlier zero report (it is no longer the unit's
    word for that week)."""
    from sqlalchemy import and_, update
    t = store.population
    uow.session.execute(update(t).where(and_(t.c.unit == unit, t.c.week == week,
                                             t.c.item_id != report_id))
                        .values(active=False, updated_at=store.now()))


def record_account(uow: UnitOfWork, msg) -> None:
    with uow:
        store.put_account(uow.session, account_id=msg.account_id, username=msg.username,
                          role=msg.role, org_code=msg.org_code, active=msg.active,
                          changed_at=msg.occurred_at)
        uow.commit()


# --- parameters and the sampler -------------------------------------------------------------

def params_of(campaign, kind: RoundKind, period: str,
              stratum: Stratum | None = None) -> "sampling.Params":
    """The round's parameters from the campaign file, limited to the strata it samples."""
    strata = [stratum.value] if stratum is not None else \
        [s.value for s in rules.STRATA_OF_KIND[kind]]
    return sampling.Params.from_campaign(campaign.spot_checks, period=period, kind=kind.value,
                                         strata=strata)


def _items(population) -> list:
    return [sampling.Item(i.item_id, i.unit, i.stratum.value) for i in population]


# --- opening, the chain ---------------------------------------------------------------------

def open_round(uow: UnitOfWork, campaign, actor: dict, *, kind: str, period: str,
               unit: str | None = None, stratum: str | None = None) -> str:
    """Freeze the population of the round in its manifest (样本框), with the parameters."""
    rules.require_spot_checker(actor)
    chosen, period, unit, stratum_ = rules.check_opening(kind, period, unit, stratum, campaign)
    with uow:
        population = rules.round_population(store.items_of_period(uow.session, period),
                                            chosen, period, unit, stratum_)
        if not population:
            raise RoundRefused("conflict", "empty_population",
                               "nothing in this period to sample for this kind of round",
                               "该期间没有可供本类抽查的事项", "period")
        manifest = sampling.manifest_bytes(_items(population))
        params = sampling.params_bytes(params_of(campaign, chosen, period, stratum_))
        round_id = uuid.uuid4().hex[:16]
        store.add_round(uow.session, round_id=round_id, kind=chosen.value, period=period,
                        unit=unit, stratum=stratum_.value if stratum_ else None,
                        status=RoundStatus.FROZEN.value, manifest=manifest,
                        manifest_sha256=sampling.manifest_digest(manifest), params=params,
                        sampler_version=sampling.SAMPLER_VERSION, population=len(population),
                        opened_by=actor["username"], opened_at=store.now())
        uow.commit()
    return round_id


def _manifest_record(r) -> dict:
    return {"round_id": r.round_id, "kind": r.kind, "period": r.period, "unit": r.unit,
            "stratum": r.stratum, "manifest_sha256": r.manifest_sha256,
            "items": r.population, "params": json.loads(r.params),
            "params_sha256": hashlib.sha256(r.params).hexdigest(),
            "sampler_version": r.sampler_version, "opened_by": r.opened_by}


def _seed_record(r) -> dict:
    return {"round_id": r.round_id, "manifest_sha256": r.manifest_sha256, "seed": r.seed,
            "entered_by": r.seed_by, "entered_at": _iso(r.seed_at)}


def _closed_record(r, results: list) -> dict:
    return {"round_id": r.round_id, "manifest_sha256": r.manifest_sha256,
            "closed_by": r.closed_by, "closed_at": _iso(r.closed_at),
            "reason": r.close_reason, "results": [_result(x) for x in results]}


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def _entry(answer: dict) -> dict:
    return {"seq": int(answer["seq"]), "hash": str(answer["hash"])}


def publish_pending(uow: UnitOfWork, round_id: str, append: Append) -> None:
    """Append the round's chain entries not yet recorded here, in order (manifest, seed,
    closing). Each append is idempotent per (kind, key): a retry after a crash gets the
    first entry back."""
    key = f"round:{round_id}"
    with uow:
        r = store.get_round(uow.session, round_id)
    if r is None:
        return
    if r.manifest_entry is None:
        entry = _entry(append(ChainRecord.SPOT_CHECK_MANIFEST.value, key, _manifest_record(r)))
        with uow:
            fresh = store.get_round(uow.session, round_id, lock=True)
            values = {"manifest_entry": entry}
            if fresh.status == RoundStatus.FROZEN.value:
                values["status"] = RoundStatus.PUBLISHED.value
            store.set_round(uow.session, round_id, **values)
            uow.commit()
    if r.seed is not None and r.seed_entry is None:
        entry = _entry(append(ChainRecord.SPOT_CHECK_SEED.value, key, _seed_record(r)))
        with uow:
            store.set_round(uow.session, round_id, seed_entry=entry)
            uow.commit()
    if r.closed_at is not None and r.closed_entry is None:
        with uow:
            results = store.results(uow.session, round_id=round_id)
        entry = _entry(append(ChainRecord.SPOT_CHECK_CLOSED.value, key,
                              _closed_record(r, results)))
        with uow:
            store.set_round(uow.session, round_id, closed_entry=entry)
            uow.commit()


def publish_all_pending(uow: UnitOfWork, append: Append) -> int:
    with uow:
        pending = store.pending_chain_rounds(uow.session)
    done = 0
    for round_id in pending:
        try:
            publish_pending(uow, round_id, append)
            done += 1
        except Exception as exc:  # noqa: BLE001 - the ledger may be away; next time
            log.warning("round %s: chain entry not appended yet: %s", round_id, exc)
    return done


# --- the seed and the draw ------------------------------------------------------------------

def _round_for_update(uow, round_id: str):
    r = store.get_round(uow.session, round_id, lock=True)
    if r is None:
        raise RoundRefused("not_found", "not_found", "no such round", "未找到该抽查轮次",
                           "round_id")
    return r


def enter_seed(uow: UnitOfWork, campaign, actor: dict, round_id: str, seed: str) -> None:
    """The public seed (骰子), only after the manifest is on the chain and only once; the
    sample is drawn at once."""
    rules.require_spot_checker(actor)
    with uow:
        r = _round_for_update(uow, round_id)
        rules.check_seed_allowed(RoundStatus(r.status), r.seed is not None)
        seed = rules.check_seed_digits(seed, campaign.spot_checks.seed_min_digits)
        items = sampling.parse_manifest(r.manifest)
        drawn = sampling.draw(items, seed, sampling.parse_params(r.params))
        by_id = {i.id: i for i in items}
        rows = [_sampled_row(round_id, by_id[item_id], rank)
                for group in drawn.groups for rank, item_id in enumerate(group.sampled)]
        problem_ids = {i.item_id: i.problem_id for i in
                       store.items_of_period(uow.session, r.period)}
        for row in rows:
            row["problem_id"] = problem_ids.get(row["item_id"]) or _problem_of(uow, row)
        store.add_items(uow.session, rows)
        store.set_round(uow.session, round_id, seed=seed, seed_by=actor["username"],
                        seed_at=store.now(), status=RoundStatus.DRAWN.value)
        uow.commit()


def _problem_of(uow, row) -> str | None:
    found = store.get_item(uow.session, row["item_id"])
    return found.problem_id if found else None


def _sampled_row(round_id: str, item, rank: int) -> dict:
    return {"round_id": round_id, "item_id": item.id, "unit": item.unit,
            "stratum": item.stratum, "rank": rank, "problem_id": None}


# --- assignment and re-checks ---------------------------------------------------------------

def _open_round(uow, round_id: str):
    r = _round_for_update(uow, round_id)
    if r.status == RoundStatus.CLOSED.value:
        raise RoundRefused("conflict", "round_closed", "the round is closed",
                           "该抽查轮次已结束")
    if r.status != RoundStatus.DRAWN.value:
        raise RoundRefused("conflict", "round_not_drawn", "the sample is not drawn yet",
                           "尚未抽样")
    return r


def _sampled(uow, round_id: str, item_id: str):
    item = store.get_round_item(uow.session, round_id, item_id, lock=True)
    if item is None:
        raise RoundRefused("invalid", "not_in_sample", "the item is not in this round's sample",
                           "该事项不在本轮抽中的样本内", "item_id")
    return item


def assign(uow: UnitOfWork, campaign, actor: dict, round_id: str, *,
           item_ids: list[str] | None = None, rechecker: str | None = None) -> dict:
    """Assign sampled items to a re-checker (who must be independent of the item's unit and,
    where the campaign says so, its supervising body), or, without ``rechecker``, the round's
    unassigned items in turn to every eligible re-checker (轮流分配)."""
    rules.require_spot_checker(actor)
    with uow:
        _open_round(uow, round_id)
        people = [(p["username"], p["org_code"]) for p in store.recheckers(uow.session)]
        items = store.items_of_round(uow.session, round_id)
        if item_ids is not None:
            chosen = []
            for item_id in item_ids:
                chosen.append(_sampled(uow, round_id, item_id))
        else:
            chosen = [i for i in items if i.assigned_to is None and i.verdict is None]
        if rechecker:
            org = dict(people).get(rechecker, "missing")
            if org == "missing":
                raise RoundRefused("invalid", "unknown_rechecker",
                                   "no active spot-check account has this username",
                                   "没有该用户名的在用抽查组账号", "rechecker")
            for item in chosen:
                if item.verdict is not None:
                    raise RoundRefused("conflict", "already_rechecked",
                                       "the item is re-checked already", "该事项已复查",
                                       "item_id")
                rules.check_rechecker(item.unit, org, campaign)
            plan = {i.item_id: rechecker for i in chosen}
        else:
            load: dict[str, int] = {}
            for i in items:
                if i.assigned_to:
                    load[i.assigned_to] = load.get(i.assigned_to, 0) + 1
            plan = rules.round_robin([(i.item_id, i.unit) for i in chosen], people, campaign,
                                     load)
        at = store.now()
        for item_id, username in plan.items():
            store.set_round_item(uow.session, round_id, item_id, assigned_to=username,
                                 assigned_by=actor["username"], assigned_at=at)
        uow.commit()
    return {"assigned": plan, "left": len(chosen) - len(plan)}


def request_material(uow: UnitOfWork, actor: dict, round_id: str, item_id: str) -> None:
    """The re-checker asks the unit for its material (调取材料): from now the unit sees that
    this item of its own is being re-checked."""
    with uow:
        _open_round(uow, round_id)
        item = _sampled(uow, round_id, item_id)
        _require_assigned(item, actor)
        if item.material_requested_at is None:
            store.set_round_item(uow.session, round_id, item_id,
                                 material_requested_at=store.now())
        uow.commit()


def _require_assigned(item, actor: dict) -> None:
    if item.assigned_to != actor.get("username") or actor.get("role") != "spot_check":
        raise RoundRefused("forbidden", "not_assigned",
                           "the item is not assigned to you", "该事项未分配给您复查",
                           "item_id")


def record_recheck(uow: UnitOfWork, campaign, actor: dict, round_id: str, item_id: str, *,
                   verdict: str, findings: str, evidence: list[str] | None = None) -> dict:
    """The assigned re-checker records the outcome (复查结论) with findings and evidence; a
    wrong closure (or one not produced) is announced for the ledger to reopen."""
    with uow:
        _open_round(uow, round_id)
        item = _sampled(uow, round_id, item_id)
        _require_assigned(item, actor)
        rules.check_rechecker(item.unit, actor.get("org_code"), campaign)
        if item.verdict is not None:
            raise RoundRefused("conflict", "already_rechecked", "the item is re-checked already",
                               "该事项已复查", "item_id")
        chosen, findings = rules.check_verdict(verdict, findings)
        evidence = list(evidence or [])
        if len(evidence) > 20 or not all(isinstance(e, str) and SHA256.match(e)
                                         for e in evidence):
            raise RoundRefused("invalid", "invalid_evidence",
                               "evidence: up to 20 uploaded files' SHA-256",
                               "佐证材料应为已上传文件的摘要(最多 20 个)", "evidence")
        _record(uow, round_id, item, chosen, findings, evidence, actor["username"],
                "spot_check")
        uow.commit()
    return {"round_id": round_id, "item_id": item_id, "verdict": chosen.value}


def _record(uow, round_id, item, verdict: RecheckVerdict, findings: str, evidence: list,
            by: str, role: str) -> None:
    store.set_round_item(uow.session, round_id, item.item_id, verdict=verdict.value,
                         findings=findings, evidence=evidence, recorded_by=by,
                         recorded_at=store.now())
    source = rules.reopen_source(item.stratum, verdict)
    uow.emit(RecheckRecorded(
        event_id=f"recheck-{round_id}-{item.item_id}"[:64], round_id=round_id,
        item_id=item.item_id, stratum=item.stratum, unit=item.unit, verdict=verdict.value,
        findings=findings, recheck_by=by, recheck_role=role,
        problem_id=item.problem_id if source else None,
        reopen_source=source.value if source else None))


# --- closing --------------------------------------------------------------------------------

def _verdicts(items) -> dict[str, str]:
    return {i.item_id: i.verdict for i in items if i.verdict is not None}


def close_round(uow: UnitOfWork, campaign, actor: dict, round_id: str,
                reason: str | None = None) -> list[dict]:
    """Close the round: per unit and stratum N, n, checked, errors, the exact bound and the
    decision; one SpotCheckConcluded each. Items not re-checked need the county office's
    reason, and then count as not produced (wrong)."""
    rules.require_spot_checker(actor)
    with uow:
        r = _open_round(uow, round_id)
        items = store.items_of_round(uow.session, round_id)
        unchecked = [i for i in items if i.verdict is None]
        reason = rules.check_closing(actor, len(unchecked), reason)
        for item in unchecked:
            _record(uow, round_id, item, RecheckVerdict.NOT_PRODUCED,
                    f"未复查,按无法提供材料计 (not re-checked, counts as not produced): {reason}",
                    [], actor["username"], actor["role"])
        items = store.items_of_round(uow.session, round_id)
        figures = evaluate(r, items)
        at = store.now()
        rows = [{"round_id": round_id, "period": r.period, **f} for f in figures]
        store.add_results(uow.session, rows)
        store.set_round(uow.session, round_id, status=RoundStatus.CLOSED.value,
                        closed_by=actor["username"], closed_at=at, close_reason=reason)
        for f in figures:
            uow.emit(SpotCheckConcluded(
                event_id=hashlib.sha256(f"{round_id}|{f['unit']}|{f['stratum']}".encode())
                .hexdigest()[:32], round_id=round_id, period=r.period, unit=f["unit"],
                stratum=f["stratum"], population=f["population"], sampled=f["sampled"],
                checked=f["checked"], errors=f["errors"], upper_bound=f["upper_bound"],
                decision=f["decision"], full_review=f["full_review"],
                closed_by=actor["username"]))
        uow.commit()
    return figures


def evaluate(r, items) -> list[dict]:
    """The figures per (unit, stratum) of a round from its manifest, seed and verdicts,
    exactly as ``python -m services.audit.rederive`` computes them from the published files."""
    return [{"unit": g.unit, "stratum": g.stratum, "population": g.population,
             "sampled": g.size, "checked": g.checked, "errors": g.errors,
             "upper_bound": g.bound_text, "decision": g.decision.value,
             "full_review": g.full_review} for g in _evaluated(r, items)]


def _evaluated(r, items) -> list:
    params = sampling.parse_params(r.params)
    drawn = sampling.draw(sampling.parse_manifest(r.manifest), r.seed, params)
    return sampling.evaluate(drawn, _verdicts(items), params)


# --- reading --------------------------------------------------------------------------------

def _result(x) -> dict:
    return {"round_id": x.round_id, "period": x.period, "unit": x.unit, "stratum": x.stratum,
            "population": x.population, "sampled": x.sampled, "checked": x.checked,
            "errors": x.errors, "upper_bound": x.upper_bound, "decision": x.decision,
            "full_review": x.full_review}


def _item_view(i, *, with_findings: bool = True) -> dict:
    view = {"item_id": i.item_id, "unit": i.unit, "stratum": i.stratum,
            "problem_id": i.problem_id, "rank": i.rank, "assigned_to": i.assigned_to,
            "material_requested": i.material_requested_at is not None,
            "verdict": i.verdict, "recorded_by": i.recorded_by,
            "recorded_at": _iso(i.recorded_at)}
    if with_findings:
        view.update(findings=i.findings, evidence=list(i.evidence or []))
    return view


def _round_view(r, items=None, results=None) -> dict:
    view = {"round_id": r.round_id, "kind": r.kind, "period": r.period, "unit": r.unit,
            "stratum": r.stratum, "status": r.status, "population": r.population,
            "manifest_sha256": r.manifest_sha256,
            "params_sha256": hashlib.sha256(r.params).hexdigest(),
            "sampler_version": r.sampler_version, "opened_by": r.opened_by,
            "opened_at": _iso(r.opened_at), "manifest_entry": r.manifest_entry,
            "seed": r.seed, "seed_by": r.seed_by, "seed_at": _iso(r.seed_at),
            "seed_entry": r.seed_entry, "closed_by": r.closed_by,
            "closed_at": _iso(r.closed_at), "close_reason": r.close_reason,
            "closed_entry": r.closed_entry}
    if items is not None:
        view["items"] = [_item_view(i) for i in items]
        view["checked"] = sum(1 for i in items if i.verdict is not None)
        view["sampled"] = len(items)
    if results is not None:
        view["results"] = [_result(x) for x in results]
    return view


def get_round(uow: UnitOfWork, actor: dict, round_id: str) -> dict:
    """A round with its sample, for the spot-check team and the county office only."""
    rules.require_spot_checker(actor)
    with uow:
        r = store.get_round(uow.session, round_id)
        if r is None:
            raise RoundRefused("not_found", "not_found", "no such round", "未找到该抽查轮次")
        return _round_view(r, store.items_of_round(uow.session, round_id),
                           store.results(uow.session, round_id=round_id))


def list_rounds(uow: UnitOfWork, actor: dict, period: str | None = None) -> dict:
    rules.require_spot_checker(actor)
    with uow:
        rows = store.list_rounds(uow.session, period)
        return {"items": [{"round_id": r.round_id, "kind": r.kind, "period": r.period,
                           "unit": r.unit, "stratum": r.stratum, "status": r.status,
                           "population": r.population, "manifest_sha256": r.manifest_sha256,
                           "opened_by": r.opened_by, "opened_at": _iso(r.opened_at),
                           "closed_at": _iso(r.closed_at)} for r in rows],
                "recheckers": store.recheckers(uow.session)}


def population(uow: UnitOfWork, actor: dict, period: str) -> dict:
    rules.require_spot_checker(actor)
    period = rules.check_period(period)
    with uow:
        return {"period": period, "groups": store.population_counts(uow.session, period)}


def my_queue(uow: UnitOfWork, actor: dict) -> dict:
    """A re-checker's queue (我的复查任务): the items assigned to them, open ones first."""
    if actor.get("role") != "spot_check":
        raise RoundRefused("forbidden", "forbidden", "only re-checkers have a queue",
                           "仅抽查组人员有复查任务")
    with uow:
        rows = store.assigned_to(uow.session, actor["username"])
        return {"items": [{**_item_view(i), "round_id": i.round_id, "period": i.period,
                           "round_status": i.status} for i in rows]}


def queue_item(uow: UnitOfWork, actor: dict, round_id: str, item_id: str) -> dict:
    with uow:
        r = store.get_round(uow.session, round_id)
        item = store.get_round_item(uow.session, round_id, item_id)
        if r is None or item is None or (item.assigned_to != actor.get("username")
                                         and actor.get("role") not in rules.SPOT_CHECKERS):
            raise RoundRefused("not_found", "not_found", "no such item in your queue",
                               "您的复查任务中没有该事项")
        return {**_item_view(item), "round_id": round_id, "period": r.period,
                "round_status": r.status}


def unit_items(uow: UnitOfWork, campaign, actor: dict) -> dict:
    """What a unit (or a supervising body, for its system) may know of the rounds: its own
    items whose re-check has reached it (material requested), or of closed rounds; never
    which are merely sampled."""
    if actor.get("role") not in rules.UNIT_ROLES:
        raise RoundRefused("forbidden", "forbidden", "for units and supervising bodies",
                           "仅供承办单位和系统分管部门查看")
    org = actor.get("org_code") or ""
    units = [org] if actor["role"] == "unit_handler" else \
        [o.code for o in campaign.units_supervised_by(org)]
    with uow:
        rows = store.items_of_units(uow.session, units)
        seen = [i for i in rows if rules.unit_may_see(
            actor, i.unit, i.material_requested_at is not None,
            i.status == RoundStatus.CLOSED.value, campaign)]
        out = []
        for i in seen:
            closed = i.status == RoundStatus.CLOSED.value
            view = {"round_id": i.round_id, "period": i.period, "item_id": i.item_id,
                    "unit": i.unit, "stratum": i.stratum, "problem_id": i.problem_id,
                    "round_closed": closed}
            if closed:
                view.update(verdict=i.verdict, findings=i.findings)
            out.append(view)
        return {"items": out,
                "results": [_result(x) for x in store.results(uow.session, units=units)]}


def results(uow: UnitOfWork, campaign, actor: dict, period: str | None = None,
            unit: str | None = None) -> dict:
    """Per unit and stratum, the published figures of closed rounds (for the county office's
    dashboard and the monthly bulletin). Units and supervising bodies see their own."""
    role, org = actor.get("role"), actor.get("org_code") or ""
    if role in rules.SPOT_CHECKERS:
        units = None
    elif role == "unit_handler":
        units = [org]
    elif role == "supervisor":
        units = [o.code for o in campaign.units_supervised_by(org)]
    else:
        raise RoundRefused("forbidden", "forbidden", "this role sees no spot-check results",
                           "无权查看抽查结果")
    if period:
        period = rules.check_period(period)
    if unit:
        units = [unit] if units is None or unit in units else []
    with uow:
        rows = store.results(uow.session, period=period, units=units)
    items = [_result(x) for x in rows]
    totals: dict[str, dict] = {}
    for x in items:
        t = totals.setdefault(x["decision"], {"groups": 0})
        t["groups"] += 1
    return {"period": period, "items": items, "by_decision": totals,
            "units": sorted({x["unit"] for x in items}),
            "errors": sum(x["errors"] for x in items),
            "checked": sum(x["checked"] for x in items)}


def download(uow: UnitOfWork, actor: dict, round_id: str, name: str) -> dict:
    """The published files of a round: exactly what ``python -m services.audit.rederive``
    reads (manifest, seed, parameters, verdicts) and the results it re-derives."""
    rules.require_spot_checker(actor)
    if name not in DOWNLOADS:
        raise RoundRefused("not_found", "not_found", "no such file", "没有该文件")
    with uow:
        r = store.get_round(uow.session, round_id)
        if r is None:
            raise RoundRefused("not_found", "not_found", "no such round", "未找到该抽查轮次")
        items = store.items_of_round(uow.session, round_id)
    closed = r.status == RoundStatus.CLOSED.value
    if name == "manifest.tsv":
        body, kind = r.manifest.decode("utf-8"), "text/tab-separated-values"
    elif name == "params.json":
        body, kind = r.params.decode("utf-8"), "application/json"
    elif name == "seed.txt" and r.seed is not None:
        body, kind = r.seed + "\n", "text/plain"
    elif name == "verdicts.json" and closed:
        body, kind = verdicts_json(items), "application/json"
    elif name == "results.json" and closed:
        params = sampling.parse_params(r.params)
        body = sampling.result_bytes(_evaluated(r, items), manifest_sha256=r.manifest_sha256,
                                     seed=r.seed, params=params).decode("utf-8")
        kind = "application/json"
    else:
        raise RoundRefused("not_found", "not_ready", "the file is not published yet",
                           "该文件尚未公布")
    return {"name": name, "content_type": kind, "text": body}


def verdicts_json(items) -> str:
    return sampling.verdicts_bytes(_verdicts(items)).decode("utf-8")
