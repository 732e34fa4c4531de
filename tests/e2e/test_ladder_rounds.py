"""From a spot-check round to the ladder, through the real stack (issue 11's end-to-end): a
unit closes a problem as unfounded, a round samples it, the re-check finds the closure wrong
(the ledger reopens it), an accountability proposal appears against the unit (追究承办单位的责任),
the county office confirms a notice (its chain entry written), the unit's handler and its
principal head are notified, another unit's handler is not. (Names by role:
``test_ladder.py``.)"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.auth.accounts import AccountStore
from kit.db import default_url, make_engine
from tests.e2e.test_spot_checks import SEED, closed_as_unfounded
from tests.support.workbench import SCHOOL, api, problem_of, wait_until

pytestmark = pytest.mark.e2e
HEAD_PASSWORD = "head of the school 2017 pw"


@pytest.fixture(scope="module")
def stack(shared_workbench_stack):
    for running in (shared_workbench_stack,):
        store = AccountStore(make_engine(default_url("gateway", running.data_dir)))
        store.create("head-school", HEAD_PASSWORD, "unit_handler", SCHOOL, "王校长")
        yield running


def test_a_wrong_closure_found_in_a_round_climbs_the_ladder_and_reaches_the_head(stack):
    base = stack.base_url
    head = {"Authorization": "Bearer " + stack.token("head-school", HEAD_PASSWORD)}

    def get(path, who, headers=None):
        return httpx.get(f"{base}{path}", headers=headers or api(stack, who), timeout=30)

    def post(path, who, body):
        reply = httpx.post(f"{base}{path}", headers=api(stack, who), json=body, timeout=60)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    post(f"/api/v1/principal-heads/{SCHOOL}", "county",
         {"name": "王校长", "title": "校长", "account_username": "head-school"})
    pid = closed_as_unfounded(stack, "食堂违规收费(问责阶梯)")
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    wait_until(lambda: any(g["unit"] == SCHOOL for g in get(
        f"/api/v1/spot-checks/population?period={period}", "spotcheck").json()["groups"]),
        timeout=60)
    wait_until(lambda: "spotcheck" in {p["username"] for p in get(
        "/api/v1/spot-checks/rounds", "spotcheck").json()["recheckers"]}, timeout=60)
    round_id = post("/api/v1/spot-checks/rounds", "spotcheck",
                    {"kind": "spot_check", "period": period})["round_id"]
    drawn = post(f"/api/v1/spot-checks/rounds/{round_id}/seed", "spotcheck", {"seed": SEED})
    assert pid in {i["item_id"] for i in drawn["items"]}
    post(f"/api/v1/spot-checks/rounds/{round_id}/assign", "spotcheck", {"rechecker": "spotcheck"})
    post(f"/api/v1/spot-checks/rounds/{round_id}/items/{pid}/recheck", "spotcheck",
         {"verdict": "wrong", "findings": "现场核查确有违规收费,查否结论不实"})
    wait_until(lambda: problem_of(stack, pid)["state"] == "registered", timeout=60)

    def proposal():
        items = get("/api/v1/accountability/proposals?status=proposed", "county").json()["items"]
        return [p for p in items if p["unit"] == SCHOOL and p["problem_ids"] == [pid]]
    [found] = wait_until(proposal, timeout=60)
    assert (found["trigger"], found["step"]) == ("wrong_closure", "notice")
    assert "查否结论不实" in found["reason"]
    step = post(f"/api/v1/accountability/proposals/{found['id']}/confirm", "county",
                {"note": "限期十个工作日整改到位"})
    assert step["step"] == "notice" and step["problem_ids"] == [pid]

    def heard(who, headers=None):
        items = get("/api/v1/me/notifications?limit=200", who, headers).json()["items"]
        return [n for n in items if n["event"] == "ladder_confirmed"]
    wait_until(lambda: heard("handler-school1") and heard("head-school", head), timeout=60)
    assert heard("handler-police") == []
    ladder = get(f"/api/v1/accountability/units/{SCHOOL}", "handler-school1").json()
    assert [s["step"] for s in ladder["steps"]] == ["notice"] and ladder["proposals"] == []
    assert ladder["steps"][0]["chain"]["seq"] > 0
    assert get("/api/v1/ledger/verify", "county").json()["ok"] is True
