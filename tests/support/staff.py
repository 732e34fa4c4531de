"""Staff on the workbench, for the end-to-end tests of its pages: a person's browser without
the browser (cookies, the CSRF token, no redirects followed), API tokens, and problems put
in the ledger the way people put them there (a clue, registration, a dispatch).
"""
from __future__ import annotations

import re
import httpx

from gateway.auth.demo import DEMO_ACCOUNTS
from tests.support.stack import Stack
from tests.support.tamper import run as run_sql

PASSWORDS = {d.username: d.password for d in DEMO_ACCOUNTS}
ONE_PER_ROLE = {d.role: d.username for d in reversed(DEMO_ACCOUNTS)}  # first of each role
SCHOOL = "org_sch_yanshan_high"
POLICE = "org_gd_public_security"


def workbench_stack(amqp_uri: str, data_dir) -> Stack:
    """The real processes; these tests sign in far more often than a person would (the
    per-account budget is raised; the lockout after wrong passwords is not)."""
    return Stack(amqp_uri=amqp_uri, data_dir=data_dir,
                 extra_env={"LOGIN_RATE_PER_ACCOUNT": "100000/minute"})


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
    """The headers of an API call as ``username``."""
    return {"Authorization": f"Bearer {stack.token(username, PASSWORDS[username])}"}


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
    import time

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

