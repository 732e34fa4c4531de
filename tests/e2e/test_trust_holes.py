"""Issue 8 through the running platform: self-found only when a unit reports itself (hole 7),
the custodian opens a contact and the opening lands in the ledger's chain (hole 11), and a
deactivated account's token stops at once (hole 12)."""
from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e

CLUE = {"title": "户籍窗口推诿扯皮", "description": "户籍窗口多次推诿,不一次性告知所需材料",
        "subject_unit": "org_gd_public_security"}


def wait_for(probe, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def auth(stack, username: str) -> dict:
    return {"Authorization": f"Bearer {stack.token(username, f'dev-{username}-2017!')}"}


def submit(stack, headers: dict | None = None, **body) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/api/v1/clues", json={**CLUE, **body},
                      headers=headers or {}, timeout=10)


def problem_of(stack, county: dict, clue_id: str) -> dict:
    def find():
        listed = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", headers=county,
                           timeout=10).json()["items"]
        return next((p for p in listed if p["clue_id"] == clue_id), None)
    found = wait_for(find)
    return httpx.get(f"{stack.base_url}/api/v1/problems/{found['id']}", headers=county,
                     timeout=10).json()


def test_only_a_unit_reporting_itself_is_self_found(stack):
    county, police = auth(stack, "county"), auth(stack, "handler-police")
    own = submit(stack, police, channel="self_inspection")
    assert own.status_code == 202, own.text
    letter = submit(stack, county, channel="letter")
    assert letter.status_code == 202, letter.text
    assert submit(stack, auth(stack, "ops"), channel="self_inspection").status_code == 403
    assert submit(stack, auth(stack, "media"), channel="self_inspection").status_code == 403
    assert problem_of(stack, county, own.json()["clue_id"])["self_found"] is True
    assert problem_of(stack, county, letter.json()["clue_id"])["self_found"] is False


def test_the_custodian_opens_a_named_contact_and_the_chain_records_it(stack):
    named = submit(stack, channel="public_report_platform", anonymous=False,
                   reporter={"name": "李四", "phone": "13900000000"})
    assert named.status_code == 202, named.text
    clue_id, county = named.json()["clue_id"], auth(stack, "county")
    problem_of(stack, county, clue_id)  # registered: the chain is quiet again
    head = httpx.get(f"{stack.base_url}/api/v1/ledger/head", timeout=10).json()
    url = f"{stack.base_url}/api/v1/clues/{clue_id}/contact"
    reason = {"reason": "举报人要求反馈办理结果,需电话联系"}
    for other in ("county", "supervisor-jc", "handler-police", "spotcheck", "ops", "media"):
        refused = httpx.post(url, json=reason, headers=auth(stack, other), timeout=10)
        assert refused.status_code == 403 and "13900000000" not in refused.text, other
    opened = httpx.post(url, json=reason, headers=auth(stack, "custodian"), timeout=10)
    assert opened.status_code == 200, opened.text
    assert opened.json()["contact"]["phone"] == "13900000000"
    assert opened.headers["cache-control"] == "no-store"
    wait_for(lambda: httpx.get(f"{stack.base_url}/api/v1/ledger/head",
                               timeout=10).json()["seq"] == head["seq"] + 1)
    verdict = httpx.get(f"{stack.base_url}/api/v1/ledger/verify", headers=county,
                        timeout=60).json()
    assert verdict["ok"] is True
    no_reason = httpx.post(url, json={}, headers=auth(stack, "custodian"), timeout=10)
    assert no_reason.status_code == 422


def test_a_deactivated_accounts_token_is_refused_on_its_next_request(stack):
    spot = auth(stack, "spotcheck")
    rollup = f"{stack.base_url}/api/v1/ledger/rollup"
    assert httpx.get(rollup, headers=spot, timeout=10).status_code == 200
    done = httpx.post(f"{stack.base_url}/api/v1/accounts/spotcheck/deactivate",
                      headers=auth(stack, "county"), timeout=10)
    assert done.status_code == 200 and done.json()["active"] is False
    refused = httpx.get(rollup, headers=spot, timeout=10)
    assert refused.status_code == 401 and refused.json()["detail"]["code"] == "token_revoked"
