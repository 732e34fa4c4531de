"""Junk input through the real stack on PostgreSQL: every payload that once reached the
services and came back as a 502 (one with the SQL statement in it) is refused with a 4xx,
and no answer carries internals. Refusals are logged as one line each, and what a user
typed cannot forge a log line."""
from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.e2e.test_ledger_flow import PLAN, Client, new_problem
from tests.support.stack import SERVICES, Stack

pytestmark = pytest.mark.e2e
INTERNALS = re.compile(r"SQL|INSERT|Traceback|Error\b|unhashable|psycopg|sqlalchemy|File \"",
                       re.IGNORECASE)


@pytest.fixture(scope="module")
def stack(amqp_uri, pg_databases, tmp_path_factory):
    """The real processes, every service on a PostgreSQL database of its own."""
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("junk"),
                    database_urls={s: pg_databases.create(s) for s in SERVICES})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def refused(reply: httpx.Response) -> None:
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    assert not INTERNALS.search(reply.text), reply.text


@pytest.mark.parametrize("body", [
    {"title": ["a"], "summary": "本单位清理工作方案全文摘要"},
    {"title": "清理工作方案", "summary": "本单位清理工作方案全文摘要", "document_sha256": "a" * 65},
    {"title": "清理工作方案", "summary": "本单位清理工作方案全文摘要", "document_sha256": "z" * 64},
    {"title": "清理工作方案", "summary": {"text": "摘要"}},
])
def test_a_junk_work_plan_is_refused_at_the_door_and_nothing_is_stored(client, body):
    before = client.call("handler-school1", "GET", "/api/v1/work-plans").json()["items"]
    reply = client.call("handler-school1", "POST", "/api/v1/work-plans", json=body)
    refused(reply)
    assert reply.status_code == 422
    after = client.call("handler-school1", "GET", "/api/v1/work-plans").json()["items"]
    assert after == before


def test_a_work_plan_title_is_stored_as_the_text_that_was_sent(client):
    uploaded = client.call("handler-school1", "POST", "/api/v1/files",
                           content=b"%PDF-1.4\n" + b"0" * 100)  # the document names a file
    digest = uploaded.json()["files"][0]["original"]["sha256"]
    filed = client.call("handler-school1", "POST", "/api/v1/work-plans", json={
        "title": "盐山中学清理工作方案", "summary": "本单位清理工作方案全文摘要",
        "document_sha256": digest})
    assert filed.status_code == 201, filed.text
    plans = client.call("handler-school1", "GET", "/api/v1/work-plans").json()["items"]
    mine = next(p for p in plans if p["id"] == filed.json()["id"])
    assert (mine["title"], mine["document_sha256"]) == ("盐山中学清理工作方案", digest)


def rectifying(stack, client) -> str:
    pid, _ = new_problem(stack, client)
    client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    client.act("handler-school1", pid, "verify", plan=PLAN, seriousness="ordinary")
    client.act("supervisor-edu", pid, "approve_plan")
    return pid


def closed_unfounded(stack, client) -> str:
    pid, _ = new_problem(stack, client)
    client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    client.act("handler-school1", pid, "report_unfounded", findings="经查,未收取任何资料费",
               evidence=[{"description": "财务收费台账"}])
    client.act("supervisor-edu", pid, "accept_unfounded")
    return pid


def test_junk_action_bodies_are_refused_with_a_4xx_never_a_5xx(stack, client):
    pid = rectifying(stack, client)
    for flag in (["slow_progress"], {"flag": "slow_progress"}, 7):
        refused(client.call("supervisor-edu", "POST", f"/api/v1/problems/{pid}/check_progress",
                            json={"flags": [{"flag": flag, "reason": "进度慢"}]}))
    for sha in ("z" * 64, "a" * 65, ["a" * 64]):
        refused(client.call("handler-school1", "POST",
                            f"/api/v1/problems/{pid}/report_rectified",
                            json={"evidence": [{"description": "整改照片", "sha256": sha}]}))
    closed = closed_unfounded(stack, client)
    for source in (["spot_check"], {"source": "spot_check"}):
        refused(client.call("spotcheck", "POST", f"/api/v1/problems/{closed}/reopen",
                            json={"source": source, "reason": "抽查复核"}))
    problem = client.call("county", "GET", f"/api/v1/problems/{pid}").json()
    assert problem["state"] == "rectifying"


def test_refusals_are_one_line_each_and_user_text_cannot_forge_a_log_line(stack, client):
    forged = "x\n2026-12-01 00:00:00,000 ledger ERROR forged"
    reply = client.call("county", "GET", "/api/v1/work-plans/missing",
                        params={"phase": forged})
    assert reply.status_code == 422 and reply.json()["detail"]["code"] == "invalid_input"
    for n in range(20):
        refused(httpx.post(f"{stack.base_url}/api/v1/receipts/lookup",
                           json={"receipt_code": f"AAAA-BBBB-CCCC-{n:04d}"}, timeout=10))
    ledger, intake = stack.tail("ledger", 2000), stack.tail("intake", 2000)
    lines = [json.loads(line) for line in ledger.splitlines()]  # each line one JSON object
    assert not any(line.startswith("2026-12-01 00:00:00,000 ledger ERROR forged")
                   for line in ledger.splitlines())
    assert any("2026-12-01 00:00:00,000 ledger ERROR forged" in r["event"] for r in lines)
    assert "Traceback" not in ledger and "Traceback" not in intake
    refusals = [r for r in map(json.loads, intake.splitlines())
                if r["logger"] == "nameko.containers" and r["level"] == "info"
                and re.match(r"refused .*intake\.receipt_and_problem", r["event"])]
    assert len(refusals) >= 20 and not any("exception" in r for r in refusals)
