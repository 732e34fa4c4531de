"""The ledger's lifecycle through the gateway, each step by the role the plan gives it."""
from __future__ import annotations

import time
import uuid
from datetime import date, timedelta

import httpx
import pytest

from contracts.actions import SPECS
from contracts.vocabulary import Role

pytestmark = pytest.mark.e2e

PASSWORDS = {"county": "dev-county-2017!", "supervisor-edu": "dev-supervisor-edu-2017!",
             "handler-school1": "dev-handler-school1-2017!",
             "handler-police": "dev-handler-police-2017!", "spotcheck": "dev-spotcheck-2017!",
             "media": "dev-media-2017!"}
IN_200_DAYS = (date.today() + timedelta(days=200)).isoformat()
IN_100_DAYS = (date.today() + timedelta(days=100)).isoformat()
PLAN = {"measures": "公开收费目录,清退违规收取的资料费", "target": "杜绝乱收费", "deadline": IN_200_DAYS,
        "lead_official": "李校长", "responsible_unit": "org_sch_yanshan_high",
        "responsible_person": "王老师", "handling": "time_limited"}


class Client:
    def __init__(self, stack):
        self.stack = stack
        self.tokens = {name: stack.token(name, pw) for name, pw in PASSWORDS.items()}

    def call(self, who, method, path, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.stack.base_url}{path}", timeout=30,
                             headers={"Authorization": f"Bearer {self.tokens[who]}"}, **kwargs)

    def act(self, who, problem_id, action, expect=200, **body):
        reply = self.call(who, "POST", f"/api/v1/problems/{problem_id}/{action}", json=body)
        assert reply.status_code == expect, (who, action, reply.text)
        return reply.json()


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def new_problem(stack, client) -> tuple[str, str]:
    reply = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json={
        "channel": "public_report_platform", "title": f"学校乱收费 {uuid.uuid4().hex[:6]}",
        "description": "盐山中学违规收取资料费,家长多次反映", "subject_unit": "org_sch_yanshan_high",
        "category": "c7_livelihood_services", "kind": "misconduct"})
    assert reply.status_code == 202
    clue_id, receipt = reply.json()["clue_id"], reply.json()["receipt_code"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = client.call("county", "GET", "/api/v1/problems?limit=200").json()["items"]
        found = [p["id"] for p in items if p["clue_id"] == clue_id]
        if found:
            return found[0], receipt
        time.sleep(0.2)
    raise AssertionError("problem not registered")


def receipt_status(stack, receipt):
    return httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                      json={"receipt_code": receipt}).json()


def test_register_dispatch_verify_check_rectify_strike_off(stack, client):
    pid, receipt = new_problem(stack, client)
    client.act("handler-school1", pid, "dispatch", expect=403, respond_days=5)
    client.act("media", pid, "dispatch", expect=403, respond_days=5)
    dispatched = client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    assert dispatched["state"] == "dispatched" and dispatched["light"] == "green"
    client.act("handler-police", pid, "verify", expect=404, plan=PLAN)
    client.act("handler-school1", pid, "verify", expect=422, plan={**PLAN, "target": ""})
    verified = client.act("handler-school1", pid, "verify", plan=PLAN, seriousness="ordinary")
    assert verified["severity_advice"] in ("lighter", "standard", "stricter")
    client.act("supervisor-edu", pid, "approve_plan")
    client.act("handler-school1", pid, "check_progress", expect=403, flags=[])
    checked = client.act("supervisor-edu", pid, "check_progress", flags=[
        {"flag": "inadequate", "reason": "收费目录未公示"}], new_deadline=IN_100_DAYS)
    assert checked["rectify_by"] == IN_100_DAYS
    client.act("handler-school1", pid, "record_progress", note="已在校门口公示收费目录")
    client.act("handler-school1", pid, "report_rectified",
               evidence=[{"description": "公示照片及清退凭证"}])
    client.act("supervisor-edu", pid, "strike_off", expect=200, note="核查属实,准予销号")
    client.act("supervisor-edu", pid, "strike_off", expect=409)
    problem = client.call("county", "GET", f"/api/v1/problems/{pid}").json()
    assert (problem["state"], problem["outcome"]) == ("closed", "rectified")
    assert [e["action"] for e in problem["timeline"]][-3:] == [
        "record_progress", "report_rectified", "strike_off"]
    deadline = time.monotonic() + 20
    while receipt_status(stack, receipt)["status"] != "closed" and time.monotonic() < deadline:
        time.sleep(0.2)
    status = receipt_status(stack, receipt)
    assert status["outcome"] == "rectified" and status["outcome_zh"] == "已整改销号"


