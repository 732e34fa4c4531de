"""Weekly, zero and summary reports (周报告, 零报告, 总结报告), the supervising bodies' summaries
and the 建章立制 register: use cases on a ledger unit of work. Every filing, amendment,
forwarded summary and register entry is a chain entry (``uow.history``) and an event
(``contracts.events.ReportCycleEvent``)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, time, timedelta

from contracts.events import ReportCycleEvent
from contracts.vocabulary import CycleEvent
from services.ledger.adapters.orm import utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain import reports as rules
from services.ledger.domain.access import NotPermitted, visible_units
from services.ledger.domain.actions import Actor
from services.ledger.domain.reports import ReportRefused
from services.ledger.handlers.common import rules_of

READERS = ("unit_handler", "supervisor", "county_office", "spot_check")


def _calendar(campaign):
    return rules_of(campaign).calendar


def deadline_of(campaign, period: str) -> rules.Deadline:
    """The deadline of a reporting period (a week, or the summary report)."""
    reporting = rules.Rules.of(campaign)
    if period == rules.SUMMARY_PERIOD:
        return next(d for d in rules.campaign_deadlines(campaign, _calendar(campaign), reporting)
                    if d.what == rules.SUMMARY)
    return rules.weekly_deadline(_calendar(campaign), period, reporting)


def _local_bounds(monday: date, sunday: date) -> tuple[datetime, datetime]:
    return (datetime.combine(monday, time.min, tzinfo=LOCAL_TZ),
            datetime.combine(sunday + timedelta(days=1), time.min, tzinfo=LOCAL_TZ))


def file_report(uow: LedgerUnitOfWork, campaign, *, actor: Actor, unit: str, period: str,
                kind: str, figures: dict | None = None, text: str | None = None,
                document_sha256: str | None = None, reason: str | None = None,
                now: datetime | None = None) -> dict:
    """File (or amend, with a reason) a unit's report for ``period``; nothing changes on a
    refusal. A zero report is checked against the ledger: clues about the unit that week,
    or open problems, flag it as contradicted."""
    now = now or utcnow()
    today = now.astimezone(LOCAL_TZ).date()
    supervisor = rules.check_filer(campaign, actor, unit)
    clean = rules.check_figures(kind, figures)
    body = rules.check_text(kind, text, document_sha256)
    if (kind == rules.SUMMARY) != (period == rules.SUMMARY_PERIOD):
        raise ReportRefused("invalid_report", "kind", "the period 'summary' takes the summary "
                            "report, a week a weekly or zero report",
                            "报告期 summary 对应总结报告,周次对应周报告或零报告")
    monday, sunday = rules.check_period(campaign, kind, period, today)
    deadline = deadline_of(campaign, period)
    with uow:
        current = uow.reports.current(unit, period, lock=True)
        why = rules.check_amendment(current, reason)
        contradiction = None
        if kind == rules.ZERO:
            start, end = _local_bounds(monday, sunday)
            contradiction = rules.contradiction(kind, uow.reports.clues_in(unit, start, end),
                                                uow.reports.open_problems(unit))
        version = (current.version + 1) if current else 1
        report_id = uuid.uuid4().hex
        late = rules.is_late(deadline, today)
        seq = uow.history.append(
            problem_id=None, action="amend_report" if current else "file_report",
            actor=actor.username, at=now,
            data={"report_id": report_id, "unit": unit, "supervisor": supervisor,
                  "period": period, "version": version, "kind": kind, "figures": clean,
                  "text_sha256": hashlib.sha256(body.encode()).hexdigest(),
                  "document_sha256": document_sha256, "late": late, "reason": why,
                  "amends": current.id if current else None, "contradiction": contradiction})
        uow.reports.add(id=report_id, unit=unit, supervisor=supervisor, period=period,
                        version=version, kind=kind, figures=clean, text=body,
                        document_sha256=document_sha256, filed_by=actor.username, filed_at=now,
                        due_on=deadline.due_on, late=late, reason=why,
                        contradiction=contradiction, history_seq=seq)
        name = CycleEvent.REPORT_AMENDED if current else CycleEvent.REPORT_FILED
        event = dict(what="summary" if kind == rules.SUMMARY else "weekly", period=period,
                     unit=unit, unit_zh=_name(campaign, unit), supervisor=supervisor,
                     due_on=deadline.due_on, kind=kind, report_id=report_id)
        uow.emit(ReportCycleEvent(event_id=f"report-{report_id}", name=name, reason=why,
                                  **event))
        if contradiction:
            uow.emit(ReportCycleEvent(event_id=f"contradicted-{report_id}",
                                      name=CycleEvent.ZERO_CONTRADICTED, details=contradiction,
                                      **event))
        uow.commit()
    return {"id": report_id, "unit": unit, "supervisor": supervisor, "period": period,
            "version": version, "kind": kind, "late": late, "due_on": deadline.due_on.isoformat(),
            "amended": current is not None, "contradicted": contradiction is not None,
            "contradiction": contradiction, "history_seq": seq}


def _name(campaign, code: str | None) -> str | None:
    org = campaign.organization(code) if code else None
    return org.name_zh if org else None


def _scope(campaign, actor: Actor) -> list[str] | None:
    if actor.role not in READERS:
        raise NotPermitted("reports are for units, supervising bodies, the county office and "
                           "the spot-check team", "报告仅供承办单位、系统分管部门、县委办公室和抽查组查看")
    return visible_units(campaign, actor)


def report_view(row, campaign) -> dict:
    return {"id": row.id, "unit": row.unit, "unit_zh": _name(campaign, row.unit),
            "supervisor": row.supervisor, "supervisor_zh": _name(campaign, row.supervisor),
            "period": row.period, "version": row.version, "kind": row.kind,
            "kind_zh": rules.KIND_ZH.get(row.kind, row.kind), "figures": dict(row.figures),
            "text": row.text, "document_sha256": row.document_sha256,
            "filed_by": row.filed_by, "filed_at": row.filed_at.isoformat(),
            "due_on": row.due_on.isoformat() if row.due_on else None, "late": row.late,
            "reason": row.reason, "contradicted": row.contradiction is not None,
            "contradiction": row.contradiction, "history_seq": row.history_seq}


def list_reports(uow: LedgerUnitOfWork, campaign, *, actor: Actor, period: str | None = None,
                 unit: str | None = None, contradicted: bool = False) -> dict:
    """The current report of each (unit, period) the actor may see; each with how many
    versions it has (amendments)."""
    units = _scope(campaign, actor)
    if unit:
        units = [unit] if units is None or unit in units else []
    with uow:
        rows = uow.reports.latest(units=units, period=period)
    items = [{**report_view(r, campaign), "versions": r.versions} for r in rows]
    if contradicted:
        items = [i for i in items if i["contradicted"]]
    return {"items": items, "total": len(items)}


def get_report(uow: LedgerUnitOfWork, campaign, *, actor: Actor, unit: str,
               period: str) -> dict:
    """Every version of a unit's report for a period, oldest first (amendments on record)."""
    units = _scope(campaign, actor)
    if units is not None and unit not in units:
        raise ReportRefused("not_found", "unit", "no such report you may see",
                            "未找到该报告,或您无权查看", status="not_found")
    with uow:
        rows = uow.reports.versions(unit, period)
    if not rows:
        raise ReportRefused("not_found", "period", "no such report you may see",
                            "未找到该报告,或您无权查看", status="not_found")
    return {"unit": unit, "period": period, "versions": [report_view(r, campaign) for r in rows]}


