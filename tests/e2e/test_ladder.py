"""The accountability ladder end to end on the real processes: a covert inspection finding
(暗访, with an evidence file) and a re-check published on the broker (查否复查 found a closure
wrong) propose steps; the county office confirms a notice; the unit's handler and its
principal head hear of it, nobody else of another unit does; refusals change nothing; names
are hidden from every role but the county office and the custodian."""
from __future__ import annotations

import io
import uuid

import httpx
import pytest
from kombu import Connection, Producer
from PIL import Image

from contracts.events import RecheckRecorded
from contracts.topology import event_exchange
from gateway.auth.accounts import AccountStore
from kit.db import default_url, make_engine
from tests.support.notify_sinks import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SCHOOL = "org_sch_yanshan_high"
POLICE = "org_gd_public_security"
PASSWORDS = {"county": "dev-county-2017!", "handler-school1": "dev-handler-school1-2017!",
             "handler-police": "dev-handler-police-2017!", "spotcheck": "dev-spotcheck-2017!",
             "supervisor-edu": "dev-supervisor-edu-2017!", "custodian": "dev-custodian-2017!",
             "media": "dev-media-2017!", "head-school": "head of the school 2017 pw"}


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("ladder-stack"))
    try:
        running.start_all()
        store = AccountStore(make_engine(default_url("gateway", running.data_dir)))
        store.create("head-school", PASSWORDS["head-school"], "unit_handler", SCHOOL, "王校长")
        yield running
    finally:
        running.stop_all()


class People:
    def __init__(self, stack):
        self.stack = stack
        self.tokens = {name: stack.token(name, pw) for name, pw in PASSWORDS.items()}

    def call(self, who, method, path, headers=None, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.stack.base_url}{path}", timeout=30,
                             headers={"Authorization": f"Bearer {self.tokens[who]}",
                                      **(headers or {})}, **kwargs)

    def ok(self, who, method, path, status=200, **kwargs) -> dict:
        reply = self.call(who, method, path, **kwargs)
        assert reply.status_code == status, reply.text
        return reply.json()

    def events(self, who) -> list[dict]:
        return self.ok(who, "GET", "/api/v1/me/notifications?limit=200")["items"]


@pytest.fixture(scope="module")
def people(stack):
    found = People(stack)
    found.ok("county", "POST", f"/api/v1/principal-heads/{SCHOOL}", status=201,
             json={"name": "王校长", "title": "校长", "account_username": "head-school"})
    return found


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def upload(people, who) -> str:
    reply = people.call(who, "POST", "/api/v1/files", content=png(),
                        headers={"X-Filename": "covert.png", "Content-Type": "image/png"})
    assert reply.status_code == 201, reply.text
    return reply.json()["files"][0]["original"]["sha256"]


def waiting(people, unit=None) -> list[dict]:
    items = people.ok("county", "GET", "/api/v1/accountability/proposals?status=proposed")
    return [p for p in items["items"] if unit is None or p["unit"] == unit]


