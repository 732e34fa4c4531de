"""The roll-up's per-unit rates (台账统计) the dashboard draws: on time (按期率), rectified
(整改率), unfounded (查否率) and overdue (超期率), from the counts the ledger keeps, against
the fake unit of work (tests/fakes/ledger.py)."""
from __future__ import annotations

import pytest

from services.ledger import handlers
from services.ledger.domain.access import NotPermitted
from tests.unit.test_ledger_handlers import (  # noqa: F401  (fixtures)
    CAMPAIGN, COUNTY, COUNTY_2, EDU, PLAN, SCHOOL, UNIT, act, registered, store, uow,
)

POLICE = "org_gd_public_security"


def test_the_rates_per_unit_come_from_the_kept_counts(uow):
    struck = registered(uow, 1, title="乱收费一", description="第一件：资料费")
    act(uow, struck, "dispatch", COUNTY)
    act(uow, struck, "verify", SCHOOL, plan=PLAN, seriousness="ordinary")
    act(uow, struck, "approve_plan", COUNTY)
    act(uow, struck, "report_rectified", SCHOOL, evidence=[{"description": "退费凭证"}])
    act(uow, struck, "strike_off", COUNTY)
    unfounded = registered(uow, 2, title="乱收费二", description="第二件：校服费另有说法")
    act(uow, unfounded, "dispatch", COUNTY)
    act(uow, unfounded, "report_unfounded", SCHOOL, findings="经查不属实",
        evidence=[{"description": "收费公示"}])
    act(uow, unfounded, "accept_unfounded", COUNTY)
    late = registered(uow, 3, title="食堂卫生", description="第三件：食堂")
    act(uow, late, "dispatch", COUNTY, respond_days=5)  # answered by June 2017: long overdue
    registered(uow, 4, title="教室漏雨", description="第四件：教室")  # open, registered today
    police = registered(uow, 5, unit=POLICE, title="出警慢", description="报警后一小时未出警")
    act(uow, police, "dispatch", COUNTY)
    act(uow, police, "report_unfounded", COUNTY, findings="出警记录齐全", on_behalf_of=POLICE,
        reason="代为办理", evidence=[{"description": "出警记录"}])
    act(uow, police, "accept_unfounded", COUNTY_2)

    rollup = handlers.rollup(uow(), CAMPAIGN, actor=COUNTY)
    units = {u["unit"]: u for u in rollup["units"]}
    school = units[UNIT]
    assert (school["total"], school["open"], school["closed"], school["struck_off"],
            school["unfounded"], school["overdue"]) == (4, 2, 2, 1, 1, 1)
    assert school["rectified_rate"] == 0.5 and school["unfounded_rate"] == 0.5
    assert school["on_time_rate"] == 0.5 and school["overdue_rate"] == 0.5
    nothing_open = units[POLICE]
    assert nothing_open["open"] == 0 and nothing_open["on_time_rate"] is None
    assert nothing_open["rectified_rate"] == 0.0 and nothing_open["unfounded_rate"] == 1.0
    assert rollup["total"] == 5 and rollup["by"]["outcome"] == {
        "none": 2, "rectified": 1, "unfounded": 2}


def test_a_supervising_body_gets_the_rates_of_its_own_system_only(uow):
    school = registered(uow, 1)
    act(uow, school, "dispatch", EDU, respond_days=5)
    registered(uow, 2, unit=POLICE, title="出警慢", description="报警后一小时未出警")
    rollup = handlers.rollup(uow(), CAMPAIGN, actor=EDU)
    assert [u["unit"] for u in rollup["units"]] == [UNIT]
    assert rollup["units"][0]["on_time_rate"] == 0.0  # its one open problem is overdue
    with pytest.raises(NotPermitted):
        handlers.rollup(uow(), CAMPAIGN, actor=SCHOOL)