def missing_reports(uow: LedgerUnitOfWork, campaign, *, actor: Actor, period: str,
                    today: date | None = None) -> dict:
    """For a period: who in the actor's scope filed, filed zero, filed late, is missing."""
    units = _scope(campaign, actor)
    if period != rules.SUMMARY_PERIOD:
        try:
            rules.week_bounds(period)
        except ValueError:
            raise ReportRefused("invalid_report", "period", "a week, e.g. 2017-W23",
                                "报告周应为形如 2017-W23 的周次") from None
    deadline = deadline_of(campaign, period)
    expected = [o for o in rules.reporting_units(campaign) if units is None or o.code in units]
    with uow:
        filed = {r.unit: r for r in uow.reports.latest(units=units, period=period)}
    brief = lambda o: {"unit": o.code, "unit_zh": o.name_zh, "supervisor": o.reports_to}  # noqa: E731
    today = today or datetime.now(LOCAL_TZ).date()
    missing = [brief(o) for o in expected if o.code not in filed]
    return {"period": period, "due_on": deadline.due_on.isoformat(),
            "overdue": today > deadline.due_on, "units": len(expected),
            "filed": sum(1 for r in filed.values() if r.kind != rules.ZERO),
            "zero": sum(1 for r in filed.values() if r.kind == rules.ZERO),
            "late": [{**brief(o), "filed_at": filed[o.code].filed_at.isoformat()}
                     for o in expected if o.code in filed and filed[o.code].late],
            "contradicted": [brief(o) for o in expected if o.code in filed
                             and filed[o.code].contradiction is not None],
            "missing": missing}