def test_a_covert_finding_is_confirmed_as_a_notice_and_the_unit_and_its_head_hear(people):
    sha = upload(people, "spotcheck")
    # bad input first: no evidence, an unknown unit, a role that may not record findings
    finding = {"unit": SCHOOL, "kind": "perfunctory", "findings": "清理工作走过场,台账空白"}
    refused = people.call("spotcheck", "POST", "/api/v1/accountability/findings", json=finding)
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == "evidence_required"
    assert refused.json()["detail"]["message_zh"]
    assert people.call("spotcheck", "POST", "/api/v1/accountability/findings", json={
        **finding, "unit": "org_nowhere", "evidence": [sha]}).status_code == 422
    assert people.call("handler-school1", "POST", "/api/v1/accountability/findings",
                       json={**finding, "evidence": [sha]}).status_code == 403
    assert waiting(people, SCHOOL) == []

    made = people.ok("spotcheck", "POST", "/api/v1/accountability/findings", status=201,
                     json={**finding, "evidence": [sha]})
    assert (made["step"], made["trigger"], made["documents"]) == ("notice", "perfunctory", [sha])
    [proposal] = waiting(people, SCHOOL)
    assert proposal["id"] == made["id"]
    path = f"/api/v1/accountability/proposals/{proposal['id']}"
    # only the county office decides; a dismissal needs a reason
    assert people.call("supervisor-edu", "POST", f"{path}/confirm", json={}).status_code == 403
    no_reason = people.call("county", "POST", f"{path}/dismiss", json={"reason": "  "})
    assert no_reason.status_code == 422 and no_reason.json()["detail"]["code"] == "reason_required"
    assert [p["id"] for p in waiting(people, SCHOOL)] == [proposal["id"]]

    step = people.ok("county", "POST", f"{path}/confirm", json={"note": "限期十个工作日整改"})
    assert step["step"] == "notice" and step["due_on"] and step["documents"] == [sha]
    twice = people.call("county", "POST", f"{path}/confirm", json={})
    assert twice.status_code == 409 and twice.json()["detail"]["code"] == "already_decided"

    def heard(who):
        return [n for n in people.events(who) if n["event"] == "ladder_confirmed"]
    wait_for(lambda: heard("handler-school1") and heard("head-school"), timeout=60)
    assert len(heard("handler-school1")) == 1 and len(heard("head-school")) == 1
    assert "通报" in heard("head-school")[0]["subject_zh"]
    assert heard("handler-police") == []
    # the county office heard of the proposal to decide it
    assert any(n["event"] == "ladder_proposed" for n in people.events("county"))
    # the unit sees its notice and deadline, never the proposals
    mine = people.ok("handler-school1", "GET", f"/api/v1/accountability/units/{SCHOOL}")
    assert [s["step"] for s in mine["steps"]] == ["notice"] and mine["proposals"] == []
    assert mine["steps"][0]["due_on"] == step["due_on"]
    # the step's chain entry (the ledger's append_record, key case:<id>:notice)
    chained = people.ok("county", "GET", f"/api/v1/accountability/units/{SCHOOL}")["steps"][0]
    assert chained["chain"] and chained["chain"]["seq"] > 0 and len(chained["chain"]["hash"]) == 64
    assert people.call("handler-school1", "GET", f"/api/v1/accountability/units/{POLICE}"
                       ).status_code == 404
    assert people.call("handler-school1", "GET", "/api/v1/accountability/proposals"
                       ).status_code == 403


def test_a_wrong_closure_published_by_a_recheck_proposes_a_step_once(stack, people):
    problem = uuid.uuid4().hex
    event = RecheckRecorded(round_id="r-e2e", item_id=problem, stratum="ordinary", unit=POLICE,
                            verdict="wrong", findings="复查发现问题属实", recheck_by="spotcheck",
                            problem_id=problem, reopen_source="spot_check")
    with Connection(stack.env["AMQP_URI"]) as conn:
        for _ in range(2):  # delivered twice: one proposal
            Producer(conn.default_channel).publish(
                event.to_message(), exchange=event_exchange("audit"),
                routing_key=event.routing_key, serializer="json", delivery_mode=2)
    wait_for(lambda: waiting(people, POLICE), timeout=60)
    [proposal] = waiting(people, POLICE)
    assert (proposal["trigger"], proposal["step"], proposal["problem_ids"]) == (
        "wrong_closure", "notice", [problem])
    done = people.ok("county", "POST",
                     f"/api/v1/accountability/proposals/{proposal['id']}/dismiss",
                     json={"reason": "已查明系录入错误"})
    assert done["status"] == "dismissed"
    # the same facts again (a new message): not proposed again
    again = RecheckRecorded(**{**event.model_dump(), "event_id": uuid.uuid4().hex})
    with Connection(stack.env["AMQP_URI"]) as conn:
        Producer(conn.default_channel).publish(
            again.to_message(), exchange=event_exchange("audit"),
            routing_key=again.routing_key, serializer="json", delivery_mode=2)
    marker = RecheckRecorded(**{**event.model_dump(), "event_id": uuid.uuid4().hex,
                                "item_id": "marker", "problem_id": "marker"})
    with Connection(stack.env["AMQP_URI"]) as conn:  # processed after it, in order
        Producer(conn.default_channel).publish(
            marker.to_message(), exchange=event_exchange("audit"),
            routing_key=marker.routing_key, serializer="json", delivery_mode=2)
    wait_for(lambda: waiting(people, POLICE), timeout=60)
    assert [p["problem_ids"] for p in waiting(people, POLICE)] == [["marker"]]


