"""Who hears what, end to end on the real broker: the gateway's account directory reaches
notify; a dispatch gives each handler of the unit exactly one email (a real SMTP server)
and one inbox item, also when notify is SIGKILLed mid-delivery and with two notify
processes; signed webhooks with retries (verified with ``standardwebhooks``), 410, bounces.
"""
from __future__ import annotations

import sqlite3
import uuid

import httpx
import pytest
from standardwebhooks import Webhook

from contracts.events import problem_id_for
from gateway.auth.accounts import AccountStore
from kit.db import default_url, make_engine
from tests.support.notify_sinks import SmtpSink, WebhookReceiver, wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

SCHOOL = "org_sch_yanshan_high"
POLICE = "org_gd_public_security"
PASSWORDS = {"county": "dev-county-2017!", "handler-school1": "dev-handler-school1-2017!",
             "handler-police": "dev-handler-police-2017!", "ops": "dev-ops-2017!",
             "handler-school2": "second handler password 2017"}


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def receiver():
    running = WebhookReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory, smtp):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("notify-stack"),
                    extra_env={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
                               "NOTIFY_RETRY_SCHEDULE": "0.3,0.3,0.3",
                               "NOTIFY_LEASE_SECONDS": "3"})
    try:
        running.start_all()
        # a second handler of the school, added to the gateway's store as an admin would
        store = AccountStore(make_engine(default_url("gateway", running.data_dir)))
        store.create("handler-school2", PASSWORDS["handler-school2"], "unit_handler", SCHOOL,
                     "盐山中学第二承办人")
        yield running
    finally:
        running.stop_all()


class People:
    def __init__(self, stack):
        self.stack = stack
        self.tokens = {name: stack.token(name, pw) for name, pw in PASSWORDS.items()}

    def call(self, who, method, path, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.stack.base_url}{path}", timeout=30,
                             headers={"Authorization": f"Bearer {self.tokens[who]}"}, **kwargs)

    def inbox(self, who) -> dict:
        reply = self.call(who, "GET", "/api/v1/me/notifications?limit=200")
        assert reply.status_code == 200, reply.text
        return reply.json()

    def prefs(self, who, **changes) -> dict:
        reply = self.call(who, "PUT", "/api/v1/me/notifications/preferences", json=changes)
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture(scope="module")
def people(stack):
    found = People(stack)
    found.prefs("handler-school1", email_address="school1@example.org")
    found.prefs("handler-school2", email_address="school2@example.org")
    wait_for(lambda: notify_rows(stack, "SELECT count(*) FROM directory WHERE org_code = ? "
                                        "AND active", SCHOOL)[0][0] == 2)
    return found


def notify_rows(stack, sql, *args):
    with sqlite3.connect(stack.data_dir / "notify.db") as db:
        return db.execute(sql, args).fetchall()


def dispatch(stack, people, unit=SCHOOL) -> str:
    reply = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json={
        "channel": "public_report_platform", "title": f"办事推诿 {uuid.uuid4().hex[:6]}",
        "description": "窗口工作人员推诿扯皮,群众多次反映", "subject_unit": unit,
        "category": "c7_livelihood_services", "kind": "inaction"})
    assert reply.status_code == 202, reply.text
    pid = problem_id_for(reply.json()["clue_id"])
    wait_for(lambda: people.call("county", "GET", f"/api/v1/problems/{pid}").status_code == 200)
    acted = people.call("county", "POST", f"/api/v1/problems/{pid}/dispatch",
                        json={"respond_days": 5})
    assert acted.status_code == 200, acted.text
    return pid


def inbox_items(people, who, pid):
    return [n for n in people.inbox(who)["items"] if n["problem_id"] == pid]


def settled(stack, pid_event_count=None):
    """No delivery is waiting or being sent."""
    return notify_rows(stack, "SELECT count(*) FROM deliveries WHERE state = 'pending'")[0][0] == 0


def test_one_dispatch_is_one_email_and_one_inbox_item_per_handler(stack, people, smtp):
    pid = dispatch(stack, people)
    wait_for(lambda: len(smtp.about(pid)) >= 2)
    wait_for(lambda: settled(stack))
    assert sorted(rcpt for rcpt, _ in smtp.about(pid)) == ["school1@example.org",
                                                          "school2@example.org"]
    for who in ("handler-school1", "handler-school2"):
        [item] = inbox_items(people, who, pid)
        assert item["event"] == "dispatched" and item["read"] is False
    assert inbox_items(people, "handler-police", pid) == []
    # the county office heard of the registration (to dispatch it), not of its own dispatch
    assert [n["event"] for n in inbox_items(people, "county", pid)] == ["problem_registered"]


def test_a_notify_killed_mid_delivery_sends_each_email_once_after_its_restart(
        stack, people, smtp):
    smtp.hold()
    try:
        pid = dispatch(stack, people)
        assert smtp.holding.wait(30), "notify never reached the SMTP server"
        stack.kill("notify")  # SIGKILL while it waits for the server's answer
    finally:
        smtp.release()
    stack.start("notify")
    stack.wait_ready()
    wait_for(lambda: len(smtp.about(pid)) >= 2, timeout=60)
    wait_for(lambda: settled(stack), timeout=30)
    sent = smtp.about(pid)
    assert sorted(rcpt for rcpt, _ in sent) == ["school1@example.org", "school2@example.org"]
    assert len({mid for _, mid in sent}) == 2
    for who in ("handler-school1", "handler-school2"):
        assert len(inbox_items(people, who, pid)) == 1


def test_two_notify_processes_never_double_a_message(stack, people, smtp):
    stack.start("notify", "notify-2")
    try:
        stack.wait_ready()
        pids = [dispatch(stack, people) for _ in range(4)]
        wait_for(lambda: all(len(smtp.about(pid)) >= 2 for pid in pids), timeout=60)
        wait_for(lambda: settled(stack), timeout=30)
        for pid in pids:
            assert sorted(r for r, _ in smtp.about(pid)) == ["school1@example.org",
                                                             "school2@example.org"]
            for who in ("handler-school1", "handler-school2"):
                assert len(inbox_items(people, who, pid)) == 1
    finally:
        stack.stop("notify-2")


def test_a_webhook_failing_twice_then_accepting_gets_one_signed_delivery(stack, people,
                                                                          receiver):
    secret = people.prefs("handler-police", webhook_url=receiver.url)["webhook_secret"]
    assert secret.startswith("whsec_")
    assert people.call("handler-police", "GET", "/api/v1/me/notifications/preferences"
                       ).json()["webhook_secret"] is None  # shown once
    receiver.script[:] = [500, 503]
    before = len(receiver.requests)
    pid = dispatch(stack, people, unit=POLICE)
    wait_for(lambda: any(s == 204 for s, _, _ in receiver.requests[before:]), timeout=60)
    wait_for(lambda: settled(stack))
    mine = [r for r in receiver.requests[before:] if pid.encode() in r[2]]
    assert [status for status, _, _ in mine] == [500, 503, 204]
    assert len({headers["webhook-id"] for _, headers, _ in mine}) == 1
    status, headers, body = mine[-1]
    payload = Webhook(secret).verify(body, headers)
    assert payload["data"]["problem_id"] == pid and payload["type"] == "notice.dispatched"
    attempts = notify_rows(stack, "SELECT d.state, count(a.id) FROM deliveries d JOIN "
                                  "delivery_attempts a ON a.delivery_id = d.id WHERE "
                                  "d.channel = 'webhook' AND d.payload LIKE ? GROUP BY d.id",
                           f"%{pid}%")
    assert attempts == [("sent", 3)]


def test_a_webhook_receiver_answering_410_is_disabled(stack, people, receiver):
    people.prefs("handler-police", webhook_url=receiver.url)
    receiver.script[:] = [410]
    first = dispatch(stack, people, unit=POLICE)
    wait_for(lambda: people.call("handler-police", "GET", "/api/v1/me/notifications/"
                                 "preferences").json()["webhook_disabled"])
    before = len(receiver.requests)
    second = dispatch(stack, people, unit=POLICE)
    wait_for(lambda: inbox_items(people, "handler-police", second))
    wait_for(lambda: settled(stack))
    assert receiver.requests[before:] == []
    assert inbox_items(people, "handler-police", first)


def test_a_bouncing_address_falls_back_to_the_inbox(stack, people, smtp):
    smtp.refuse.add("gone@example.org")
    people.prefs("handler-school2", email_address="gone@example.org")
    try:
        pid = dispatch(stack, people)
        wait_for(lambda: people.call("handler-school2", "GET", "/api/v1/me/notifications/"
                                     "preferences").json()["email_failing"])
        assert len(inbox_items(people, "handler-school2", pid)) == 1
        later = dispatch(stack, people)
        wait_for(lambda: inbox_items(people, "handler-school2", later))
        wait_for(lambda: settled(stack))
        assert notify_rows(stack, "SELECT count(*) FROM deliveries WHERE payload LIKE ? AND "
                                  "channel = 'email' AND state != 'sent'", f"%{later}%") == [(0,)]
        assert [r for r, _ in smtp.about(later)] == ["school1@example.org"]
    finally:
        people.prefs("handler-school2", email_address="school2@example.org")
    assert people.call("handler-school2", "GET", "/api/v1/me/notifications/preferences"
                       ).json()["email_failing"] is False


def test_reading_marks_items_and_the_workbench_lists_them_with_links(stack, people):
    pid = dispatch(stack, people)
    wait_for(lambda: inbox_items(people, "handler-school1", pid))
    page = people.call("handler-school1", "GET", "/workbench/inbox")
    assert page.status_code == 200 and f"/workbench/problems/{pid}" in page.text
    [item] = inbox_items(people, "handler-school1", pid)
    unread = people.inbox("handler-school1")["unread"]
    marked = people.call("handler-school1", "POST", "/api/v1/me/notifications/read",
                         json={"ids": [item["id"]]}).json()
    assert marked == {"marked": 1, "unread": unread - 1}
    # one's own items only: another person's id changes nothing
    assert people.call("handler-school2", "POST", "/api/v1/me/notifications/read",
                       json={"ids": [item["id"]]}).json()["marked"] == 0


@pytest.mark.parametrize("body,code", [
    ({"webhook_url": "http://hooks.example.org/x"}, "webhook_url_not_https"),
    ({"webhook_url": "https://10.1.2.3/x"}, "webhook_url_private"),
    ({"webhook_url": "gopher://x"}, "webhook_url_invalid"),
])
def test_bad_webhook_targets_are_refused_when_configured(stack, people, body, code):
    before = people.call("handler-school1", "GET", "/api/v1/me/notifications/preferences").json()
    reply = people.call("handler-school1", "PUT", "/api/v1/me/notifications/preferences",
                        json=body)
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert detail["code"] == code and detail["message_zh"] and detail["field"] == "webhook_url"
    after = people.call("handler-school1", "GET", "/api/v1/me/notifications/preferences").json()
    assert after == before


def test_bad_preferences_and_wrong_roles_are_refused(stack, people):
    reply = people.call("handler-school1", "PUT", "/api/v1/me/notifications/preferences",
                        json={"email_address": "not an address"})
    assert reply.status_code == 422
    reply = people.call("handler-school1", "PUT", "/api/v1/me/notifications/preferences",
                        json={"email_failing": False})
    assert reply.status_code == 422  # not one's to set
    assert people.call("handler-school1", "GET", "/api/v1/notifications/deliveries"
                       ).status_code == 403
    assert people.call("county", "POST", "/api/v1/notifications/deliveries/1/replay"
                       ).status_code == 403
    assert httpx.get(f"{stack.base_url}/api/v1/me/notifications").status_code == 401
    dead = people.call("ops", "GET", "/api/v1/notifications/deliveries")
    assert dead.status_code == 200 and "counts" in dead.json()
    assert people.call("ops", "POST", "/api/v1/notifications/deliveries/999999/replay"
                       ).status_code == 404
    assert people.call("ops", "GET", "/workbench/ops/deliveries").status_code == 200
    assert people.call("handler-school1", "GET", "/workbench/ops/deliveries").status_code == 403


def test_the_workbench_shows_the_unread_count_and_marks_notices_read(stack, people):
    from tests.support.workbench import Staff

    pid = dispatch(stack, people)
    wait_for(lambda: inbox_items(people, "handler-school1", pid))
    staff = Staff(stack)
    reply = staff.http.post("/workbench/sign-in", data={
        "csrftoken": staff.token(), "username": "handler-school1",
        "password": PASSWORDS["handler-school1"], "next": "/workbench"})
    assert reply.status_code == 303
    unread = people.inbox("handler-school1")["unread"]
    home = staff.get("/workbench")
    assert f'id="unread-badge">{unread} 条未读' in home.text
    page = staff.get("/workbench/inbox")
    assert page.status_code == 200 and f'href="/workbench/problems/{pid}"' in page.text
    assert staff.post("/workbench/inbox/read", {}).status_code == 303
    assert people.inbox("handler-school1")["unread"] == 0
    assert "unread-badge" not in staff.get("/workbench").text
    saved = staff.post("/workbench/inbox/preferences", {"email": "1", "quiet_hours": "1",
                                                        "email_address": "school1@example.org"})
    assert saved.status_code == 303
    prefs = people.call("handler-school1", "GET", "/api/v1/me/notifications/preferences").json()
    assert prefs["quiet_hours"] is True and prefs["digest"] is False
    refused = staff.post("/workbench/inbox/preferences", {"email_address": "not an address"})
    assert refused.status_code == 422
    assert people.call("handler-school1", "GET", "/api/v1/me/notifications/preferences"
                       ).json() == prefs
    assert staff.post("/workbench/inbox/read", {}, csrf=False).status_code == 403
    people.prefs("handler-school1", quiet_hours=False)
