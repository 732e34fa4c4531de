"""The ledger's Prometheus gauges (services/ledger/metrics.py), computed in SQL at scrape,
agree with what the ledger shows person by person: each open problem's light as its view
gives it (timers.light), the overdue list per supervising body, the counts by state."""
from __future__ import annotations

from collections import Counter

from kit.settings import DEFAULT_CAMPAIGN_FILE
from services.ledger import handlers
from services.ledger import metrics as ledger_metrics
from services.ledger.handlers.common import local_today, rules_of
from tests.integration.test_ledger_clocks import waiting_on_supervisors
from tests.integration.test_ledger_store import (  # noqa: F401 (the ledger fixture)
    CAMPAIGN, COUNTY, EDU, accepted, act, ledger,
)


def everything(ledger) -> list[dict]:
    return handlers.list_problems(ledger(), CAMPAIGN, actor=COUNTY, filters={}, limit=100,
                                  offset=0)["items"]


def test_the_gauges_agree_with_the_ledgers_own_views(ledger):
    waiting_on_supervisors(ledger)
    for n in range(3):  # fresh ones: their clocks have just started
        pid = handlers.register_problem(ledger(), accepted(80 + n, description=f"新问题{n}号"),
                                        CAMPAIGN)
        if n == 0:
            act(ledger, pid, "dispatch", EDU)
    items = everything(ledger)
    lights = Counter(p["light"] for p in items if p["light"])
    states = Counter(p["state"] for p in items)
    overdue = Counter(CAMPAIGN.supervisor_of(p["unit"]).code for p in items if p["overdue"])
    with ledger() as uow:
        got_lights = ledger_metrics.light_counts(uow.session, local_today(), rules_of(CAMPAIGN))
        got_states = ledger_metrics.state_counts(uow.session)
        got_overdue = ledger_metrics.overdue_by_supervisor(uow.session, local_today(),
                                                           ["org_education_bureau",
                                                            "org_county_office"])
        families = {f.name: f for f in ledger_metrics.gauges(
            uow.session, {"CAMPAIGN_FILE": str(DEFAULT_CAMPAIGN_FILE)})}
    assert {k: v for k, v in got_lights.items() if v} == dict(lights)
    assert sum(lights.values()) >= 5 and lights["red"] >= 4
    assert {k: v for k, v in got_states.items() if v} == dict(states)
    assert got_overdue["org_education_bureau"] == overdue["org_education_bureau"] >= 4
    assert got_overdue["org_county_office"] == 0
    assert set(families) == {"ledger_problems", "ledger_problems_open_by_light",
                             "ledger_problems_overdue"}
    bodies = {s.labels["supervisor"] for s in families["ledger_problems_overdue"].samples}
    assert set(CAMPAIGN.reporting_lines.values()) <= bodies  # every body, 0 when none late

