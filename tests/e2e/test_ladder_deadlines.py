"""An interview whose deadline passes, through the real timer (约谈后效果依然不明显的): the audit
service's clock is a file the test moves (``SCHEDULE_CLOCK_FILE``, development only); its daily
sweep (``kit.schedule``) publishes ``ladder.deadline_passed`` for the notice and the interview,
which reach the county office and the unit's principal head (not its other handlers), and
proposes accountability for the county office to decide."""
from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from gateway.auth.accounts import AccountStore
from kit.db import default_url, make_engine
from tests.support.notify_sinks import notify_knows_head, wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SCHOOL = "org_sch_yanshan_high"
PASSWORDS = {"county": "dev-county-2017!", "handler-school1": "dev-handler-school1-2017!",
             "head-school": "head of the school 2017 pw"}
START = "2017-09-04T10:00:00+08:00"   # a Monday of the rectification phase
LATER = "2017-10-10T10:00:00+08:00"   # past the notice's and the interview's deadlines


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """Only the audit service reads the moved clock (the ledger keeps the real one, so its
    own sweeps do not replay 2017 for every unit)."""
    data = tmp_path_factory.mktemp("ladder-clock")
    clock = data / "clock.txt"
    clock.write_text(START)
    running = Stack(amqp_uri=amqp_uri, data_dir=data)
    running.clock = clock
    try:
        for name in ("intake", "ledger", "notify"):
            running.start(name)
        running.env = {**running.env, "SCHEDULE_CLOCK_FILE": str(clock),
                       "SCHEDULE_TICK_SECONDS": "1"}
        running.start("audit")
        running.env = {k: v for k, v in running.env.items()
                       if k not in ("SCHEDULE_CLOCK_FILE", "SCHEDULE_TICK_SECONDS")}
        running.start("gateway")
        running.wait_ready()
        store = AccountStore(make_engine(default_url("gateway", running.data_dir)))
        store.create("head-school", PASSWORDS["head-school"], "unit_handler", SCHOOL, "王校长")
        yield running
    finally:
        running.stop_all()


def test_a_passed_interview_deadline_proposes_accountability_and_tells_the_head(stack):
    base = stack.base_url
    tokens = {n: stack.token(n, pw) for n, pw in PASSWORDS.items()}

    def call(who, method, path, headers=None, **kw):
        reply = httpx.request(method, base + path, timeout=30, **kw, headers={
            "Authorization": f"Bearer {tokens[who]}", **(headers or {})})
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    call("county", "POST", f"/api/v1/principal-heads/{SCHOOL}",
         json={"name": "王校长", "title": "校长", "account_username": "head-school"})
    # the head travels to notify as a directory event: until it arrives, "the head" means
    # the unit's handlers (domain.Audience.HEAD), which this test tells apart
    wait_for(lambda: notify_knows_head(stack.data_dir, SCHOOL, "head-school"), timeout=60)
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 90, 200)).save(picture, "PNG")
    sha = call("county", "POST", "/api/v1/files", content=picture.getvalue(),
               headers={"X-Filename": "visit.png"})["files"][0]["original"]["sha256"]
    steps = []
    for findings in ("暗访发现清理工作走过场", "暗访发现整改仍走过场"):
        made = call("county", "POST", "/api/v1/accountability/findings", json={
            "unit": SCHOOL, "kind": "perfunctory", "findings": findings, "evidence": [sha]})
        steps.append(call("county", "POST",
                          f"/api/v1/accountability/proposals/{made['id']}/confirm", json={}))
    assert [(s["step"], s["due_on"]) for s in steps] == [("notice", "2017-09-18"),
                                                         ("interview", "2017-09-30")]

    def passed(who):
        return [n for n in call(who, "GET", "/api/v1/me/notifications?limit=200")["items"]
                if n["event"] == "ladder_deadline_passed"]
    assert passed("county") == []
    stack.clock.write_text(LATER)

    def proposed():
        items = call("county", "GET", "/api/v1/accountability/proposals?status=proposed")
        return [p for p in items["items"] if p["trigger"] == "interview_ineffective"]
    wait_for(proposed, timeout=60)
    [proposal] = proposed()
    assert (proposal["unit"], proposal["step"]) == (SCHOOL, "accountability")
    wait_for(lambda: len(passed("county")) == 2 and len(passed("head-school")) == 2, timeout=60)
    assert passed("handler-school1") == []
    ladder = call("county", "GET", f"/api/v1/accountability/units/{SCHOOL}")
    assert all(s["deadline_passed"] for s in ladder["steps"])
