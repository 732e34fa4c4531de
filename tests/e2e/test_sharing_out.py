"""Sharing out (issue 12 item 5) through the real stack: the county office creates two partner
platforms on the workbench, each with a webhook receiver of its own; a problem transferred to
one arrives there signed with that partner's secret (verified with ``standardwebhooks``, as
the partner would) and the reporter's follow-up says where it went; a request a partner
submitted through Open311 has each step of its handling pushed to that partner, and the other
partner hears nothing of either.
"""
from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from contracts.events import problem_id_for
from kit.db import default_url, make_engine
from services.notify.adapters import orm as notify_orm
from tests.support.notify_sinks import WebhookReceiver
from tests.support.workbench import SCHOOL, Staff, act, api, wait_until, workbench_stack

pytestmark = pytest.mark.e2e

SECRETS = {"partner-jw": "jw-platform-shared-secret-2017",
           "partner-zf": "zf-platform-shared-secret-2017"}
NAMES = {"partner-jw": "县纪委党风政风监督举报平台(测试)", "partner-zf": "作风整顿平台(测试)"}
CHANNELS = {"partner-jw": "partner_discipline_platform", "partner-zf": "partner_conduct_platform"}


@pytest.fixture(scope="module")
def receivers():
    running = {name: WebhookReceiver().start() for name in SECRETS}
    yield running
    for receiver in running.values():
        receiver.stop()


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    yield from workbench_stack(amqp_uri, tmp_path_factory)


@pytest.fixture(scope="module")
def keys(stack, receivers) -> dict[str, str]:
    """Both partners, created on the workbench; their API keys. Returns once notify holds
    their webhooks and channels (read from its store: nothing else shows it)."""
    county = Staff(stack, "county")
    found = {}
    for username in SECRETS:
        page = county.post("/workbench/partners/new", [
            ("display_name", NAMES[username]), ("username", username),
            ("channels", CHANNELS[username]), ("webhook_url", receivers[username].url),
            ("webhook_secret", SECRETS[username])])
        assert page.status_code == 201, page.text
        found[username] = re.search(r'id="api-key">([^<]+)<', page.text).group(1)
    engine = make_engine(default_url("notify", stack.data_dir))

    def notify_knows_both():
        with engine.connect() as conn:
            hooks = conn.execute(select(notify_orm.preferences.c.webhook_url).join(
                notify_orm.partner_links, notify_orm.partner_links.c.account_id
                == notify_orm.preferences.c.account_id)).scalars().all()
        return sorted(h for h in hooks if h) == sorted(r.url for r in receivers.values())

    wait_until(notify_knows_both)
    engine.dispose()
    return found


def deliveries(receiver: WebhookReceiver, secret: str) -> list[dict]:
    """What arrived, each verified with the partner's own secret as the partner would."""
    return [Webhook(secret.encode()).verify(body, headers)
            for _, headers, body in receiver.requests]


def about(receiver, username, field, value) -> list[dict]:
    return [d for d in deliveries(receiver, SECRETS[username])
            if (d["data"].get("transferred") or d["data"]).get(field) == value]


