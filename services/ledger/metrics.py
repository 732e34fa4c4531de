"""The ledger's gauges for Prometheus, computed when it scrapes (``kit.metrics``): problems
by state (from the maintained tallies), open problems by light, overdue per supervising
body. Each is one indexed query: the lights read the problems whose clock runs (the partial
index of the overdue lists), the rest read tallies; nothing is counted per message."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import and_, case, func, literal_column, or_, select

from contracts.campaign import load_campaign
from contracts.vocabulary import State
from kit.metrics import family
from services.ledger.adapters.orm import CLOCK_RUNS, problems, unit_tallies
from services.ledger.adapters.views import overdue_clause
from services.ledger.domain import timers
from services.ledger.handlers.common import local_today, rules_of

LIGHTS = (timers.GREEN, timers.YELLOW, timers.RED)


@lru_cache(maxsize=4)
def _campaign(path: str):
    return load_campaign(path)


def light_counts(session, today, rules) -> dict[str, int]:
    """Open problems whose clock runs, by the light ``timers.light`` gives each: red when
    overdue or stalled, yellow when due soon, green otherwise."""
    stall_before = timers.stall_cutoff(today, rules)
    soon_until = timers.due_soon_until(today, rules)
    c = problems.c
    stalled = and_(c.state.in_([literal_column("'dispatched'"), literal_column("'rectifying'")]),
                   c.last_progress_on <= stall_before)
    red = or_(c.due_on < today, stalled)
    yellow = and_(~red, c.due_on >= today, c.due_on <= soon_until)
    n_red, n_yellow, n_all = session.execute(
        select(func.sum(case((red, 1), else_=0)), func.sum(case((yellow, 1), else_=0)),
               func.count()).where(CLOCK_RUNS)).one()
    n_red, n_yellow = int(n_red or 0), int(n_yellow or 0)
    return {timers.RED: n_red, timers.YELLOW: n_yellow,
            timers.GREEN: int(n_all) - n_red - n_yellow}


def state_counts(session) -> dict[str, int]:
    t = unit_tallies.c
    found = {state.value: 0 for state in State}
    for state, n in session.execute(select(t.state, func.sum(t.n)).group_by(t.state)):
        found[state] = int(n or 0)
    return found


def overdue_by_supervisor(session, today, bodies) -> dict[str, int]:
    found = {code: 0 for code in bodies}
    query = (select(problems.c.supervisor, func.count()).where(overdue_clause(today))
             .group_by(problems.c.supervisor))
    for supervisor, n in session.execute(query):
        found[supervisor or "none"] = int(n)
    return found


def gauges(session, config: dict):
    campaign = _campaign(str(config["CAMPAIGN_FILE"]))
    today, rules = local_today(), rules_of(campaign)
    yield family("ledger_problems", "Problems by state (台账 by state)", ["state"],
                 (((s,), n) for s, n in state_counts(session).items()))
    yield family("ledger_problems_open_by_light",
                 "Open problems whose clock runs, by light (红黄绿灯)", ["light"],
                 (((light,), n) for light, n in light_counts(session, today, rules).items()))
    bodies = sorted(set(campaign.reporting_lines.values()))
    yield family("ledger_problems_overdue",
                 "Overdue problems per supervising body (超期, 分管部门)", ["supervisor"],
                 (((body,), n) for body, n in overdue_by_supervisor(session, today,
                                                                     bodies).items()))
