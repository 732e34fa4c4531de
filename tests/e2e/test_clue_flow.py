"""A clue in through the gateway, registered in the ledger, followed by receipt."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.stack import SERVICES

pytestmark = pytest.mark.e2e

CLUE = {"channel": "public_report_platform", "title": "审批窗口推诿扯皮",
        "description": "行政审批局窗口多次推诿,未履行一次性告知义务", "category": None}


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def submit(stack, body=None, **headers) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/api/v1/clues", json=body or CLUE, headers=headers,
                      timeout=10)


def follow(stack, receipt: str) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                      json={"receipt_code": receipt})


def test_a_public_clue_is_accepted_registered_and_followed_by_receipt(stack):
    reply = submit(stack, {**CLUE, "subject_unit": "org_gd_administrative_approval",
                           "category": "c5_government_services", "kind": "slowness"})
    assert reply.status_code == 202, reply.text
    from gateway.routes.clues import ClueAcceptedOut  # the documented answer, exactly

    assert ClueAcceptedOut.model_validate(reply.json()).model_dump() == reply.json()
    assert reply.json()["status"] == "accepted"
    assert reply.headers["content-type"] == "application/json"
    receipt = reply.json()["receipt_code"]

    def registered():
        seen = follow(stack, receipt)
        return seen.status_code == 200 and seen.json()["status"] == "registered" and seen
    view = wait_for(registered).json()
    assert view["status_zh"] == "已登记入台账"
    assert "title" not in view and "description" not in view

    county = stack.token("county", "dev-county-2017!")
    listed = httpx.get(f"{stack.base_url}/api/v1/problems", timeout=10,
                       headers={"Authorization": f"Bearer {county}"}).json()
    mine = [p for p in listed["items"] if p["clue_id"] == reply.json()["clue_id"]]
    assert len(mine) == 1 and mine[0]["state"] == "registered"
    assert mine[0]["unit"] == "org_gd_administrative_approval"


def test_every_consumer_records_under_the_name_its_batches_are_claimed_by(stack):
    """A batch claims its messages in the inbox as ``<service>.<method>``; a handler that
    passed another name to ``consume_once`` would record every message a second time."""
    import sqlite3

    from contracts.topology import SUBSCRIPTIONS

    declared = {f"{s.service}.{s.method}" for s in SUBSCRIPTIONS}
    assert submit(stack).status_code == 202

    def inboxes():
        found = {}
        for service in ("intake", "ledger", "notify", "audit"):
            with sqlite3.connect(stack.data_dir / f"{service}.db") as db:
                found[service] = db.execute("SELECT consumer, COUNT(*) FROM inbox "
                                            "GROUP BY consumer").fetchall()
        return all(found.values()) and found
    for service, rows in wait_for(inboxes).items():
        names = {name for name, _ in rows}
        assert names <= declared, f"{service} records under undeclared names {names - declared}"


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(stack):
    key = f"retry-{uuid.uuid4()}"
    first = submit(stack, **{"Idempotency-Key": key})
    again = submit(stack, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    county = stack.token("county", "dev-county-2017!")

    def registered():
        reply = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", timeout=10,
                          headers={"Authorization": f"Bearer {county}"}).json()
        return [p for p in reply["items"] if p["clue_id"] == first.json()["clue_id"]]
    assert len(wait_for(registered)) == 1
    time.sleep(0.5)
    assert len(registered()) == 1


def test_a_unit_handler_sees_only_its_own_units_problems(stack):
    reply = submit(stack, {**CLUE, "subject_unit": "org_gd_public_security"})
    problem_clue = reply.json()["clue_id"]
    county = stack.token("county", "dev-county-2017!")
    auth = {"Authorization": f"Bearer {county}"}
    item = wait_for(lambda: [p for p in httpx.get(
        f"{stack.base_url}/api/v1/problems?limit=200", headers=auth).json()["items"]
        if p["clue_id"] == problem_clue])[0]
    police = {"Authorization": f"Bearer {stack.token('handler-police', 'dev-handler-police-2017!')}"}
    school = {"Authorization": f"Bearer {stack.token('handler-school1', 'dev-handler-school1-2017!')}"}
    assert httpx.get(f"{stack.base_url}/api/v1/problems/{item['id']}", headers=police).status_code == 200
    assert httpx.get(f"{stack.base_url}/api/v1/problems/{item['id']}", headers=school).status_code == 404
    school_list = httpx.get(f"{stack.base_url}/api/v1/problems", headers=school).json()
    assert all(p["unit"] == "org_sch_yanshan_high" for p in school_list["items"])


@pytest.mark.parametrize("body,status,code", [
    ({"title": "缺少渠道", "description": "没有填写渠道字段"}, 422, None),
    ({**CLUE, "title": 12345}, 422, None),
    ({**CLUE, "channel": "carrier_pigeon"}, 422, "unknown_channel"),
    ({**CLUE, "subject_unit": "org_nowhere"}, 422, "unknown_unit"),
    ({**CLUE, "channel": "letter"}, 422, "channel_not_public"),
    ({**CLUE, "anonymous": False}, 422, "contact_required"),
    ({**CLUE, "surprise": "field"}, 422, None),
])
def test_bad_clues_get_a_clear_4xx_and_write_nothing(stack, body, status, code):
    before = httpx.get(f"{stack.base_url}/readyz").status_code
    reply = submit(stack, body)
    assert reply.status_code == status, reply.text
    if code:
        assert reply.json()["detail"]["code"] == code
        assert reply.json()["detail"]["message_zh"]
    assert before == 200


def test_oversized_and_malformed_bodies_are_refused(stack):
    huge = {**CLUE, "description": "很" * (10 * 1024 * 1024 // 3)}
    reply = submit(stack, huge)
    assert reply.status_code == 413 and reply.json()["detail"]["code"] == "body_too_large"
    long_text = submit(stack, {**CLUE, "description": "长" * 5001})
    assert long_text.status_code == 422
    broken = httpx.post(f"{stack.base_url}/api/v1/clues", content=b"{not json",
                        headers={"content-type": "application/json"})
    assert broken.status_code == 422
    unknown = follow(stack, "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert unknown.status_code == 404 and unknown.json()["detail"]["message_zh"]


@pytest.mark.parametrize("key", ["short", "has a space in it", "x" * 129, "非ASCII的键值很长很长"])
def test_a_bad_idempotency_key_is_a_bilingual_422(stack, key):
    reply = httpx.post(f"{stack.base_url}/api/v1/clues", json=CLUE, timeout=10,
                       headers={"Idempotency-Key": key.encode()})
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert detail["code"] == "invalid_idempotency_key" and detail["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in detail["message_zh"]


def test_a_body_that_is_not_json_or_breaks_the_schema_is_refused_clearly(stack):
    url = f"{stack.base_url}/api/v1/clues"
    form = httpx.post(url, data={"title": "表单提交"}, timeout=10)
    assert form.status_code == 415 and form.json()["detail"]["code"] == "unsupported_media_type"
    assert "JSON" in form.json()["detail"]["message_zh"]
    errors = submit(stack, {"channel": "public_report_platform", "title": 12345}).json()["detail"]
    # FastAPI's shape: one entry per problem, located in the body
    assert {(tuple(e["loc"]), e["type"]) for e in errors} == {
        (("body", "title"), "string_type"), (("body", "description"), "missing")}
    assert {e["loc"][-1]: e["message_zh"] for e in errors} == {
        "title": "应为文本", "description": "缺少必填项"}  # and in Chinese
    too_long = submit(stack, {**CLUE, "title": "长" * 201}).json()["detail"]
    assert [e["message_zh"] for e in too_long] == ["最多 200 个字符"]
    nested = submit(stack, {**CLUE, "reporter": {"phone": "call me"}}).json()["detail"]
    assert [tuple(e["loc"]) for e in nested] == [("body", "reporter", "phone")]
    assert nested[0]["message_zh"] == "格式不正确"
    empty = httpx.post(url, content=b"", headers={"content-type": "application/json"}, timeout=10)
    assert empty.status_code == 422 and empty.json()["detail"][0]["type"] == "json_invalid"
    broken = httpx.post(url, content=b'{"title": "' + b"x" * 5000, timeout=10,
                        headers={"content-type": "application/json"}).json()["detail"]
    assert broken[0]["type"] == "json_invalid" and len(json.dumps(broken)) < 1000


def test_the_clue_body_is_documented_with_its_nested_reporter(stack):
    spec = httpx.get(f"{stack.base_url}/openapi.json").json()
    body = spec["paths"]["/api/v1/clues"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] and {"channel", "title", "description"} <= set(schema["required"])
    reporter = next(s for s in schema["properties"]["reporter"]["anyOf"] if s.get("properties"))
    assert set(reporter["properties"]) == {"name", "phone", "email"}
    assert "$ref" not in json.dumps(schema)


def test_the_idempotency_key_is_documented_on_the_clue_route(stack):
    spec = httpx.get(f"{stack.base_url}/openapi.json").json()
    params = spec["paths"]["/api/v1/clues"]["post"]["parameters"]
    assert [p["name"] for p in params if p["in"] == "header"] == ["Idempotency-Key"]


def test_nothing_is_written_for_refused_clues(stack):
    county = {"Authorization": f"Bearer {stack.token('county', 'dev-county-2017!')}"}
    before = httpx.get(f"{stack.base_url}/api/v1/problems", headers=county).json()["total"]
    for bad in ({**CLUE, "channel": "nope"}, {**CLUE, "description": "x" * 6000},
                {**CLUE, "title": "坏的幂等键"}):
        headers = {"Idempotency-Key": "bad key"} if bad["title"] == "坏的幂等键" else {}
        assert submit(stack, bad, **headers).status_code == 422
    time.sleep(1.0)
    assert httpx.get(f"{stack.base_url}/api/v1/problems", headers=county).json()["total"] == before


def test_health_and_readiness(stack):
    assert httpx.get(f"{stack.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{stack.base_url}/readyz").json()
    assert ready["status"] == "ready"
    assert set(ready["checks"]) == {"broker", "intake", "ledger", "notify", "audit"}


def test_a_message_that_keeps_failing_is_dead_lettered_not_dropped_or_looped(stack):
    from kombu import Connection, Producer

    from contracts.topology import DELIVERY_LIMIT, dead_letter_queue, event_exchange

    poison = {"event_id": f"poison-{uuid.uuid4().hex[:8]}", "clue_id": None}
    with Connection(stack.env["AMQP_URI"]) as conn:
        Producer(conn.default_channel).publish(
            poison, exchange=event_exchange("gateway"), routing_key="clue_submitted",
            serializer="json", delivery_mode=2)
        dead = conn.SimpleQueue(dead_letter_queue())
        message = dead.get(timeout=30)
        try:
            assert message.payload == poison
            # it breaks its contract: dead-lettered at once, with the reason
            assert "breaks its contract" in message.headers["x-poison-reason"]
            assert message.headers["x-poison-queue"] == (
                "evt-gateway-clue_submitted--intake.on_clue_submitted")
        finally:
            message.ack()
            dead.close()
    assert DELIVERY_LIMIT >= 1
    reply = submit(stack)
    assert reply.status_code == 202
    receipt = reply.json()["receipt_code"]
    wait_for(lambda: follow(stack, receipt).json().get("status") == "registered")


def test_the_services_yield_the_cores_to_the_gateway(stack):
    """Front door first (kit/priority.py): the services run as batch work, the gateway not."""
    for name in SERVICES:
        pid = stack.procs[name].pid
        assert os.getpriority(os.PRIO_PROCESS, pid) == 19, name
        group = Path(f"/proc/{pid}/autogroup")
        if group.exists():
            assert group.read_text().split()[-1] == "19", name
    gateway = stack.procs["gateway"].pid
    assert os.getpriority(os.PRIO_PROCESS, gateway) == os.getpriority(os.PRIO_PROCESS, 0)


# --- whatever the gateway accepts, every store keeps (issue 8, hole 2) ----------------------

@pytest.mark.parametrize("field,text", [
    ("title", "审批窗口\u0000推诿"), ("description", "窗口工作人员\x07多次推诿扯皮"),
    ("place", "政务中心\x1b二楼"), ("description", "窗口工作人员多次推诿\u0085扯皮")])
def test_a_clue_holding_a_character_no_store_keeps_is_refused_at_the_door(stack, field, text):
    reply = submit(stack, {**CLUE, field: text})
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert (detail["code"], detail["field"]) == ("unstorable_character", field)
    assert "控制字符" in detail["message_zh"] and "control character" in detail["message"]


def test_a_lone_surrogate_is_refused_and_line_breaks_are_kept(stack):
    body = json.dumps({**CLUE, "title": "审批\ud800窗口"}).encode()  # escaped as \ud800
    reply = httpx.post(f"{stack.base_url}/api/v1/clues", content=body, timeout=10,
                       headers={"content-type": "application/json"})
    assert reply.status_code == 422, reply.text
    lines = submit(stack, {**CLUE, "description": "第一次去窗口:推诿\n第二次:\t仍然推诿"})
    assert lines.status_code == 202, lines.text


# --- Idempotency-Key: scoped to its caller, bound to its body (hole 3) -----------------------

def test_the_same_key_with_another_body_is_refused_and_gives_nothing_away(stack):
    key = f"body-{uuid.uuid4()}"
    first = submit(stack, CLUE, **{"Idempotency-Key": key})
    assert first.status_code == 202
    other = submit(stack, {**CLUE, "title": "另一条线索的标题"}, **{"Idempotency-Key": key})
    assert other.status_code == 422, other.text
    detail = other.json()["detail"]
    assert (detail["code"], detail["field"]) == ("idempotency_key_reused", "Idempotency-Key")
    assert "Idempotency-Key" in detail["message_zh"]
    assert first.json()["receipt_code"] not in other.text
    assert first.json()["clue_id"] not in other.text
    again = submit(stack, CLUE, **{"Idempotency-Key": key})
    assert again.json() == first.json()


def test_an_idempotency_key_belongs_to_its_caller(stack):
    key = f"scope-{uuid.uuid4()}"
    county = {"Authorization": f"Bearer {stack.token('county', 'dev-county-2017!')}"}
    public = submit(stack, CLUE, **{"Idempotency-Key": key})
    staff = httpx.post(f"{stack.base_url}/api/v1/clues", json=CLUE, timeout=10,
                       headers={**county, "Idempotency-Key": key})
    assert public.status_code == staff.status_code == 202, staff.text
    assert public.json()["clue_id"] != staff.json()["clue_id"]
    assert public.json()["receipt_code"] != staff.json()["receipt_code"]
    staff_again = httpx.post(f"{stack.base_url}/api/v1/clues", json=CLUE, timeout=10,
                             headers={**county, "Idempotency-Key": key})
    assert staff_again.json() == staff.json()


# --- receipt codes: random, known only to the reporter (holes 4 and 5) ----------------------

def test_a_receipt_code_is_random_not_computable_from_the_clue_id(stack):
    import base64
    import hashlib
    import hmac

    from kit.settings import DEV_SECRET

    replies = [submit(stack, CLUE, **{"Idempotency-Key": f"rnd-{uuid.uuid4()}"})
               for _ in range(2)] + [submit(stack)]
    for reply in replies:
        assert reply.status_code == 202
        clue_id, code = reply.json()["clue_id"], reply.json()["receipt_code"]
        derived = base64.b32encode(hmac.new(DEV_SECRET.encode(), clue_id.encode(),
                                            hashlib.sha256).digest()[:10]).decode()
        assert code.replace("-", "") != derived
        assert len(code.replace("-", "")) * 5 >= 80
    assert len({r.json()["receipt_code"] for r in replies}) == 3


def test_the_gateway_keeps_no_receipt_code_nor_clue_id_in_clear(stack):
    import sqlite3

    reply = submit(stack, CLUE, **{"Idempotency-Key": f"kept-{uuid.uuid4()}"})
    code, clue_id = reply.json()["receipt_code"], reply.json()["clue_id"]
    with sqlite3.connect(stack.data_dir / "gateway.db") as db:
        rows = db.execute("SELECT * FROM idempotency_keys").fetchall()
    assert rows
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows
                      for v in row)
    for secret in (code, code.replace("-", ""), clue_id):
        assert secret.encode() not in stored


def test_the_broker_never_carries_a_receipt_code_or_a_contact_in_clear(stack):
    import hashlib

    from kombu import Connection, Exchange, Queue

    from kit.sealing import fernet_from, unseal

    contact = {"name": "王五", "phone": "13912345678", "email": "wangwu@example.cn"}
    tap = Queue(f"test-tap-{uuid.uuid4().hex[:8]}", Exchange("gateway.events", type="topic",
                durable=True), routing_key="clue_submitted", exclusive=True, auto_delete=True)
    with Connection(stack.env["AMQP_URI"]) as conn:
        tap(conn.default_channel).declare()
        reply = submit(stack, {**CLUE, "anonymous": False, "reporter": contact})
        assert reply.status_code == 202, reply.text
        code = reply.json()["receipt_code"]
        with conn.SimpleQueue(tap) as queue:
            message = queue.get(timeout=10)
            message.ack()
    raw = message.body if isinstance(message.body, str) else message.body.decode()
    for secret in (code, code.replace("-", ""), *contact.values()):
        assert secret not in raw and json.dumps(secret)[1:-1] not in raw
    body = json.loads(raw)
    digest = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    assert body["_v"] == 2 and body["receipt_digest"] == digest
    assert unseal(fernet_from(None, "development"), body["reporter_sealed"]) == contact
    wait_for(lambda: follow(stack, code).json().get("status") == "registered")


# --- receipt codes never travel in a URL (hole 17) ------------------------------------------

def test_receipt_codes_never_travel_in_a_url(stack):
    code = submit(stack).json()["receipt_code"]
    assert httpx.get(f"{stack.base_url}/api/v1/receipts/{code}").status_code in (404, 405)
    old_dispute = httpx.post(f"{stack.base_url}/api/v1/receipts/{code}/dispute",
                             json={"reason": "问题依然存在"})
    assert old_dispute.status_code in (404, 405)
    paths = httpx.get(f"{stack.base_url}/openapi.json").json()["paths"]
    assert not [p for p in paths if "receipt" in p and "{" in p]
    assert wait_for(lambda: follow(stack, code).status_code == 200)
    assert submit(stack).json()["status_url"] == "/api/v1/receipts/lookup"


# --- a merged report follows the surviving problem (hole 10) --------------------------------

SCHOOL = {**CLUE, "subject_unit": "org_sch_yanshan_high", "kind": "misconduct",
          "category": "c7_livelihood_services"}
PASSWORDS = {"county": "dev-county-2017!", "supervisor-edu": "dev-supervisor-edu-2017!",
             "handler-school1": "dev-handler-school1-2017!"}


def test_a_merged_report_follows_the_surviving_problem_and_its_dispute_reaches_it(stack):
    auth = {who: {"Authorization": f"Bearer {stack.token(who, pw)}"}
            for who, pw in PASSWORDS.items()}
    filed = [submit(stack, {**SCHOOL, "title": f"学校乱收费 {n}"}).json() for n in (1, 2)]

    def problem_of(clue_id):
        items = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", timeout=10,
                          headers=auth["county"]).json()["items"]
        return next((p["id"] for p in items if p["clue_id"] == clue_id), None)

    def act(who, pid, action, **body):
        reply = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/{action}", json=body,
                           headers=auth[who], timeout=30)
        assert reply.status_code == 200, (action, reply.text)

    merged, survivor = (wait_for(lambda c=f["clue_id"]: problem_of(c)) for f in filed)
    code = filed[0]["receipt_code"]
    act("county", merged, "merge", into=survivor, note="同一问题")
    view = wait_for(lambda: (v := follow(stack, code).json()).get("merged") and v)
    assert (view["status"], view["may_dispute"]) == ("registered", False)
    assert view["status_zh"] != "已办结" and view["merged_zh"]

    early = httpx.post(f"{stack.base_url}/api/v1/receipts/dispute", timeout=10,
                       json={"receipt_code": code, "reason": "问题依然存在,请重新核查"})
    assert early.status_code == 409 and "仍在办理" in early.json()["detail"]["message_zh"]

    act("county", survivor, "dispatch", respond_days=3)
    assert wait_for(lambda: follow(stack, code).json()["status"] == "in_progress")
    act("handler-school1", survivor, "report_unfounded", findings="经查,未收取任何资料费",
        evidence=[{"description": "财务收费台账"}])
    act("supervisor-edu", survivor, "accept_unfounded")
    closed = wait_for(lambda: (v := follow(stack, code).json()).get("may_dispute") and v)
    assert (closed["status"], closed["outcome"]) == ("closed", "unfounded")

    dispute = httpx.post(f"{stack.base_url}/api/v1/receipts/dispute", timeout=10,
                         json={"receipt_code": code, "reason": "我有收费收据,问题确实存在"})
    assert dispute.status_code == 200, dispute.text
    reopened = httpx.get(f"{stack.base_url}/api/v1/problems/{survivor}", timeout=10,
                         headers=auth["county"]).json()
    assert reopened["state"] == "registered"
    assert wait_for(lambda: follow(stack, code).json()["status"] == "registered")
