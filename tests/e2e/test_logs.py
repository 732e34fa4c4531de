"""One id finds a clue's whole path, and a staff action's, in the real processes' logs:
the gateway, intake, ledger and notify each write JSON lines carrying the correlation id of
the request or message they handled; nothing secret is in any line, and a refusal is one
line without a traceback."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.support.notify_sinks import WebhookReceiver, wait_for
from tests.support.workbench import PASSWORDS, SCHOOL, Staff, workbench_stack

pytestmark = pytest.mark.e2e
PROCESSES = ("gateway", "intake", "ledger", "notify", "audit")
REPORTER = {"name": "赵六", "phone": "13987654321", "email": "zhaoliu.reporter@example.cn"}


@pytest.fixture(scope="module")
def receiver():
    running = WebhookReceiver().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """A stack of its own: the test reads every line its processes wrote."""
    yield from workbench_stack(amqp_uri, tmp_path_factory)


def lines(stack, process: str) -> list[dict]:
    """Every line of the process's log as JSON (a line that is not JSON fails the test)."""
    text = (stack.logs / f"{process}.log").read_text(encoding="utf-8")
    parsed = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{process}.log line {number} is not JSON: {line[:300]}")
        assert isinstance(record, dict) and {"time", "level", "logger", "event"} <= set(record)
        parsed.append(record)
    return parsed


def carrying(stack, process: str, cid: str) -> list[dict]:
    """The lines about ``cid``'s work (a batch's line names each of its messages' ids)."""
    return [r for r in lines(stack, process)
            if r.get("correlation_id") == cid or cid in r.get("correlation_ids", ())]


def token_of(stack, who: str) -> str:
    return stack.token(who, PASSWORDS[who])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def registered(stack, county: dict, clue_id: str) -> str:
    def problem_id():
        items = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", headers=county,
                          timeout=10).json()["items"]
        return next((p["id"] for p in items if p["clue_id"] == clue_id), None)
    return wait_for(problem_id, timeout=60)


def notified(stack, who: dict, pid: str) -> bool:
    items = httpx.get(f"{stack.base_url}/api/v1/me/notifications", headers=who,
                      timeout=10).json()["items"]
    return any(pid in json.dumps(item, ensure_ascii=False) for item in items)


def test_one_id_follows_a_clue_and_a_staff_action_and_no_secret_is_logged(stack, receiver):
    secrets: list[str] = [REPORTER["phone"], REPORTER["email"], *PASSWORDS.values()]
    county_token = token_of(stack, "county")
    handler_token = token_of(stack, "handler-school1")
    secrets += [county_token, handler_token]
    county, handler = bearer(county_token), bearer(handler_token)
    webhook = httpx.put(f"{stack.base_url}/api/v1/me/notifications/preferences",
                        headers=handler, json={"webhook_url": receiver.url}, timeout=10)
    assert webhook.status_code == 200, webhook.text
    secrets.append(webhook.json()["webhook_secret"])

    # a named clue from the public, under the caller's own request id
    clue_cid = f"clue-{uuid.uuid4().hex}"
    filed = httpx.post(f"{stack.base_url}/api/v1/clues", headers={"X-Request-ID": clue_cid},
                       timeout=10, json={
                           "channel": "public_report_platform", "title": "食堂卫生问题(日志)",
                           "description": "学校食堂卫生问题多次反映无人处理,联系电话 "
                                          + REPORTER["phone"],
                           "kind": "inaction", "subject_unit": SCHOOL, "anonymous": False,
                           "reporter": REPORTER})
    assert filed.status_code == 202, filed.text
    assert filed.headers["x-request-id"] == clue_cid
    clue_id, receipt = filed.json()["clue_id"], filed.json()["receipt_code"]
    secrets += [receipt, receipt.replace("-", "")]
    pid = registered(stack, county, clue_id)

    # the reporter follows up; a wrong code is refused; the custodian opens the contact
    looked = httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                        json={"receipt_code": receipt})
    assert looked.status_code == 200, looked.text
    wrong = httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                       json={"receipt_code": "AAAA-BBBB-CCCC-DDDD"})
    assert wrong.status_code == 404, wrong.text
    opened = httpx.post(f"{stack.base_url}/api/v1/clues/{clue_id}/contact", timeout=10,
                        headers=bearer(token_of(stack, "custodian")),
                        json={"reason": "举报人要求反馈办理结果,需电话联系"})
    assert opened.status_code == 200 and opened.json()["contact"]["phone"] == REPORTER["phone"]

    # the staff action through the API: the county office dispatches it to the school
    act_cid = uuid.uuid4().hex
    dispatched = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/dispatch", timeout=30,
                            headers={**county, "traceparent": f"00-{act_cid}-00f067aa0ba902b7-01"},
                            json={"respond_days": 5})
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.headers["x-request-id"] == act_cid  # a W3C trace's id is taken
    wait_for(lambda: notified(stack, handler, pid), timeout=60)
    wait_for(lambda: receiver.requests, timeout=60)  # the webhook, signed with its secret

    # and one from a workbench page: the county office dispatches a second problem
    second = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json={
        "channel": "public_report_platform", "title": "食堂卫生问题(工作台)",
        "description": "学校食堂卫生问题多次反映无人处理", "kind": "inaction",
        "subject_unit": SCHOOL})
    assert second.status_code == 202
    pid2 = registered(stack, county, second.json()["clue_id"])
    page = Staff(stack, "county").post(f"/workbench/problems/{pid2}/dispatch",
                                       {"unit": "盐山中学", "respond_days": "5"})
    assert page.status_code == 303, page.text
    page_cid = page.headers["x-request-id"]
    wait_for(lambda: notified(stack, handler, pid2), timeout=60)

    # one search: the clue's id in every process it went through, the actions' too
    wait_for(lambda: carrying(stack, "notify", clue_cid) and carrying(stack, "notify", act_cid)
             and carrying(stack, "notify", page_cid), timeout=30)
    for process in ("gateway", "intake", "ledger", "notify"):
        assert carrying(stack, process, clue_cid), process
    for cid in (act_cid, page_cid):
        for process in ("gateway", "ledger", "notify"):
            assert carrying(stack, process, cid), (process, cid)
    assert any(r["event"].startswith("POST /api/v1/clues 202")
               for r in carrying(stack, "gateway", clue_cid))
    assert any(clue_id in r.get("event_ids", ()) for r in carrying(stack, "intake", clue_cid))
    assert any(r["event"] == "rpc ledger.act" for r in carrying(stack, "ledger", act_cid))
    assert any(r["event"].startswith("applied problem.dispatched")
               for r in carrying(stack, "notify", act_cid))

    # the refusal: one line in intake, no traceback; the gateway's line says 404
    wrong_cid = wrong.headers["x-request-id"]
    refused = carrying(stack, "intake", wrong_cid)
    assert len(refused) == 1 and refused[0]["event"].startswith("refused ")
    assert refused[0]["level"] == "info" and "exception" not in refused[0]
    assert [r["status"] for r in carrying(stack, "gateway", wrong_cid)] == [404]

    # every line of every process JSON, nothing secret anywhere
    for process in PROCESSES:
        assert lines(stack, process), process
        text = (stack.logs / f"{process}.log").read_text(encoding="utf-8")
        assert "Traceback" not in text, process
        for secret in secrets:
            assert secret not in text and json.dumps(secret)[1:-1] not in text, (
                process, secret[:4])