def test_an_interview_names_the_head_and_names_are_hidden_from_other_roles(people):
    sha = upload(people, "county")
    people.ok("county", "POST", "/api/v1/accountability/findings", status=201, json={
        "unit": SCHOOL, "kind": "falsified", "findings": "整改材料弄虚作假", "evidence": [sha]})
    [proposal] = waiting(people, SCHOOL)
    assert proposal["step"] == "interview"  # after the notice
    step = people.ok("county", "POST",
                     f"/api/v1/accountability/proposals/{proposal['id']}/confirm", json={})
    assert step["head"] == {"title": "校长", "name": "王校长"}
    path = f"/api/v1/accountability/units/{SCHOOL}"
    for who in ("county", "custodian"):
        assert "王校长" in people.call(who, "GET", path).text, who
    for who in ("spotcheck", "supervisor-edu", "handler-school1"):
        reply = people.call(who, "GET", path)
        assert reply.status_code == 200, (who, reply.text)
        assert "王校长" not in reply.text and reply.json()["steps"][0]["names_hidden"], who
    assert people.call("media", "GET", path).status_code == 403


def test_the_workbench_pages_decide_refuse_and_show_a_unit_its_own_deadlines(stack, people):
    from tests.support.workbench import Staff

    county = Staff(stack, "county")
    spot = Staff(stack, "spotcheck")
    form = spot.get("/workbench/accountability/findings")
    assert form.status_code == 200 and "走过场" in form.text
    token = spot.token("/workbench/accountability/findings")
    posted = spot.http.post("/workbench/accountability/findings", data={
        "csrftoken": token, "unit": POLICE, "kind": "perfunctory",
        "findings": "窗口暗访:推诿扯皮"}, files={"file:evidence": ("scene.png", png(),
                                                                  "image/png")})
    assert posted.status_code == 303, posted.text
    [proposal] = [p for p in waiting(people, POLICE) if p["trigger"] == "perfunctory"]
    assert len(proposal["documents"]) == 1
    page = county.get("/workbench/accountability")
    assert page.status_code == 200 and proposal["id"] in page.text
    refused = county.post(f"/workbench/accountability/proposals/{proposal['id']}/dismiss",
                          {"reason": ""})
    assert refused.status_code == 422 and "须填写" in refused.text
    assert proposal["id"] in [p["id"] for p in waiting(people, POLICE)]
    done = county.post(f"/workbench/accountability/proposals/{proposal['id']}/confirm",
                       {"skip_reason": "", "note": "限期整改"})
    assert done.status_code == 303
    assert proposal["id"] not in [p["id"] for p in waiting(people, POLICE)]
    # the waiting re-check proposal of the unit climbs with it (notice given: interview next)
    assert [p["step"] for p in waiting(people, POLICE)] == ["interview"]
    handler = Staff(stack, "handler-police")
    mine = handler.get("/workbench/accountability/mine")
    assert mine.status_code == 200 and "通报" in mine.text and "限期整改" in mine.text
    assert handler.get("/workbench/accountability").status_code == 403
    unit = county.get(f"/workbench/accountability/units/{POLICE}")
    assert unit.status_code == 200 and "不予采纳" in unit.text  # the earlier dismissal
