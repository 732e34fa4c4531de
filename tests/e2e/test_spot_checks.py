"""Spot checks through the real stack (抽查, issue 11): a unit closes problems as unfounded, the
spot-check team opens a round whose manifest goes on the ledger's chain, enters the seed and
draws; the published files re-derive the sample and the results with ``python -m
services.audit.rederive``; a re-check finds one closure wrong and the ledger reopens the
problem (source spot_check); the round closes with its figures. Role rules on the way: a
unit does not learn which of its items were sampled before the re-check reaches it, and a
re-checker of the same unit is refused."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.test_accounts_admin import NEW_PASSWORD, api_sign_in, set_new_password
from tests.support.stack import ROOT
from tests.support.workbench import (
    SCHOOL, Staff, act, api, problem_of, registered_problem, wait_until,
)

SEED = "01382438112797316654"


@pytest.fixture(scope="module")
def stack(shared_workbench_stack):
    return shared_workbench_stack


def closed_as_unfounded(stack, title: str) -> str:
    pid = registered_problem(stack, title)
    act(stack, "county", pid, "dispatch", respond_days=5)
    act(stack, "handler-school1", pid, "report_unfounded", findings="经核查,反映问题不属实",
        evidence=[{"description": "核查记录"}])
    act(stack, "supervisor-edu", pid, "accept_unfounded")
    return pid


def test_a_round_from_unfounded_closures_to_a_reopened_problem(stack, tmp_path):
    base = stack.base_url
    get = lambda path, who: httpx.get(f"{base}{path}", headers=api(stack, who), timeout=30)  # noqa: E731
    post = lambda path, who, body: httpx.post(  # noqa: E731
        f"{base}{path}", headers=api(stack, who), json=body, timeout=60)
    pids = [closed_as_unfounded(stack, f"食堂收费问题{i}") for i in range(3)]
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")

    # a spot-check account drawn from the school itself (回避 applies to it)
    made = post("/api/v1/accounts", "county", {"username": "checker-school",
                                               "display_name": "抽调人员", "role": "spot_check",
                                               "org_code": SCHOOL})
    assert made.status_code == 201, made.text
    set_new_password(stack, "checker-school", made.json()["temporary_password"])
    same_unit = {"Authorization": "Bearer " + api_sign_in(
        stack, "checker-school", NEW_PASSWORD).json()["access_token"]}

    def population_ready():
        groups = get(f"/api/v1/spot-checks/population?period={period}", "spotcheck").json()
        return any(g["unit"] == SCHOOL and g["items"] >= 3 for g in groups["groups"])
    wait_until(population_ready, timeout=60)
    wait_until(lambda: {"spotcheck", "checker-school"} <= {
        p["username"] for p in get("/api/v1/spot-checks/rounds", "spotcheck").json()["recheckers"]},
        timeout=60)

    # rounds are the team's: a unit is refused
    assert get("/api/v1/spot-checks/rounds", "handler-school1").status_code == 403
    opened = post("/api/v1/spot-checks/rounds", "spotcheck", {"kind": "spot_check",
                                                              "period": period})
    assert opened.status_code == 201, opened.text
    round_ = opened.json()
    round_id = round_["round_id"]
    assert round_["manifest_entry"]["seq"] > 0 and round_["status"] == "published"
    records = get("/api/v1/ledger/verify", "county").json()
    assert records["ok"] is True and records["checked"] >= round_["manifest_entry"]["seq"]

    short = post(f"/api/v1/spot-checks/rounds/{round_id}/seed", "spotcheck", {"seed": "12345"})
    assert short.status_code == 422 and short.json()["detail"]["code"] == "invalid_seed"
    seeded = post(f"/api/v1/spot-checks/rounds/{round_id}/seed", "spotcheck", {"seed": SEED})
    assert seeded.status_code == 200, seeded.text
    again = post(f"/api/v1/spot-checks/rounds/{round_id}/seed", "county", {"seed": "9" * 20})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "seed_already_entered"
    drawn = seeded.json()
    mine = [i for i in drawn["items"] if i["unit"] == SCHOOL and i["item_id"] in pids]
    assert len(mine) == 3  # three closures: a unit this small is checked in full (n0 = N)

    files = {}
    for name in ("manifest.tsv", "params.json", "seed.txt"):
        reply = get(f"/api/v1/spot-checks/rounds/{round_id}/files/{name}", "spotcheck")
        assert reply.status_code == 200, reply.text
        files[name] = tmp_path / name
        files[name].write_bytes(reply.content)
    assert get(f"/api/v1/spot-checks/rounds/{round_id}/files/results.json",
               "spotcheck").status_code == 404  # not before the close
    derived = json.loads(rederive(files["manifest.tsv"], files["seed.txt"], files["params.json"]))
    sampled = {i for g in derived["groups"] for i in g["sampled"]}
    assert sampled == {i["item_id"] for i in drawn["items"]}

    # independence: a re-checker of the school is refused; the team's own person is not
    refused = post(f"/api/v1/spot-checks/rounds/{round_id}/assign", "spotcheck",
                   {"item_ids": [mine[0]["item_id"]], "rechecker": "checker-school"})
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "rechecker_not_independent"
    assigned = post(f"/api/v1/spot-checks/rounds/{round_id}/assign", "spotcheck",
                    {"rechecker": "spotcheck"})
    assert assigned.status_code == 200, assigned.text

    # the unit learns nothing of its sample until the re-check reaches it
    assert get("/api/v1/spot-checks/mine", "handler-school1").json()["items"] == []
    page = Staff(stack, "handler-school1").get("/workbench/spot-check-results")
    assert page.status_code == 200 and not any(p in page.text for p in pids)
    assert Staff(stack, "handler-school1").get(f"/workbench/rounds/{round_id}").status_code == 403
    target = mine[0]["item_id"]
    asked = post(f"/api/v1/spot-checks/rounds/{round_id}/items/{target}/material",
                 "spotcheck", {})
    assert asked.status_code == 200, asked.text
    assert [i["item_id"] for i in get("/api/v1/spot-checks/mine", "handler-school1")
            .json()["items"]] == [target]

    # a verdict from someone it is not assigned to is refused
    other = httpx.post(f"{base}/api/v1/spot-checks/rounds/{round_id}/items/{target}/recheck",
                       headers=same_unit, timeout=30,
                       json={"verdict": "upheld", "findings": "材料齐全,结论属实"})
    assert other.status_code == 403 and other.json()["detail"]["code"] == "not_assigned"

    # the re-checker's form: closure wrong, with an evidence file
    checker = Staff(stack, "spotcheck")
    queue = checker.get("/workbench/rechecks")
    assert queue.status_code == 200 and target in queue.text
    form = checker.get(f"/workbench/rechecks/{round_id}/{target}")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    recorded = checker.http.post(
        f"/workbench/rechecks/{round_id}/{target}",
        data={"csrftoken": checker.token("/workbench"), "verdict": "wrong",
              "findings": "现场核查发现确有违规收费,查否结论不实"},
        files={"file:evidence": ("核查记录.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"
                                 b"trailer<<>>\n%%EOF\n", "application/pdf")})
    assert recorded.status_code == 303, recorded.text
    for item in mine[1:]:
        done = post(f"/api/v1/spot-checks/rounds/{round_id}/items/{item['item_id']}/recheck",
                    "spotcheck", {"verdict": "upheld", "findings": "材料齐全,结论属实"})
        assert done.status_code == 200, done.text
    others = [i for i in drawn["items"] if i["item_id"] not in {m["item_id"] for m in mine}]
    for item in others:
        post(f"/api/v1/spot-checks/rounds/{round_id}/items/{item['item_id']}/recheck",
             "spotcheck", {"verdict": "upheld", "findings": "材料齐全,结论属实"})

    # the ledger reopens the wrong closure, as the re-checker, with source spot_check
    wait_until(lambda: problem_of(stack, target)["state"] == "registered", timeout=60)
    last = problem_of(stack, target)["timeline"][-1]
    assert last["action"] == "reopen" and last["data"]["source"] == "spot_check"
    assert last["actor"] == "spotcheck"

    closed = post(f"/api/v1/spot-checks/rounds/{round_id}/close", "spotcheck", {})
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_entry"]["seq"] > closed.json()["seed_entry"]["seq"]
    results = get(f"/api/v1/spot-checks/results?period={period}", "county").json()["items"]
    school = next(r for r in results if r["unit"] == SCHOOL and r["stratum"] == "ordinary")
    assert (school["population"], school["sampled"], school["errors"], school["decision"]) == (
        3, 3, 1, "full_review")
    assert get(f"/api/v1/spot-checks/results?period={period}",
               "handler-school1").json()["items"] == [
        r for r in results if r["unit"] == SCHOOL]
    for name in ("verdicts.json", "results.json"):
        reply = get(f"/api/v1/spot-checks/rounds/{round_id}/files/{name}", "spotcheck")
        assert reply.status_code == 200
        files[name] = tmp_path / name
        files[name].write_bytes(reply.content)
    assert rederive(files["manifest.tsv"], files["seed.txt"], files["params.json"],
                    files["verdicts.json"]) == files["results.json"].read_bytes()
    assert get("/api/v1/ledger/verify", "county").json()["ok"] is True

    for who, path in (("spotcheck", "/workbench/rounds"),
                      ("county", f"/workbench/rounds/{round_id}"),
                      ("county", "/workbench/spot-check-results?period=" + period),
                      ("spotcheck", "/workbench/rechecks")):
        shown = Staff(stack, who).get(path)
        assert shown.status_code == 200, (path, shown.text[:500])
    round_page = Staff(stack, "county").get(f"/workbench/rounds/{round_id}")
    assert round_["manifest_sha256"] in round_page.text and "results.json" in round_page.text


def rederive(manifest, seed, params, verdicts=None) -> bytes:
    command = [sys.executable, "-m", "services.audit.rederive", str(manifest), str(seed),
               str(params)]
    if verdicts is not None:
        command += ["--verdicts", str(verdicts)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout
