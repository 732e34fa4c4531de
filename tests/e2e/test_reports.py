"""Weekly reports and the scheduled reporting rhythm through the real stack: the gateway, the
broker and two ledger processes whose clock the test moves (``SCHEDULE_CLOCK_FILE``,
development only), ticking every 0.2 s.

A unit files through the API and the workbench, with every refusal bilingual and nothing
changed; the two ledger processes remind, list as missing and propose escalation once per unit
and period, also when both are SIGKILLed and one comes back days later (it catches up each
missed working day once), and never on the 国庆 holiday."""
from __future__ import annotations

import json
import sqlite3
from collections import Counter

import httpx
import pytest
from kombu import Connection, Queue

from contracts.topology import declare_all, event_exchange

from tests.support.browser import browser_session, fill, press, shoot, wait_until
from tests.support.workbench import PASSWORDS, Staff
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
SCHOOL, OTHER = "org_sch_yanshan_high", "org_sch_no2_high"
CYCLE_QUEUE = "test-reports-cycle-events"  # the test's own copy of what the ledger publishes


@pytest.fixture(scope="module")
def clock(tmp_path_factory):
    path = tmp_path_factory.mktemp("clock") / "now"
    path.write_text("2017-09-25T08:00:00+08:00")
    return path


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory, clock):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"),
                    extra_env={"SCHEDULE_CLOCK_FILE": str(clock),
                               "SCHEDULE_TICK_SECONDS": "0.2",
                               "LOGIN_RATE_PER_ACCOUNT": "100000/minute"})
    with Connection(amqp_uri) as conn:  # bound before anything ticks: nothing is missed
        channel = conn.default_channel
        declare_all(channel)
        Queue(CYCLE_QUEUE, exchange=event_exchange("ledger"), routing_key="cycle.#",
              durable=False, auto_delete=False)(channel).declare()
    try:
        running.start_all()
        running.start("ledger", "ledger-2")
        yield running
    finally:
        running.stop_all()
        with Connection(amqp_uri) as conn:
            conn.default_channel.queue_delete(CYCLE_QUEUE)


def headers(stack, username: str) -> dict:
    return {"Authorization": f"Bearer {stack.token(username, PASSWORDS[username])}"}


def claims(stack) -> list[tuple[str, str]]:
    with sqlite3.connect(stack.data_dir / "ledger.db") as db:
        return sorted(db.execute("SELECT job, period FROM schedule_claims").fetchall())


def claimed(stack, day: str):
    return wait_until(lambda: ("ledger.report_cycle", day) in claims(stack)
                      and ("ledger.clock_sweep", day) in claims(stack), timeout=60)


class Cycle:
    """The ``cycle.#`` events the ledger published (read off the test's own queue, bound to
    the ledger's events beside notify's), accumulated across reads."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri, self.seen = amqp_uri, []

    def drain(self) -> list[dict]:
        with Connection(self.amqp_uri) as conn:
            channel = conn.default_channel
            while (message := channel.basic_get(CYCLE_QUEUE, no_ack=True)) is not None:
                self.seen.append(json.loads(message.body))
        return self.seen

    def count(self, name: str, unit: str | None = None) -> Counter:
        return Counter((e["period"], e["unit"]) for e in self.seen
                       if e["name"] == name and (unit is None or e["unit"] == unit))


def post_report(stack, username: str, **body) -> httpx.Response:
    report = {"unit": SCHOOL, "period": "2017-W38", "kind": "weekly", "text": "本周清理进展",
              "figures": {"found": 2, "rectified": 1, "cleaned_up": 1, "held_accountable": 0},
              **body}
    return httpx.post(f"{stack.base_url}/api/v1/reports", json=report, timeout=30,
                      headers=headers(stack, username))


def test_the_reporting_rhythm_through_the_real_stack(stack, clock, amqp_uri):
    cycle = Cycle(amqp_uri)
    claimed(stack, "2017-09-22")          # 08:00 on Monday: Friday's period is the latest

    # a unit files its week; every mistake is refused in both languages, nothing changed
    for body, status, code in (
            ({"figures": {"found": -1}}, 422, "negative_count"),
            ({"figures": {"found": 1, "rectified": 2}}, 422, "rectified_exceeds_found"),
            ({"period": "2017-W39"}, 422, "week_not_ended"),
            ({"unit": OTHER}, 403, "not_own_unit_report")):
        reply = post_report(stack, "handler-school1", **body)
        assert (reply.status_code, reply.json()["detail"]["code"]) == (status, code), reply.text
        assert reply.json()["detail"]["message_zh"]
    assert post_report(stack, "supervisor-edu").status_code == 403
    edu = headers(stack, "supervisor-edu")
    listed = httpx.get(f"{stack.base_url}/api/v1/reports?period=2017-W38", headers=edu).json()
    assert listed["items"] == []
    first = post_report(stack, "handler-school1")
    assert first.status_code == 201, first.text
    assert (first.json()["version"], first.json()["late"]) == (1, False)
    again = post_report(stack, "handler-school1")
    assert again.json()["detail"]["code"] == "amendment_reason_required"
    amended = post_report(stack, "handler-school1", reason="发现问题数填错,更正",
                          figures={"found": 3, "rectified": 1})
    assert amended.status_code == 201 and amended.json()["version"] == 2
    versions = httpx.get(f"{stack.base_url}/api/v1/reports/2017-W38/{SCHOOL}", headers=edu)
    assert [v["figures"]["found"] for v in versions.json()["versions"]] == [2, 3]

    def edu_inbox() -> list[str]:
        reply = httpx.get(f"{stack.base_url}/api/v1/me/notifications?limit=200", headers=edu)
        return [item["subject_zh"] for item in reply.json()["items"]]
    # notify routes the rhythm's events to people: the school's supervising body (县教育局)
    # hears of the filing and of the amendment, once each
    assert wait_until(lambda: sorted(edu_inbox()) == ["单位已报送报告", "单位已更正报告"],
                      timeout=30), edu_inbox()

    # 09:00: two processes tick; each unit that has not filed is reminded once
    clock.write_text("2017-09-25T09:00:00+08:00")
    claimed(stack, "2017-09-25")
    wait_until(lambda: len(cycle.drain()) and sum(cycle.count("report_due").values()) >= 33)
    reminders = cycle.count("report_due")
    assert reminders[("2017-W38", OTHER)] == 1 and ("2017-W38", SCHOOL) not in reminders
    assert max(reminders.values()) == 1

    # both ledger processes die; one comes back on Wednesday and catches up Tuesday once
    stack.kill("ledger")
    stack.kill("ledger-2")
    clock.write_text("2017-09-27T09:00:00+08:00")
    stack.start("ledger")
    claimed(stack, "2017-09-27")
    stack.start("ledger", "ledger-2")
    clock.write_text("2017-10-03T09:00:00+08:00")     # 国庆: nothing is due
    clock.write_text("2017-10-09T09:00:00+08:00")
    claimed(stack, "2017-10-09")
    days = [p for job, p in claims(stack) if job == "ledger.report_cycle"]
    assert days == ["2017-09-22", "2017-09-25", "2017-09-26", "2017-09-27", "2017-09-28",
                    "2017-09-29", "2017-09-30", "2017-10-09"]
    wait_until(lambda: cycle.drain() and cycle.count("report_due", OTHER)[
        ("2017-W39", OTHER)] == 1)
    assert cycle.count("report_missing", OTHER) == Counter({("2017-W38", OTHER): 1})
    assert cycle.count("escalation_proposed", OTHER) == Counter({("2017-W38", OTHER): 1})
    assert not cycle.count("report_missing", SCHOOL)
    assert all(e["due_on"] in ("2017-09-25", "2017-10-09") for e in cycle.seen
               if e["name"] not in ("report_filed", "report_amended", "bulletin_drafted")), \
        cycle.seen
    # the monthly cycle: the latest known month's figures frozen once, the day they are known
    drafted = sorted((e["period"], e["due_on"]) for e in cycle.seen
                     if e["name"] == "bulletin_drafted")
    assert drafted == [("2017-08", "2017-09-22"), ("2017-09", "2017-10-09")]


def test_the_workbench_report_pages(stack):
    unit = Staff(stack, "handler-school1")
    page = unit.get("/workbench/reports")
    assert page.status_code == 200 and "报送周报告" in page.text and "2017-W38" in page.text
    refused = unit.post("/workbench/reports", {"period": "2017-W37", "kind": "weekly",
                                               "found": "-2", "text": "数字有误"})
    assert refused.status_code == 422 and "不能为负数" in refused.text
    assert "error-summary" in refused.text
    filed = unit.post("/workbench/reports", {"period": "2017-W37", "kind": "zero", "text": ""})
    assert filed.status_code == 303, filed.text
    assert "零报告" in unit.get("/workbench/reports?filed=1").text

    wrong = unit.post("/workbench/reports/institutions", {"title": "限时办结制",
                                                          "status": "issued", "on": "2099-01-01"})
    assert wrong.status_code == 422 and "已出台制度的日期不能晚于今天" in wrong.text
    recorded = unit.post("/workbench/reports/institutions", {"title": "首问负责制",
                                                             "status": "issued",
                                                             "on": "2017-09-01"})
    assert recorded.status_code == 303
    assert "首问负责制" in unit.get("/workbench/reports").text

    edu = Staff(stack, "supervisor-edu")
    overview = edu.get("/workbench/reports?period=2017-W37")
    assert overview.status_code == 200
    assert "盐山中学" in overview.text and "盐山县第二中学" in overview.text   # missing
    assert "盐山镇" not in overview.text                                   # another system
    assert 'id="institution-counts"' in overview.text
    forwarded = edu.post("/workbench/reports/forward", {"period": "2017-W37"})
    assert forwarded.status_code == 303
    county = Staff(stack, "county")
    everything = county.get("/workbench/reports?period=2017-W37")
    assert everything.status_code == 200 and "盐山镇" in everything.text
    assert "县教育局" in everything.text.split('id="forwarded-summaries"')[1].split("</table>")[0]
    police = Staff(stack, "handler-police")
    assert police.post("/workbench/reports/forward", {"period": "2017-W37"}).status_code == 403
    assert httpx.get(f"{stack.base_url}/workbench/reports").status_code == 401
    spot = Staff(stack, "spotcheck").get("/workbench/reports")
    assert spot.status_code == 200 and 'id="contradicted"' in spot.text


def fits_a_phone(browser) -> bool:
    """At 390 px nothing is wider than the screen (no sideways scrolling)."""
    browser._call("POST", "/window/rect", {"width": 390, "height": 1800})
    return browser.js("return document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
def test_a_unit_files_its_week_in_the_browser_by_keyboard_and_on_a_phone(stack):
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/reports")
        browser.type("#f-username", "handler-police")
        browser.type("#f-password", PASSWORDS["handler-police"])
        press(browser, "\ue007")
        browser.wait("return location.pathname === '/workbench/reports'")
        assert browser.wait_text("h1") == "报送周报告"
        assert "由" in browser.text("#signed")
        shoot(browser, "reports-unit")
        assert fits_a_phone(browser)
        browser._call("POST", "/window/rect", {"width": 1280, "height": 1800})
        fill(browser, {"f-period": "2017-W36"})
        browser.click("#f-kind-weekly")
        browser.type("#f-found", "1")
        browser.type("#f-rectified", "3")
        browser.type("#f-text", "本周清理情况")
        browser.click("#file-report")
        summary = browser.wait_text("#error-summary")
        assert "已整改数不能大于发现问题数" in summary
        assert browser.js("return document.activeElement.id") == "error-summary"
        shoot(browser, "reports-unit-errors")
        browser.click("#error-summary a")
        assert browser.js("return document.activeElement.id") == "f-rectified"
        fill(browser, {"f-rectified": "1"})
        browser.click("#file-report")
        assert "已报送" in browser.wait_text("#filed")
        assert "2017-W36" in browser.text("#my-reports")
        assert browser.console_errors() == []
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/reports?period=2017-W36")
        browser.type("#f-username", "supervisor-jc")
        browser.type("#f-password", PASSWORDS["supervisor-jc"])
        press(browser, "\ue007")
        browser.wait("return location.pathname === '/workbench/reports'")
        browser.open(f"{stack.base_url}/workbench/reports?period=2017-W36")
        assert "县公安局" in browser.wait_text("#reports")
        assert "县环保局" in browser.text("#missing")
        shoot(browser, "reports-overview")
        assert fits_a_phone(browser)
        assert browser.console_errors() == []
