"""What the workbench's end-to-end tests share: a person's browser without the browser
(``Staff``: cookies, CSRF token, no redirects followed), bearer headers for the API, a stack
that lets them sign in often, and problems brought to a state through the API."""
from __future__ import annotations

import re
import time
from datetime import date

import httpx

from gateway.auth.demo import DEMO_ACCOUNTS
from tests.support.stack import Stack
from tests.support.tamper import run as run_sql

PASSWORDS = {d.username: d.password for d in DEMO_ACCOUNTS}
ONE_PER_ROLE = {d.role: d.username for d in reversed(DEMO_ACCOUNTS)}  # first of each role
SCHOOL = "org_sch_yanshan_high"
POLICE = "org_gd_public_security"


def workbench_stack(amqp_uri, tmp_path_factory):
    """The real processes; the workbench's tests sign in far more often than a person would
    (the per-account budget is raised; the lockout after wrong passwords is not). A generator
    for a module's ``stack`` fixture."""
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"),
                    extra_env={"LOGIN_RATE_PER_ACCOUNT": "100000/minute"})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


class Staff:
    """One person's browser, without the browser: cookies, CSRF token, no redirects followed."""

    def __init__(self, stack, username: str | None = None):
        self.stack = stack
        self.http = httpx.Client(base_url=stack.base_url, timeout=30, follow_redirects=False)
        if username:
            self.sign_in(username)

    def token(self, path: str = "/workbench/sign-in") -> str:
        page = self.http.get(path)
        return re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)

    def sign_in(self, username: str, password: str | None = None) -> httpx.Response:
        reply = self.http.post("/workbench/sign-in", data={
            "csrftoken": self.token(), "username": username,
            "password": password or PASSWORDS[username], "next": "/workbench"})
        assert reply.status_code == 303, reply.text
        return reply

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict | list, *, csrf: bool = True) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            pairs.insert(0, ("csrftoken", self.token("/workbench")))
        fields: dict[str, list[str]] = {}
        for key, value in pairs:
            fields.setdefault(key, []).append(value)
        return self.http.post(path, data=fields)


def api(stack, username: str) -> dict:
    return {"Authorization": f"Bearer {stack.token(username, PASSWORDS[username])}"}


def wait_until(probe, timeout: float = 30):
    """``probe()``'s first truthy answer, asked again until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {probe}")
        time.sleep(0.1)


def registered_problem(stack, title: str, *, description: str = "学校食堂卫生问题多次反映无人处理",
                       unit: str | None = SCHOOL, channel: str = "public_report_platform") -> str:
    """A report on ``unit``, registered by the ledger; its id."""
    body = {"channel": channel, "title": title, "kind": "inaction", "description": description}
    if unit:
        body["subject_unit"] = unit
    filed = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json=body)
    assert filed.status_code == 202, filed.text
    clue_id = filed.json()["clue_id"]
    county = api(stack, "county")

    def problem_id():
        items = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", timeout=10,
                          headers=county).json()["items"]
        return next((p["id"] for p in items if p["clue_id"] == clue_id), None)

    return wait_until(problem_id)


def act(stack, username: str, pid: str, action: str, **body) -> dict:
    """One lifecycle step through the API, which must succeed; the problem after it."""
    reply = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/{action}", timeout=30,
                       headers=api(stack, username), json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def dispatched_problem(stack, title: str) -> str:
    """A report on the school, registered and dispatched by the county office; its id."""
    pid = registered_problem(stack, title)
    act(stack, "county", pid, "dispatch", respond_days=5)
    return pid


def problem_of(stack, pid: str) -> dict:
    return httpx.get(f"{stack.base_url}/api/v1/problems/{pid}", timeout=10,
                     headers=api(stack, "county")).json()


def state_of(stack, pid: str) -> str:
    return problem_of(stack, pid)["state"]


def plan_form(deadline: date, **changes) -> dict:
    """The verify form's fields, filled rightly; a change of None leaves a field out."""
    form = {"plan.measures": "立即整改食堂卫生，建立每日检查制度", "plan.target": "食堂卫生达标",
            "plan.deadline": deadline.isoformat(), "plan.lead_official": "王校长",
            "plan.responsible_unit": SCHOOL, "plan.responsible_person": "李主任",
            "plan.handling": "time_limited", "seriousness": "ordinary"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def file_clue(stack, title: str, *, unit: str = SCHOOL, kind: str = "inaction",
              category: str | None = None, channel: str = "public_report_platform") -> str:
    """A report from the public about ``unit``; its clue id."""
    body = {"channel": channel, "title": title, "kind": kind, "subject_unit": unit,
            "description": f"{title}：群众多次反映无人处理，情况属实请核查"}
    if category:
        body["category"] = category
    reply = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json=body)
    assert reply.status_code == 202, reply.text
    return reply.json()["clue_id"]


def problems_of_clues(stack, clue_ids, headers: dict, timeout: float = 60) -> dict[str, str]:
    """{clue id: problem id} once the ledger registered every clue."""

    wanted, found = set(clue_ids), {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        offset = 0
        while True:
            page = httpx.get(f"{stack.base_url}/api/v1/problems", timeout=10, headers=headers,
                             params={"limit": 200, "offset": offset}).json()
            found.update({p["clue_id"]: p["id"] for p in page["items"]
                          if p["clue_id"] in wanted})
            offset += 200
            if offset >= page["total"]:
                break
        if wanted <= set(found):
            return found
        time.sleep(0.2)
    raise TimeoutError(f"not registered: {wanted - set(found)}")


def dispatch(stack, problem_id: str, headers: dict, days: int = 5) -> None:
    reply = httpx.post(f"{stack.base_url}/api/v1/problems/{problem_id}/dispatch", timeout=30,
                       headers=headers, json={"respond_days": days})
    assert reply.status_code == 200, reply.text


def let_days_pass(stack, problem_id: str, days: int) -> None:
    """As if ``days`` had passed since the problem last moved: its clock's dates (deadlines,
    due date, last progress) move back by ``days`` in the ledger's store, and the ledger
    judges overdue and stalled from them as it would after that time. (The history is not
    rewritten: this is time passing for the lists, not a step anyone took.)"""
    url = f"sqlite:///{stack.data_dir / 'ledger.db'}"
    shift = f"-{int(days)} days"
    run_sql(url, "UPDATE problems SET respond_by = date(respond_by, :s), "
                 "rectify_by = date(rectify_by, :s), decide_by = date(decide_by, :s), "
                 "due_on = date(due_on, :s), last_progress_on = date(last_progress_on, :s) "
                 "WHERE id = :pid", s=shift, pid=problem_id)

