"""The monthly bulletin (月通报) through the real stack: the county office drafts October
2017 on the workbench, reviews it (the page printed from the same template as the PDF),
publishes it with CSRF; the PDF downloaded is exactly the bytes whose SHA-256 the ledger's
chain entry holds, its text (pypdf) has the Chinese unit names, the figures and the chain
head printed; publishing the month again is refused (409) and changes nothing; supervising
bodies read it, a unit's handler is refused, a bad month is a bilingual 422."""
from __future__ import annotations

import hashlib
import io
import re

import httpx
import pytest
from pypdf import PdfReader

from tests.support.workbench import Staff, api, registered_problem

pytestmark = pytest.mark.e2e
MONTH = "2017-10"


@pytest.fixture(scope="module")
def stack(shared_workbench_stack):
    return shared_workbench_stack


def listed(stack, username="county") -> list[dict]:
    reply = httpx.get(f"{stack.base_url}/api/v1/bulletins", headers=api(stack, username),
                      timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["items"]


def test_draft_review_publish_once_and_read_the_pdf(stack):
    registered_problem(stack, "学校食堂卫生问题")
    county = Staff(stack, "county")
    head = httpx.get(f"{stack.base_url}/api/v1/ledger/head", timeout=10).json()
    draft = httpx.post(f"{stack.base_url}/api/v1/bulletins/draft", headers=api(stack, "county"),
                       timeout=60, json={"month": MONTH, "cases": ["p-1"]})
    assert draft.status_code == 200 and draft.json()["status"] == "draft"
    assert {r["unit"] for r in draft.json()["small_units"]} >= {"org_sch_yanshan_high"}

    page = county.get(f"/workbench/bulletins?month={MONTH}&min_problems=5&cases=p-1")
    assert page.status_code == 200, page.text
    assert "2017年10月 专项整治工作通报" in page.text and "草稿" in page.text
    assert "盐山中学" in page.text and head["hash"] in page.text and 'id="publish"' in page.text
    assert "样本少" in page.text        # one problem: listed apart, not ranked

    # refusals change nothing: no CSRF token, a unit's handler, a bad month
    assert county.post("/workbench/bulletins", {"month": MONTH}, csrf=False).status_code == 403
    handler = Staff(stack, "handler-school1")
    assert handler.get("/workbench/bulletins").status_code == 403
    bad = httpx.post(f"{stack.base_url}/api/v1/bulletins", headers=api(stack, "county"),
                     timeout=30, json={"month": "2017-13"})
    assert bad.status_code == 422
    by_handler = httpx.post(f"{stack.base_url}/api/v1/bulletins", timeout=30,
                            headers=api(stack, "handler-school1"), json={"month": MONTH})
    assert by_handler.status_code == 403
    assert listed(stack) == []

    # what is published is what was reviewed: a new problem since the review changes the
    # figures, and publishing the stale draft is refused (409) until reviewed again
    stale = re.search(r'name="reviewed" value="([0-9a-f]{64})"', page.text).group(1)
    registered_problem(stack, "学校违规补课收费")
    changed = county.post("/workbench/bulletins", {"month": MONTH, "min_problems": "5",
                                                   "cases": "p-1", "reviewed": stale})
    assert changed.status_code == 409 and "重新审阅" in changed.text
    assert listed(stack) == []
    page = county.get(f"/workbench/bulletins?month={MONTH}&min_problems=5&cases=p-1")
    reviewed = re.search(r'name="reviewed" value="([0-9a-f]{64})"', page.text).group(1)
    assert reviewed != stale
    done = county.post("/workbench/bulletins", {"month": MONTH, "min_problems": "5",
                                                "cases": "p-1", "reviewed": reviewed})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/workbench/bulletins/{MONTH}?published=1"
    shown = county.get(done.headers["location"])
    assert shown.status_code == 200 and "已发布" in shown.text

    [entry] = listed(stack)
    assert entry["month"] == MONTH and entry["published_by"] == "county"
    pdf = httpx.get(f"{stack.base_url}/api/v1/bulletins/{MONTH}/pdf", timeout=30,
                    headers=api(stack, "supervisor-edu"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == entry["pdf_sha256"]
    assert county.get(f"/workbench/bulletins/{MONTH}/pdf").content == pdf.content

    text = re.sub(r"\s+", "", "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "盐山中学" in text and "盐山县第二中学" in text and "p-1" in text
    assert "盐山中学样本少02" in text               # its row: small; none new in 2017-10, 2 in all
    printed = entry["printed_head"]
    assert printed["hash"] in text and printed["seq"] >= head["seq"]

    # the chain entry is in the ledger's chain, which still verifies
    now = httpx.get(f"{stack.base_url}/api/v1/ledger/head", timeout=10).json()
    assert now["seq"] >= entry["seq"] > printed["seq"]
    verdict = httpx.get(f"{stack.base_url}/api/v1/ledger/verify", timeout=120,
                        headers=api(stack, "county")).json()
    assert verdict["ok"], verdict

    again = httpx.post(f"{stack.base_url}/api/v1/bulletins", headers=api(stack, "county"),
                       timeout=60, json={"month": MONTH})
    assert again.status_code == 409, again.text
    assert again.json()["detail"]["code"] == "bulletin_published"
    assert "已发布" in again.json()["detail"]["message_zh"]
    page_again = county.post("/workbench/bulletins", {"month": MONTH})
    assert page_again.status_code == 409 and "已发布" in page_again.text
    assert listed(stack) == [entry]
    assert listed(stack, "supervisor-edu") == [entry]
    one = httpx.get(f"{stack.base_url}/api/v1/bulletins/{MONTH}", timeout=10,
                    headers=api(stack, "spotcheck")).json()
    assert one["pdf_sha256"] == entry["pdf_sha256"] and one["figures"]["month"] == MONTH


@pytest.mark.browser
def test_the_draft_in_a_browser_at_phone_and_desktop_width(stack):
    """The review page at 390 px and desktop: no sideways scroll of the page (the wide table
    scrolls in its own box), no CSP refusal or script error; screenshots kept."""
    from tests.e2e.test_pages import SHOTS, browser_session
    from tests.support.workbench import PASSWORDS
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/sign-in?next=/workbench/bulletins")
        browser.type("#f-username", "county")
        browser.type("#f-password", PASSWORDS["county"])
        browser.click("#sign-in")
        browser.wait("return location.pathname === '/workbench/bulletins'")
        browser.type("#b-month", "2017-11")
        browser.click("#show-draft")
        browser.wait("return !!document.getElementById('bulletin')")
        assert "2017年11月" in browser.wait_text("#bulletin-title")
        for width, label in ((390, "phone"), (1280, "desktop")):
            browser._call("POST", "/window/rect", {"width": width, "height": 2400})
            assert browser.js("return document.documentElement.scrollWidth") <= width, label
            browser.screenshot(SHOTS / f"workbench-bulletin-{label}.png")
        assert browser.console_errors() == []