def test_dispatch_unfounded_then_reopened_by_a_spot_check_and_by_the_reporter(stack, client):
    pid, receipt = new_problem(stack, client)
    client.act("county", pid, "dispatch", respond_days=3)
    client.act("handler-school1", pid, "report_unfounded", expect=422, findings="查无此事",
               evidence=[])
    client.act("handler-school1", pid, "report_unfounded", findings="经查,未收取任何资料费",
               evidence=[{"description": "财务收费台账"}])
    client.act("handler-school1", pid, "accept_unfounded", expect=403)
    closed = client.act("supervisor-edu", pid, "accept_unfounded")
    assert (closed["state"], closed["outcome"]) == ("closed", "unfounded")
    client.act("handler-school1", pid, "reopen", expect=403, source="spot_check", reason="x" * 6)
    reopened = client.act("spotcheck", pid, "reopen", source="spot_check",
                          reason="抽查发现确有收费凭据")
    assert reopened["state"] == "registered" and reopened["outcome"] is None
    client.act("supervisor-edu", pid, "dispatch", respond_days=3)
    client.act("handler-school1", pid, "report_unfounded", findings="再次核查仍未发现",
               evidence=[{"description": "说明"}])
    client.act("supervisor-edu", pid, "accept_unfounded")
    deadline = time.monotonic() + 20
    while not receipt_status(stack, receipt).get("may_dispute") and time.monotonic() < deadline:
        time.sleep(0.2)
    dispute = httpx.post(f"{stack.base_url}/api/v1/receipts/dispute", timeout=10,
                         json={"receipt_code": receipt, "reason": "我有收费收据,问题确实存在"})
    assert dispute.status_code == 200, dispute.text
    problem = client.call("county", "GET", f"/api/v1/problems/{pid}").json()
    assert problem["state"] == "registered"
    sources = [e["data"].get("source") for e in problem["timeline"] if e["action"] == "reopen"]
    assert sources == ["spot_check", "reporter_dispute"]


def test_rollup_verify_and_head(stack, client):
    edu = client.call("supervisor-edu", "GET", "/api/v1/ledger/rollup").json()
    assert edu["scope"] == "org_education_bureau"
    assert all(u["unit"].startswith("org_sch_") for u in edu["units"])
    assert client.call("handler-school1", "GET", "/api/v1/ledger/rollup").status_code == 403
    verdict = client.call("county", "GET", "/api/v1/ledger/verify").json()
    assert verdict["ok"] is True and verdict["checked"] == verdict["head"]["seq"] > 0
    head = httpx.get(f"{stack.base_url}/api/v1/ledger/head").json()
    assert len(head["hash"]) == 64


def test_work_plan_filing_and_acknowledgement(stack, client):
    filed = client.call("handler-school1", "POST", "/api/v1/work-plans",
                        json={"title": "盐山中学清理工作方案", "summary": "成立领导小组,开展自查"})
    assert filed.status_code == 201, filed.text
    plan_id = filed.json()["id"]
    assert client.call("supervisor-edu", "POST",
                       f"/api/v1/work-plans/{plan_id}/acknowledge").status_code == 200
    missing = client.call("supervisor-edu", "GET", "/api/v1/work-plans/missing").json()
    assert "org_sch_yanshan_high" not in {m["unit"] for m in missing["missing"]}


