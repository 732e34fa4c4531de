"""The ledger's scheduled work (催办), run by ``kit.schedule`` once per working day each:

* ``ledger.clock_sweep``: problems whose clock is due soon, ran out, or stalled publish
  ``clock.<name>`` once per problem per crossing (``clock_alerts`` remembers the crossing);
* ``ledger.report_cycle``: the campaign's deadlines (weekly reports, the work plan, the
  summary report) remind, list as missing and propose escalation for the units that have not
  filed; zero reports of the week are checked against the ledger once more; a phase's start
  is announced;
* ``ledger.bulletin_snapshot``: the monthly cycle: a month whose figures are all known gets
  its bulletin figures frozen as a chain entry, and the county office hears the draft is ready.

Both read only indexed ranges (the open-clock and progress partial indexes, the reports'
(period, unit) index); neither touches the registration or action paths."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from contracts.events import ProblemClockAlert, ReportCycleEvent
from contracts.vocabulary import ClockAlert, CycleEvent, State
from kit.schedule import Claims, Job, WorkingDaily
from services.ledger.adapters.orm import schedule_claims, utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain import reports as rules
from services.ledger.domain.timers import WAITING_ON, stall_cutoff
from services.ledger.handlers.common import rules_of

CLAIMS = Claims(schedule_claims)
CLOCK_SWEEP, REPORT_CYCLE = "ledger.clock_sweep", "ledger.report_cycle"
BULLETIN_SNAPSHOT = "ledger.bulletin_snapshot"
STEP_EVENT = {"reminder": CycleEvent.REPORT_DUE, "missing": CycleEvent.REPORT_MISSING,
              "escalation": CycleEvent.ESCALATION_PROPOSED}


def sweep_clocks(uow: LedgerUnitOfWork, campaign, day: date,
                 now: datetime | None = None) -> dict[str, int]:
    """Publish each new crossing on ``day``: due soon, overdue, stalled. Inside the caller's
    transaction (it commits)."""
    clocks = rules_of(campaign)
    calendar = clocks.calendar
    until = calendar.add_workdays(day, clocks.due_soon_days + 1) - timedelta(days=1)
    cutoff = stall_cutoff(day, clocks)
    found = {ClockAlert.DUE_SOON: (uow.reports.due_between(day, until), "due_on"),
             ClockAlert.OVERDUE: (uow.reports.overdue(day), "due_on"),
             ClockAlert.STALLED: (uow.reports.stalled(cutoff), "last_progress_on")}
    counts = {}
    for name, (rows, basis) in found.items():
        marks = [{"problem_id": r.id, "name": name.value, "basis": getattr(r, basis),
                  "swept_on": day} for r in rows]
        fresh = uow.reports.mark_crossed(marks)
        for r in rows:
            if (r.id, name.value) not in fresh:
                continue
            anchor = getattr(r, basis)
            days = calendar.workdays_between(day, anchor) if name is ClockAlert.DUE_SOON \
                else calendar.workdays_between(anchor, day)
            uow.emit(ProblemClockAlert(
                event_id=f"clock-{name.value}-{r.id}-{anchor.isoformat()}", name=name.value,
                problem_id=r.id, title=r.title, state=r.state, unit=r.unit,
                supervisor=r.supervisor, waiting_on=_waiting_on(r.state), due_on=r.due_on,
                last_progress_on=r.last_progress_on, days=days, swept_on=day))
        counts[name.value] = len(fresh)
    return counts


def _waiting_on(state: str) -> str | None:
    role = WAITING_ON.get(State(state))
    return role.value if role else None


def report_cycle(uow: LedgerUnitOfWork, campaign, day: date,
                 now: datetime | None = None) -> dict[str, int]:
    """What the campaign's calendar asks on ``day``: reminders, missing lists, escalation
    proposals for the units that have not filed; phases starting."""
    calendar = rules_of(campaign).calendar
    deadlines = rules.campaign_deadlines(campaign, calendar, rules.Rules.of(campaign))
    counts = {"reminder": 0, "missing": 0, "escalation": 0, "phase_started": 0,
              "zero_contradicted": 0}
    units = rules.reporting_units(campaign)
    for deadline, step in rules.steps_on(day, deadlines):
        filed = _filed(uow, deadline)
        for org in units:
            if org.code in filed:
                continue
            uow.emit(ReportCycleEvent(
                event_id=f"cycle-{step}-{deadline.period}-{org.code}", name=STEP_EVENT[step],
                what=deadline.what, period=deadline.period, unit=org.code,
                unit_zh=org.name_zh, supervisor=org.reports_to, due_on=deadline.due_on,
                details={"step": step, "step_zh": rules.STEP_ZH[step]}))
            counts[step] += 1
        if deadline.what == "weekly" and step == "missing":
            counts["zero_contradicted"] += _recheck_zero_reports(uow, campaign, deadline,
                                                                 now or utcnow())
    for phase in rules.phases_starting(campaign, calendar, day):
        uow.emit(ReportCycleEvent(event_id=f"cycle-phase-{phase.code}",
                                  name=CycleEvent.PHASE_STARTED, what="phase", period=phase.code,
                                  due_on=phase.end, details={"name_zh": phase.name_zh,
                                                             "start": phase.start.isoformat()}))
        counts["phase_started"] += 1
    return counts


def _filed(uow: LedgerUnitOfWork, deadline: rules.Deadline) -> set[str]:
    if deadline.what == rules.WORK_PLAN:
        return set(uow.work_plans.first_filings())
    return uow.reports.filed_units(deadline.period)


def _recheck_zero_reports(uow: LedgerUnitOfWork, campaign, deadline: rules.Deadline,
                          now: datetime) -> int:
    """A clue that came after a unit's zero report, in the same week, contradicts it too: the
    day the week's missing list is made, each zero report not yet flagged is checked again."""
    monday, sunday = rules.week_bounds(deadline.period)
    start = datetime.combine(monday, time.min, tzinfo=LOCAL_TZ)
    end = datetime.combine(sunday + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)
    flagged = 0
    for row in uow.reports.latest(units=None, period=deadline.period):
        if row.kind != rules.ZERO or row.contradiction is not None:
            continue
        why = rules.contradiction(rules.ZERO, uow.reports.clues_in(row.unit, start, end), 0)
        if why is None:
            continue
        uow.history.append(problem_id=None, action="flag_zero_report", actor="system",
                           at=now,
                           data={"report_id": row.id, "unit": row.unit,
                                 "period": row.period, "contradiction": why})
        uow.reports.flag(row.id, why)
        uow.emit(ReportCycleEvent(
            event_id=f"contradicted-{row.id}", name=CycleEvent.ZERO_CONTRADICTED,
            what="weekly", period=row.period, unit=row.unit,
            unit_zh=_name(campaign, row.unit), supervisor=row.supervisor,
            due_on=deadline.due_on, kind=row.kind, report_id=row.id, details=why))
        flagged += 1
    return flagged


def _name(campaign, code: str) -> str | None:
    org = campaign.organization(code)
    return org.name_zh if org else None


def jobs(campaign) -> list[Job]:
    """The ledger's scheduled jobs, on the campaign's working days (from the campaign's start:
    a fresh store does not replay the years before)."""
    calendar = rules_of(campaign).calendar
    daily = WorkingDaily(calendar=calendar, tz=LOCAL_TZ, at=time(8, 30),
                         start=campaign.campaign.start)

    def on_day(work):
        return lambda uow, period, now: work(uow, campaign, date.fromisoformat(period), now)

    from services.ledger.handlers import bulletins   # it reads the views this module feeds
    return [Job(CLOCK_SWEEP, daily, on_day(sweep_clocks)),
            Job(REPORT_CYCLE, daily, on_day(report_cycle)),
            Job(BULLETIN_SNAPSHOT, daily, on_day(bulletins.take_snapshots))]