def test_a_problem_transferred_to_a_partner_arrives_signed_and_the_receipt_says_where(
        stack, keys, receivers):
    filed = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json={
        "channel": "public_report_platform", "title": "某局干部吃拿卡要", "kind": "misconduct",
        "subject_unit": SCHOOL, "description": "办事时索要好处费,群众多次反映无人处理",
        "anonymous": False, "reporter": {"name": "张三", "phone": "13900000000"}})
    assert filed.status_code == 202, filed.text
    clue_id, receipt = filed.json()["clue_id"], filed.json()["receipt_code"]
    pid = problem_id_for(clue_id)
    county = api(stack, "county")
    wait_until(lambda: httpx.get(f"{stack.base_url}/api/v1/problems/{pid}", headers=county,
                                 timeout=10).status_code == 200)
    # the workbench's transfer form offers the partners by name
    office = Staff(stack, "county")
    form = office.get(f"/workbench/problems/{pid}/transfer_out")
    assert form.status_code == 200
    assert all(f'<option value="{u}">{NAMES[u]}</option>' in form.text for u in NAMES)
    tampered = office.post(f"/workbench/problems/{pid}/transfer_out", {
        "partner": "partner-nobody", "reason": "属纪委", "_confirm": "yes"})
    assert tampered.status_code == 422 and "没有名为“partner-nobody”的协作平台" in tampered.text
    # an unknown partner: refused in both languages, nothing changed
    refused = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/transfer_out", timeout=30,
                         headers=county, json={"partner": "partner-nobody", "reason": "属纪委"})
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == "unknown_partner"
    assert "协作平台" in refused.json()["detail"]["message_zh"]
    assert httpx.get(f"{stack.base_url}/api/v1/problems/{pid}", headers=county,
                     timeout=10).json()["state"] == "registered"

    done = office.post(f"/workbench/problems/{pid}/transfer_out", {  # 移交至 left empty
        "partner": "partner-jw", "reason": "属党风政风问题,移交纪委平台办理", "_confirm": "yes"})
    assert done.status_code == 303, done.text
    arrived = wait_until(lambda: about(receivers["partner-jw"], "partner-jw", "problem_id", pid))
    case = arrived[0]["data"]["transferred"]
    assert arrived[0]["type"] == "notice.transferred"
    assert (case["clue_id"], case["title"], case["kind"], case["unit"]) == (
        clue_id, "某局干部吃拿卡要", "misconduct", SCHOOL)
    assert case["description"] == "办事时索要好处费,群众多次反映无人处理"
    assert case["reason"] == "属党风政风问题,移交纪委平台办理" and case["to"] == NAMES["partner-jw"]
    raw = json.dumps(arrived, ensure_ascii=False)
    assert receipt not in raw and "13900000000" not in raw and "张三" not in raw

    # the reporter's follow-up: where it went, not why
    follow = httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                        json={"receipt_code": receipt}).json()
    last = follow["stages"][-1]
    assert last["stage"] == "transferred" and last["destination"] == NAMES["partner-jw"]
    assert last["public_findings"] == f"已移交至{NAMES['partner-jw']}办理。"
    assert "属党风政风问题" not in json.dumps(follow, ensure_ascii=False)
    # the other partner heard nothing of it
    assert about(receivers["partner-zf"], "partner-zf", "problem_id", pid) == []
    assert all(pid not in body.decode() for _, _, body in receivers["partner-zf"].requests)


def test_a_partners_own_request_has_each_step_pushed_to_it_and_to_no_other(
        stack, keys, receivers):
    reply = httpx.post(f"{stack.base_url}/open311/v2/requests.json", timeout=30, data={
        "api_key": keys["partner-jw"], "service_code": "c7_livelihood_services",
        "description": "县医院医生收红包,多次反映无人处理", "attribute[kind]": "misconduct",
        "attribute[subject_unit]": SCHOOL})
    assert reply.status_code == 200, reply.text
    request_id = reply.json()[0]["service_request_id"]
    pid = problem_id_for(request_id)
    county = api(stack, "county")
    wait_until(lambda: httpx.get(f"{stack.base_url}/api/v1/problems/{pid}", headers=county,
                                 timeout=10).status_code == 200)
    act(stack, "county", pid, "dispatch", respond_days=5)
    pushed = wait_until(lambda: about(receivers["partner-jw"], "partner-jw",
                                      "service_request_id", request_id))
    step = pushed[0]["data"]
    assert (step["status"], step["state"], step["event"]) == ("open", "dispatched",
                                                              "dispatched")
    assert step["at"] and pushed[0]["type"] == "notice.dispatched"
    # the next step too, as it happens, even one no staff notice names (中止计时)
    act(stack, "county", pid, "suspend", reason="等待上级部门意见")
    later = wait_until(lambda: [d for d in about(receivers["partner-jw"], "partner-jw",
                                                 "service_request_id", request_id)
                                if d["data"]["event"] == "suspended"])
    assert (later[0]["data"]["status"], later[0]["data"]["state"]) == ("open", "dispatched")
    # the other partner, whose secret would not even verify these, heard nothing
    assert all(request_id not in body.decode() for _, _, body in receivers["partner-zf"].requests)