def test_one_account_cannot_run_a_case_alone(stack, client):
    """职责分离: the county office account dispatches and, acting for the unit, verifies;
    approving its own report is refused with the rule named, another account approves."""
    pid, _ = new_problem(stack, client)
    client.act("county", pid, "dispatch", respond_days=5)
    missing = client.act("county", pid, "verify", expect=422, plan=PLAN)
    assert "on_behalf_of" in missing["detail"]["message"]
    for_unit = {"on_behalf_of": "org_sch_yanshan_high", "reason": "承办人出差,县委办公室代为报告"}
    client.act("county", pid, "verify", plan=PLAN, **for_unit)
    refused = client.act("county", pid, "approve_plan", expect=403)["detail"]
    assert "separation of duties" in refused["message"]
    assert refused["message_zh"].startswith("职责分离") and "弄虚作假" in refused["message_zh"]
    problem = client.call("county", "GET", f"/api/v1/problems/{pid}").json()
    assert problem["state"] == "verified"
    verified = [e for e in problem["timeline"] if e["action"] == "verify"][-1]
    assert (verified["actor"], verified["data"]["on_behalf_of"], verified["data"]["reason"]) == (
        "county", "org_sch_yanshan_high", for_unit["reason"])
    approved = client.act("supervisor-edu", pid, "approve_plan")
    assert approved["state"] == "rectifying"


def _named_field(detail) -> tuple[str, str]:
    """(field, Chinese message) of a 422, in FastAPI's list shape or the one error shape."""
    if isinstance(detail, list):
        loc = [p for p in detail[0]["loc"] if p != "body"]
        name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return name, detail[0]["message_zh"]
    return detail["field"], detail["message_zh"]


JUNK_BODIES = [
    ("check_progress", {"flags": [{"flag": ["inadequate"], "reason": "未公示"}],
                        "new_deadline": IN_100_DAYS}, "flags[0].flag"),
    ("reopen", {"source": {"spot_check": True}, "reason": "抽查发现问题"}, "source"),
    ("report_rectified", {"evidence": [{"description": "照片", "sha256": "ab" * 33}]},
     "evidence[0].sha256"),
    ("report_rectified", {"evidence": [{"description": "照片", "sha256": "not-hex" * 9}]},
     "evidence[0].sha256"),
]


@pytest.mark.parametrize(("action", "body", "field"), JUNK_BODIES,
                         ids=[f"{a}-{f}" for a, _, f in JUNK_BODIES])
def test_junk_in_an_action_body_is_a_bilingual_422_naming_the_field(stack, client, action,
                                                                    body, field):
    pid, _ = new_problem(stack, client)
    who = "handler-school1" if action == "report_rectified" else "county"
    reply = client.call(who, "POST", f"/api/v1/problems/{pid}/{action}", json=body)
    assert reply.status_code == 422, reply.text
    named, message_zh = _named_field(reply.json()["detail"])
    assert named == field and message_zh
    problem = client.call("county", "GET", f"/api/v1/problems/{pid}").json()
    assert problem["state"] == "registered" and problem["version"] == 0


def test_every_action_body_is_documented_with_named_typed_fields(stack):
    spec = httpx.get(f"{stack.base_url}/openapi.json", timeout=10).json()
    actions = {path.rsplit("/", 1)[1]: ops["post"] for path, ops in spec["paths"].items()
               if path.startswith("/api/v1/problems/{problem_id}/")}
    staff = [a for a, spec in SPECS.items() if any(isinstance(r, Role) for r in spec.roles)]
    assert set(actions) == {a.value for a in staff}   # every staff action has its route
    for action, operation in actions.items():
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert body["type"] == "object" and body["additionalProperties"] is False, action
        assert body["properties"], action