def system_summary(uow: LedgerUnitOfWork, campaign, *, actor: Actor, period: str) -> dict:
    """A supervising body's summary of its system's reports for a period (the county office:
    every system's), figures added up: what it forwards to the county office."""
    if actor.role not in ("supervisor", "county_office"):
        raise NotPermitted("summaries are for supervising bodies and the county office",
                           "系统汇总仅供系统分管部门和县委办公室查看")
    listing = missing_reports(uow, campaign, actor=actor, period=period)
    units = _scope(campaign, actor)
    with uow:
        rows = uow.reports.latest(units=units, period=period)
        forwarded = uow.reports.forwarded(
            period, None if actor.role == "county_office" else actor.org_code)
    totals = {name: sum(int(r.figures.get(name, 0)) for r in rows) for name in rules.FIGURES}
    return {**listing, "supervisor": actor.org_code, "totals": totals,
            "totals_zh": {rules.FIGURES[k]: v for k, v in totals.items()},
            "forwarded": [{"supervisor": f.supervisor,
                           "supervisor_zh": _name(campaign, f.supervisor),
                           "forwarded_by": f.forwarded_by,
                           "forwarded_at": f.forwarded_at.isoformat(),
                           "history_seq": f.history_seq, **dict(f.summary)}
                          for f in _latest_per_body(forwarded)]}


def _latest_per_body(rows) -> list:
    """Each body's latest forwarding (rows come latest first)."""
    seen, latest = set(), []
    for row in rows:
        if row.supervisor not in seen:
            seen.add(row.supervisor)
            latest.append(row)
    return latest


def forward_summary(uow: LedgerUnitOfWork, campaign, *, actor: Actor, period: str,
                    now: datetime | None = None) -> dict:
    """A supervising body forwards its system's summary to the county office (汇总上报): a
    chain entry holding the figures, and an event."""
    if actor.role != "supervisor" or not actor.org_code:
        raise NotPermitted("only a supervising body forwards its system's summary",
                           "仅系统分管部门可报送本系统汇总")
    summary = system_summary(uow, campaign, actor=actor, period=period)
    now = now or utcnow()
    data = {"period": period, "supervisor": actor.org_code, "totals": summary["totals"],
            "units": summary["units"], "filed": summary["filed"], "zero": summary["zero"],
            "missing": [m["unit"] for m in summary["missing"]],
            "contradicted": [c["unit"] for c in summary["contradicted"]]}
    with uow:
        seq = uow.history.append(problem_id=None, action="forward_report_summary",
                                 actor=actor.username, at=now, data=data)
        uow.reports.add_forwarded(period=period, supervisor=actor.org_code, history_seq=seq,
                                  forwarded_by=actor.username, forwarded_at=now,
                                  summary={k: v for k, v in data.items()
                                           if k not in ("period", "supervisor")})
        uow.emit(ReportCycleEvent(event_id=f"summary-{actor.org_code}-{period}-{seq}",
                                  name=CycleEvent.SUMMARY_FORWARDED, what="weekly",
                                  period=period, supervisor=actor.org_code,
                                  details={k: v for k, v in data.items() if k != "period"}))
        uow.commit()
    return {**summary, "forwarded": True, "history_seq": seq}


def register_measure(uow: LedgerUnitOfWork, campaign, *, actor: Actor, title: str,
                     status: str, on: str | None, now: datetime | None = None) -> dict:
    """建章立制: a unit records a measure it issued or plans (a chain entry)."""
    now = now or utcnow()
    if actor.role != "unit_handler" or not actor.org_code:
        raise NotPermitted("only a unit's handler records its unit's institutions",
                           "仅单位承办人可登记本单位的制度建设")
    supervisor = rules.supervising_body(campaign, actor.org_code)
    try:
        day = date.fromisoformat(on) if on else None
    except (TypeError, ValueError):
        raise ReportRefused("invalid_measure", "on", "a date YYYY-MM-DD",
                            "日期格式应为 YYYY-MM-DD") from None
    title = rules.check_measure(title, status, day, now.astimezone(LOCAL_TZ).date())
    measure_id = uuid.uuid4().hex
    with uow:
        uow.history.append(problem_id=None, action="register_institution", actor=actor.username,
                           at=now, data={"id": measure_id, "unit": actor.org_code,
                                         "title": title, "status": status, "on": day.isoformat()})
        uow.reports.add_measure(id=measure_id, unit=actor.org_code, supervisor=supervisor,
                                title=title, status=status, on_date=day,
                                registered_by=actor.username, registered_at=now)
        uow.commit()
    return {"id": measure_id, "unit": actor.org_code, "title": title, "status": status,
            "on": day.isoformat()}


def list_measures(uow: LedgerUnitOfWork, campaign, *, actor: Actor) -> dict:
    """The 建章立制 register in the actor's scope, with counts per unit and status."""
    units = _scope(campaign, actor)
    with uow:
        rows = uow.reports.measures(units=units)
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        per = counts.setdefault(r.unit, {"issued": 0, "planned": 0})
        per[r.status] += 1
    return {"items": [{"id": r.id, "unit": r.unit, "unit_zh": _name(campaign, r.unit),
                       "title": r.title, "status": r.status,
                       "status_zh": rules.MEASURE_STATUSES[r.status],
                       "on": r.on_date.isoformat(), "registered_by": r.registered_by}
                      for r in rows],
            "counts": [{"unit": u, "unit_zh": _name(campaign, u), **c}
                       for u, c in sorted(counts.items())]}
