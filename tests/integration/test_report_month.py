"""A simulated month of the reporting rhythm on a real store (SQLite and PostgreSQL), with the
injectable clock: 21 September to 20 October 2017, across 国庆 (1 to 8 October off, Saturday 30
September worked). Each simulated day, units file at 08:00, then two ledger processes tick at
09:00 (the claims let one of them act), then late units file at 10:00. The ledger is down on
17 and 18 October and a new process catches up on the 19th.

| unit | does |
|---|---|
| 盐山中学 | files its week on time, every week |
| 盐山县第二中学 | files zero reports on time |
| 盐山县实验中学 | files the day after the due day (late) |
| 盐山县职业技术教育中心 | never files |
| 盐山县实验小学 | files zero reports, but has an open problem (contradicted) |
| 盐山县第一幼儿园 | files a zero report for week 38; a clue that week, registered late |
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from contracts.events import ClueAccepted, ClueFields
from kit.schedule import ManualClock, Scheduler
from services.ledger import handlers
from services.ledger.adapters import orm
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain.actions import Actor
from services.ledger.domain.reports import ReportRefused
from services.ledger.domain.workdays import LIBRARY
from services.ledger.handlers import reports, schedule
from tests.integration.test_ledger_store import CAMPAIGN, EDU, ledger  # noqa: F401

ON_TIME, ZERO, LATE, NEVER, CONTRA, KINDER = (
    "org_sch_yanshan_high", "org_sch_no2_high", "org_sch_experimental_middle",
    "org_sch_vocational", "org_sch_experimental_primary", "org_sch_kindergarten")
COUNTY = Actor("county", "county_office", "org_county_office")
FIRST, LAST = date(2017, 9, 21), date(2017, 10, 20)
DOWN = {date(2017, 10, 17), date(2017, 10, 18)}
WEEKS = {"2017-W38": date(2017, 9, 25), "2017-W39": date(2017, 10, 9),
         "2017-W41": date(2017, 10, 16)}   # week 40 is all holiday: no report due


def handler(unit: str) -> Actor:
    return Actor(f"handler-{unit}", "unit_handler", unit)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ)


def file(ledger, unit, week, kind, when, **extra):
    figures = {"found": 2, "rectified": 1, "cleaned_up": 3, "held_accountable": 0} \
        if kind == "weekly" else {}
    return reports.file_report(ledger(), CAMPAIGN, actor=handler(unit), unit=unit, period=week,
                               kind=kind, figures=figures, text="本周清理工作进展情况", now=when,
                               **extra)


def events(ledger) -> list[dict]:
    with ledger() as uow:
        rows = uow.session.execute(select(orm.outbox_table.c.event_type, orm.outbox_table.c.body)
                                   .order_by(orm.outbox_table.c.id)).all()
    return [{"routing_key": key, **body} for key, body in rows]


def register(ledger, n: int, unit: str) -> str:
    clue = ClueAccepted(event_id=f"month-{n}", clue_id=f"month-clue-{n}",
                        clue=ClueFields(channel="letter", title="学校违规收费",
                                        description=f"家长反映第{n}件收费问题",
                                        subject_unit=unit, category="c7_livelihood_services"),
                        submitted_at=orm.utcnow())
    return handlers.register_problem(ledger(), clue, CAMPAIGN)


@pytest.fixture
def month(ledger):
    """Runs the month; returns the events of each simulated day and the schedulers' runs."""
    open_problem = register(ledger, 1, CONTRA)   # open: its zero reports are contradicted
    handlers.act(ledger(), CAMPAIGN, problem_id=open_problem, action="dispatch", actor=EDU,
                 args={}, today=FIRST)            # the unit answers in 5 working days
    jobs = schedule.jobs(CAMPAIGN)
    clock = ManualClock(at(FIRST, 9))
    processes = [Scheduler(jobs, ledger, schedule.CLAIMS, clock, owner=f"ledger-{n}")
                 for n in (1, 2)]
    per_day: dict[date, list[dict]] = {}
    ran: list[tuple[str, str]] = []
    seen = 0
    day = FIRST
    while day <= LAST:
        week = next((w for w, due in WEEKS.items() if due == day), None)
        if week:
            file(ledger, ON_TIME, week, "weekly", at(day, 8))
            file(ledger, ZERO, week, "zero", at(day, 8))
            file(ledger, CONTRA, week, "zero", at(day, 8))
            if week == "2017-W38":
                file(ledger, KINDER, week, "zero", at(day, 8))
                late_clue = register(ledger, 2, KINDER)   # a letter of 24 September, entered late
                with ledger() as uow:
                    uow.session.execute(update(orm.problem_clues).where(
                        orm.problem_clues.c.problem_id == late_clue).values(
                        linked_at=at(date(2017, 9, 24), 15)))
                    uow.commit()
                handlers.act(ledger(), CAMPAIGN, problem_id=late_clue, action="dispatch",
                             actor=EDU, args={}, today=day)
        if day == date(2017, 10, 19):   # a new process after two days down
            processes = [Scheduler(jobs, ledger, schedule.CLAIMS, clock, owner="ledger-3"),
                         Scheduler(jobs, ledger, schedule.CLAIMS, clock, owner="ledger-4")]
        if day not in DOWN:
            clock.set(at(day, 9))
            barrier = threading.Barrier(len(processes))
            results: list = [None] * len(processes)

            def tick(i, scheduler):
                barrier.wait()
                results[i] = scheduler.tick()
            threads = [threading.Thread(target=tick, args=(i, s))
                       for i, s in enumerate(processes)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            for found in results:
                ran.extend(found)
        previous = next((w for w, due in WEEKS.items() if due == day - timedelta(days=1)
                         or (due == date(2017, 10, 9) and day == date(2017, 10, 10))), None)
        if previous and day not in DOWN:
            file(ledger, LATE, previous, "weekly", at(day, 10))
        if day == date(2017, 10, 17):   # filed while the scheduler is down
            file(ledger, LATE, "2017-W41", "weekly", at(day, 10))
        now = events(ledger)
        per_day[day] = now[seen:]
        seen = len(now)
        day += timedelta(days=1)
    return per_day, ran, open_problem


def cycle(per_day, name, unit=None) -> Counter:
    return Counter((e["period"], d) for d, found in per_day.items() for e in found
                   if e["routing_key"] == f"cycle.{name}" and (unit is None or e["unit"] == unit))


def test_a_month_of_reports_reminds_lists_and_escalates_the_right_units(month, ledger):
    per_day, ran, _ = month
    # every working day ran once per job, across two processes, a restart and the holiday
    days = [d for d in (FIRST + timedelta(n) for n in range((LAST - FIRST).days + 1))
            if LIBRARY.is_workday(d)]
    assert sorted(ran) == sorted((job, d.isoformat()) for d in days
                                 for job in (schedule.CLOCK_SWEEP, schedule.REPORT_CYCLE,
                                             schedule.BULLETIN_SNAPSHOT))
    # the monthly cycle: September's figures frozen once its last week's report was due
    drafted = [(e["period"], d) for d, found in per_day.items() for e in found
               if e["routing_key"] == "cycle.bulletin_drafted"]
    assert ("2017-09", date(2017, 10, 9)) in drafted          # after 国庆, once
    assert [p for p, _ in drafted].count("2017-09") == 1
    # nothing at all on a holiday or a weekend off
    for day, found in per_day.items():
        if not LIBRARY.is_workday(day):
            assert not [e for e in found if e["routing_key"].startswith(("cycle.", "clock."))], day

    never = {"reminder": cycle(per_day, "report_due", NEVER),
             "missing": cycle(per_day, "report_missing", NEVER),
             "escalation": cycle(per_day, "escalation_proposed", NEVER)}
    assert never["reminder"] == Counter({("2017-W38", date(2017, 9, 25)): 1,
                                         ("2017-W39", date(2017, 10, 9)): 1,
                                         ("2017-W41", date(2017, 10, 16)): 1})
    assert never["missing"] == Counter({("2017-W38", date(2017, 9, 26)): 1,
                                        ("2017-W39", date(2017, 10, 10)): 1,
                                        ("2017-W41", date(2017, 10, 19)): 1})   # caught up
    assert never["escalation"] == Counter({("2017-W38", date(2017, 9, 27)): 1,
                                           ("2017-W39", date(2017, 10, 11)): 1,
                                           ("2017-W41", date(2017, 10, 19)): 1})
    late = {name: cycle(per_day, name, LATE) for name in
            ("report_due", "report_missing", "escalation_proposed")}
    assert sum(late["report_due"].values()) == 3
    assert set(late["report_missing"]) == {("2017-W38", date(2017, 9, 26)),
                                           ("2017-W39", date(2017, 10, 10))}
    assert not late["escalation_proposed"]
    for unit in (ON_TIME, ZERO, CONTRA):
        assert not any(cycle(per_day, name, unit) for name in
                       ("report_due", "report_missing", "escalation_proposed"))

    week38 = handlers_missing(ledger, "2017-W38")
    assert NEVER in {m["unit"] for m in week38["missing"]}
    assert {u["unit"] for u in week38["late"]} == {LATE}
    assert {u["unit"] for u in week38["contradicted"]} == {CONTRA, KINDER}
    assert (week38["filed"], week38["zero"]) == (2, 3)


def handlers_missing(ledger, week):
    return reports.missing_reports(ledger(), CAMPAIGN, actor=EDU, period=week,
                                   today=date(2017, 10, 20))


def test_a_zero_report_against_the_ledger_is_flagged_for_the_spot_check_team(month, ledger):
    per_day, _, _ = month
    flagged = cycle(per_day, "zero_contradicted")
    # 实验小学: an open problem, each week, flagged when filed; 幼儿园: a clue of week 38
    # that was registered after its zero report, flagged when the week's missing list is made
    assert flagged == Counter({("2017-W38", date(2017, 9, 25)): 1,
                               ("2017-W39", date(2017, 10, 9)): 1,
                               ("2017-W41", date(2017, 10, 16)): 1,
                               ("2017-W38", date(2017, 9, 26)): 1})
    spot = Actor("spot", "spot_check")
    listed = reports.list_reports(ledger(), CAMPAIGN, actor=spot, contradicted=True)
    assert {(i["unit"], i["period"]) for i in listed["items"]} == {
        (CONTRA, "2017-W38"), (CONTRA, "2017-W39"), (CONTRA, "2017-W41"), (KINDER, "2017-W38")}
    kinder = next(i for i in listed["items"] if i["unit"] == KINDER)
    assert kinder["contradiction"] == {"clues_in_week": 1, "open_problems": 0}
    assert handlers.verify_chain(ledger())["ok"]


def test_the_sweeps_publish_each_crossing_once(month, ledger):
    per_day, _, problem = month
    clock = {(e["routing_key"], d): e for d, found in per_day.items() for e in found
             if e["routing_key"].startswith("clock.") and e["problem_id"] == problem}
    # dispatched Thursday 21 September, 5 working days: due Thursday 28 September
    assert sorted(clock) == [("clock.due_soon", date(2017, 9, 26)),
                             ("clock.overdue", date(2017, 9, 29)),
                             ("clock.stalled", date(2017, 10, 11))]   # 10 working days,
    # counting Saturday 30 September (调休) and none of 1 to 8 October
    overdue = clock[("clock.overdue", date(2017, 9, 29))]
    assert (overdue["unit"], overdue["supervisor"], overdue["waiting_on"]) == (
        CONTRA, "org_education_bureau", "unit_handler")
    assert (overdue["due_on"], overdue["days"]) == ("2017-09-28", 1)
    assert overdue["event_id"] == f"clock-overdue-{problem}-2017-09-28"
    everything = Counter((e["routing_key"], e["problem_id"]) for found in per_day.values()
                         for e in found if e["routing_key"].startswith("clock."))
    assert max(everything.values()) == 1


def test_amendments_are_chain_entries_and_never_overwrite(ledger):
    week, when = "2017-W38", at(date(2017, 9, 25), 8)
    first = file(ledger, ZERO, week, "zero", when)
    with pytest.raises(ReportRefused) as refused:
        file(ledger, ZERO, week, "weekly", when)
    assert refused.value.code == "amendment_reason_required"
    withdrawn = file(ledger, ZERO, week, "weekly", when + timedelta(hours=2),
                     reason="零报告有误,本周实际发现2个问题")
    assert (withdrawn["version"], withdrawn["amended"]) == (2, True)
    shown = reports.get_report(ledger(), CAMPAIGN, actor=EDU, unit=ZERO, period=week)
    assert [(v["kind"], v["version"]) for v in shown["versions"]] == [("zero", 1), ("weekly", 2)]
    assert shown["versions"][1]["reason"] == "零报告有误,本周实际发现2个问题"
    assert shown["versions"][0]["id"] == first["id"]
    for bad, code in (({"found": -1}, "negative_count"),
                      ({"found": 1, "rectified": 3}, "rectified_exceeds_found")):
        with pytest.raises(ReportRefused) as refused:
            reports.file_report(ledger(), CAMPAIGN, actor=handler(ZERO), unit=ZERO, period=week,
                                kind="weekly", figures=bad, text="有误的数字", reason="再次更正数字",
                                now=when)
        assert refused.value.code == code
    with pytest.raises(ReportRefused) as refused:
        file(ledger, ZERO, "2017-W39", "weekly", at(date(2017, 9, 30), 9))
    assert refused.value.code == "week_not_ended"
    with pytest.raises(ReportRefused) as refused:
        reports.file_report(ledger(), CAMPAIGN, actor=handler(ZERO), unit=LATE, period=week,
                            kind="weekly", figures={}, text="替别人报", now=when)
    assert refused.value.code == "not_own_unit_report"
    shown = reports.get_report(ledger(), CAMPAIGN, actor=EDU, unit=ZERO, period=week)
    assert len(shown["versions"]) == 2
    actions = [e for e in ledger_actions(ledger) if e in ("file_report", "amend_report")]
    assert actions == ["file_report", "amend_report"]
    assert handlers.verify_chain(ledger())["ok"]


def ledger_actions(ledger) -> list[str]:
    with ledger() as uow:
        return list(uow.session.execute(select(orm.history.c.action)
                                        .order_by(orm.history.c.seq)).scalars())


def test_a_supervisor_sees_its_system_and_forwards_a_summary(ledger):
    when = at(date(2017, 9, 25), 8)
    file(ledger, ON_TIME, "2017-W38", "weekly", when)
    town = "org_tw_yanshan"
    file(ledger, town, "2017-W38", "zero", when)
    seen = reports.list_reports(ledger(), CAMPAIGN, actor=EDU, period="2017-W38")
    assert {i["unit"] for i in seen["items"]} == {ON_TIME}
    assert seen["items"][0]["supervisor_zh"] == "县教育局"
    everything = reports.list_reports(ledger(), CAMPAIGN, actor=COUNTY, period="2017-W38")
    assert {i["unit"] for i in everything["items"]} == {ON_TIME, town}
    assert everything["items"][[i["unit"] for i in everything["items"]].index(town)][
        "supervisor"] == "org_county_office"
    summary = reports.forward_summary(ledger(), CAMPAIGN, actor=EDU, period="2017-W38", now=when)
    assert summary["totals"]["found"] == 2 and summary["units"] == 6
    assert len(summary["missing"]) == 5 and summary["forwarded"]
    assert ledger_actions(ledger)[-1] == "forward_report_summary"
    seen = reports.system_summary(ledger(), CAMPAIGN, actor=COUNTY, period="2017-W38")
    assert [(f["supervisor_zh"], f["totals"]["found"], f["forwarded_by"])
            for f in seen["forwarded"]] == [("县教育局", 2, "supervisor-edu")]
    jc = Actor("supervisor-jc", "supervisor", "org_supervision_bureau")
    assert reports.system_summary(ledger(), CAMPAIGN, actor=jc, period="2017-W38")[
        "forwarded"] == []


def test_the_summary_report_is_filed_with_its_document_and_the_register_counts(ledger):
    when = at(date(2017, 11, 14), 16)
    filed = reports.file_report(ledger(), CAMPAIGN, actor=handler(ON_TIME), unit=ON_TIME,
                                period="summary", kind="summary", text="专项清理工作总结",
                                document_sha256="a" * 64, now=when)
    assert (filed["late"], filed["due_on"]) == (False, "2017-11-15")
    reports.register_measure(ledger(), CAMPAIGN, actor=handler(ON_TIME), title="首问负责制",
                             status="issued", on="2017-11-01", now=when)
    reports.register_measure(ledger(), CAMPAIGN, actor=handler(ON_TIME), title="限时办结制",
                             status="planned", on="2017-12-31", now=when)
    register = reports.list_measures(ledger(), CAMPAIGN, actor=EDU)
    assert register["counts"] == [{"unit": ON_TIME, "unit_zh": "盐山中学", "issued": 1,
                                   "planned": 1}]
    assert reports.list_measures(ledger(), CAMPAIGN, actor=handler(ZERO))["items"] == []
