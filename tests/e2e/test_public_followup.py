"""The public side, finished (举报人进度查询与回访), through the real stack: a clue goes
registered → dispatched → verified → rectified → struck off and the receipt shows each
stage with its date and nothing internal; the reporter adds information and a photo (the
copy staff see has no location); a closed case takes no more; the return visit is recorded
once and counted in the roll-up; a supervising body may be a report's subject; an unknown
path is a Chinese page for a browser and JSON for a program; bad input is refused in both
languages and changes nothing.
"""
from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import httpx
import pytest
from PIL import Image

from tests.e2e.test_files import has_gps, jpeg_with_gps, stored_files
from tests.e2e.test_pages import SHOTS, browser_session, wait_until

pytestmark = pytest.mark.e2e

PASSWORDS = {"county": "dev-county-2017!", "supervisor-edu": "dev-supervisor-edu-2017!",
             "handler-school1": "dev-handler-school1-2017!"}
SCHOOL = "org_sch_yanshan_high"
SECRET = "内部说明:举报人疑似本校教师"
LEAD, PERSON = "赵副校长", "钱主任"
PUBLIC_WORDS = "已退还违规收取的资料费,并在校门口公示收费项目"


class Public:
    """The API as the stack's staff and the reporter use it."""

    def __init__(self, stack):
        self.stack = stack
        self.url = stack.base_url
        self.auth = {who: {"Authorization": f"Bearer {stack.token(who, pw)}"}
                     for who, pw in PASSWORDS.items()}

    def file(self, title: str, unit: str = SCHOOL) -> dict:
        reply = httpx.post(f"{self.url}/api/v1/clues", timeout=10, json={
            "channel": "public_report_platform", "title": title, "kind": "misconduct",
            "description": "学校违规收取资料费,家长多次反映无人处理", "subject_unit": unit})
        assert reply.status_code == 202, reply.text
        return reply.json()

    def problem_of(self, filed: dict) -> str:
        def found():
            items = httpx.get(f"{self.url}/api/v1/problems?limit=200", timeout=10,
                              headers=self.auth["county"]).json()["items"]
            return next((p["id"] for p in items if p["clue_id"] == filed["clue_id"]), None)
        return wait_until(found)

    def problem(self, pid: str) -> dict:
        return httpx.get(f"{self.url}/api/v1/problems/{pid}", timeout=10,
                         headers=self.auth["county"]).json()

    def act(self, who: str, pid: str, action: str, **body) -> None:
        reply = httpx.post(f"{self.url}/api/v1/problems/{pid}/{action}", json=body,
                           headers=self.auth[who], timeout=30)
        assert reply.status_code == 200, (action, reply.text)

    def lookup(self, code: str) -> dict:
        reply = httpx.post(f"{self.url}/api/v1/receipts/lookup", timeout=10,
                           json={"receipt_code": code})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def supplement(self, form: list[tuple], files: list[tuple] = ()) -> httpx.Response:
        """multipart/form-data with the fields in the order given, then the photos (as the
        follow-up page sends it, photos or none)."""
        parts = [(name, (None, value)) for name, value in form] + list(files)
        return httpx.post(f"{self.url}/api/v1/receipts/supplement", timeout=30, files=parts)

    def rate(self, code: str, satisfaction: str, reason: str | None = None) -> httpx.Response:
        body = {"receipt_code": code, "satisfaction": satisfaction}
        if reason is not None:
            body["reason"] = reason
        return httpx.post(f"{self.url}/api/v1/receipts/satisfaction", json=body, timeout=30)

    def rollup(self) -> dict:
        return httpx.get(f"{self.url}/api/v1/ledger/rollup", timeout=30,
                         headers=self.auth["county"]).json()


@pytest.fixture(scope="module")
def public(stack) -> Public:
    return Public(stack)


def plan() -> dict:
    return {"measures": "退还违规收取的资料费,公示收费项目", "target": "不再违规收费",
            "deadline": (date.today() + timedelta(days=60)).isoformat(), "lead_official": LEAD,
            "responsible_unit": SCHOOL, "responsible_person": PERSON,
            "handling": "time_limited"}


def stages(answer: dict) -> list[str]:
    return [s["stage"] for s in answer["stages"]]


def struck_off(public: Public, title: str) -> tuple[dict, str]:
    filed = public.file(title)
    pid = public.problem_of(filed)
    public.act("county", pid, "dispatch", respond_days=5, note=SECRET)
    public.act("handler-school1", pid, "verify", plan=plan(), note=SECRET)
    public.act("supervisor-edu", pid, "approve_plan", note=SECRET)
    public.act("handler-school1", pid, "report_rectified", note=SECRET,
               evidence=[{"description": "退费签收表"}], public_findings=PUBLIC_WORDS)
    public.act("county", pid, "strike_off", note=SECRET)
    return filed, pid


def test_the_receipt_shows_each_stage_with_its_date_and_nothing_internal(public):
    filed = public.file("学校违规收取资料费:进度可查")
    code = filed["receipt_code"]
    pid = public.problem_of(filed)
    assert stages(wait_until(lambda: public.lookup(code)["stages"] and public.lookup(code))) \
        == ["registered"]
    steps = [
        ("county", "dispatch", {"respond_days": 5, "note": SECRET}, "dispatched"),
        ("handler-school1", "verify", {"plan": plan(), "note": SECRET}, "verified"),
        ("supervisor-edu", "approve_plan", {"note": SECRET}, "verified"),
        ("handler-school1", "report_rectified", {
            "note": SECRET, "evidence": [{"description": "退费签收表"}],
            "public_findings": PUBLIC_WORDS}, "rectified"),
        ("county", "strike_off", {"note": SECRET}, "struck_off"),
    ]
    for who, action, body, stage in steps:
        public.act(who, pid, action, **body)
        assert stages(public.lookup(code))[-1] == stage, action
    answer = wait_until(lambda: (a := public.lookup(code))["status"] == "closed" and a)
    assert stages(answer) == ["registered", "dispatched", "verified", "rectified", "struck_off"]
    for stage in answer["stages"]:
        assert datetime.fromisoformat(stage["at"]).date() == date.today()
        assert stage["label_zh"] and stage["label_en"]
    rectified = answer["stages"][3]
    assert (rectified["label_zh"], rectified["public_findings"]) == ("已整改", PUBLIC_WORDS)
    assert answer["stages"][-1]["label_zh"] == "已销号"
    assert answer["may_supplement"] is False and answer["may_rate"] is True
    said = json.dumps(answer, ensure_ascii=False)
    for internal in (SECRET, LEAD, PERSON, "handler-school1", "supervisor-edu", pid, SCHOOL,
                     "退费签收表", "problem_id", "reporter:"):
        assert internal not in said, internal


def test_the_reporter_adds_information_and_a_photo_whose_staff_copy_has_no_location(
        public, stack):
    filed = public.file("学校违规收取资料费:补充照片")
    code = filed["receipt_code"]
    pid = public.problem_of(filed)
    public.act("county", pid, "dispatch", respond_days=5)
    photo = jpeg_with_gps()
    reply = public.supplement([("receipt_code", code), ("text", "收费收据已拍照,见附件")],
                              [("photo", ("receipt.jpg", photo, "image/jpeg"))])
    assert reply.status_code == 200, reply.text
    assert reply.json()["photos"] == 1 and reply.json()["status_zh"]

    entry = next(e for e in public.problem(pid)["timeline"]
                 if e["action"] == "reporter_supplement")
    assert entry["data"]["text"] == "收费收据已拍照,见附件"
    assert entry["actor"].startswith("reporter:") and code not in json.dumps(entry)
    assert entry["hash"] and entry["state"]            # a chained entry binding the row
    original = entry["data"]["photos"][0]
    handler = httpx.get(f"{stack.base_url}/api/v1/files/{original}", timeout=30,
                        headers=public.auth["handler-school1"])
    assert handler.status_code == 200 and handler.headers["x-file-copy"] == "redacted"
    assert not has_gps(handler.content)
    assert Image.open(io.BytesIO(handler.content)).size == (64, 48)
    county = httpx.get(f"{stack.base_url}/api/v1/files/{original}?copy=original", timeout=30,
                       headers=public.auth["county"])
    assert county.status_code == 200 and has_gps(county.content)    # the sealed original

    answer = public.lookup(code)
    assert stages(answer)[-1] == "supplemented" and answer["stages"][-1]["photos"] == 1
    assert "收费收据" not in json.dumps(answer, ensure_ascii=False)
    assert answer["may_supplement"] is True and answer["may_rate"] is False
    with_text_only = public.supplement([("receipt_code", code), ("text", "又收了一次资料费")])
    assert with_text_only.status_code == 200 and with_text_only.json()["photos"] == 0


def test_bad_supplements_are_refused_in_both_languages_and_change_nothing(public, stack):
    filed = public.file("学校违规收取资料费:错误的补充")
    code = filed["receipt_code"]
    pid = public.problem_of(filed)
    public.act("county", pid, "dispatch", respond_days=5)
    entries, blobs = len(public.problem(pid)["timeline"]), stored_files(stack)
    photo = ("p.jpg", jpeg_with_gps(), "image/jpeg")
    pdf = ("p.jpg", b"%PDF-1.4\n" + b"0" * 4096, "image/jpeg")
    cases = [
        ([("receipt_code", code), ("text", "短")], [], 422, None),
        ([("receipt_code", code)], [], 422, None),
        ([("receipt_code", code), ("text", "含有控制字符\x07的补充")], [], 422, None),
        ([("receipt_code", "AAAA-BBBB-CCCC-DDDD"), ("text", "未知回执码的补充")], [("photo", photo)],
         404, "unknown_receipt"),
        ([("text", "照片在回执码之前")], [("photo", photo)], 422, "receipt_code_required"),
        ([("receipt_code", code), ("text", "不是照片的文件")], [("photo", pdf)], 415,
         "unsupported_file_type"),
        ([("receipt_code", code), ("text", "照片太多了")], [("photo", photo)] * 6, 422,
         "too_many_files"),
    ]
    for form, files, status, code_expected in cases:
        reply = public.supplement(form, files)
        assert reply.status_code == status, (form, reply.text)
        detail = reply.json()["detail"]
        if code_expected:
            assert detail["code"] == code_expected and detail["message_zh"], reply.text
        else:
            assert detail[0]["message_zh"] and detail[0]["msg"], reply.text
    json_body = httpx.post(f"{stack.base_url}/api/v1/receipts/supplement", timeout=10,
                           json={"receipt_code": code, "text": "以 JSON 提交"})
    assert json_body.status_code == 415 and json_body.json()["detail"]["message_zh"]
    assert len(public.problem(pid)["timeline"]) == entries
    assert stages(public.lookup(code)) == ["registered", "dispatched"]
    new_blobs = set(stored_files(stack)) - set(blobs)
    assert len(new_blobs) <= 2, new_blobs   # at most the six-photo case's first, kept unused


def test_a_closed_case_takes_no_more_information(public):
    filed, pid = struck_off(public, "学校违规收取资料费:已销号后补充")
    entries = len(public.problem(pid)["timeline"])
    reply = public.supplement([("receipt_code", filed["receipt_code"]),
                               ("text", "问题又出现了,补充一些情况")],
                              [("photo", ("p.jpg", jpeg_with_gps(), "image/jpeg"))])
    assert reply.status_code == 409, reply.text
    detail = reply.json()["detail"]
    assert detail["code"] == "case_closed" and "已办结" in detail["message_zh"]
    assert "closed" in detail["message"]
    assert len(public.problem(pid)["timeline"]) == entries


def test_satisfaction_is_recorded_once_per_receipt_and_counted_in_the_rollup(public):
    filed, pid = struck_off(public, "学校违规收取资料费:回访")
    code = filed["receipt_code"]
    before = public.rollup()

    no_reason = public.rate(code, "not_satisfied")
    assert no_reason.status_code == 422 and no_reason.json()["detail"]["field"] == "reason"
    assert "不满意" in no_reason.json()["detail"]["message_zh"]
    junk = public.rate(code, "delighted")
    assert junk.status_code == 422 and junk.json()["detail"][0]["message_zh"]
    assert public.lookup(code)["rating"] is None

    first = public.rate(code, "basically_satisfied", "退费及时,但公示晚了几天")
    assert first.status_code == 200, first.text
    answer = public.lookup(code)
    assert answer["rating"]["satisfaction"] == "basically_satisfied"
    assert answer["rating"]["label_zh"] == "基本满意" and answer["may_rate"] is False
    again = public.rate(code, "not_satisfied", "改变主意")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_rated"
    assert "首次评价" in again.json()["detail"]["message_zh"]
    assert public.lookup(code)["rating"]["satisfaction"] == "basically_satisfied"

    entries = [e for e in public.problem(pid)["timeline"] if e["action"] == "rate_satisfaction"]
    assert len(entries) == 1 and entries[0]["data"]["satisfaction"] == "basically_satisfied"
    after = public.rollup()
    counted = after["by"]["satisfaction"].get("basically_satisfied", 0)
    assert counted == before["by"].get("satisfaction", {}).get("basically_satisfied", 0) + 1
    assert sum(after["by"]["satisfaction"].values()) == sum(
        before["by"].get("satisfaction", {}).values()) + 1
    school = next(u for u in after["units"] if u["unit"] == SCHOOL)
    assert school["satisfaction"]["basically_satisfied"] >= 1
    assert 0 < school["satisfaction_rate"] <= 1
    verdict = httpx.get(f"{public.url}/api/v1/ledger/verify", timeout=180,
                        headers=public.auth["county"]).json()   # answers and supplements
    assert verdict["ok"] is True, verdict                         # are links of the chain


def test_an_open_case_has_no_outcome_to_rate(public):
    filed = public.file("学校违规收取资料费:未办结不评价")
    public.problem_of(filed)
    reply = public.rate(filed["receipt_code"], "satisfied")
    assert reply.status_code == 409 and reply.json()["detail"]["code"] == "not_ratable"
    assert reply.json()["detail"]["message_zh"]
    unknown = public.rate("AAAA-BBBB-CCCC-DDDD", "satisfied")
    assert unknown.status_code == 404 and unknown.json()["detail"]["code"] == "unknown_receipt"


@pytest.mark.parametrize("body", ["org_supervision_bureau", "org_education_bureau"])
def test_a_supervising_body_may_be_the_subject_of_a_report(public, body):
    filed = public.file(f"分管部门推诿扯皮:{body}", unit=body)
    pid = public.problem_of(filed)
    assert public.problem(pid)["unit"] == body
    assert body in {o["code"] for o in httpx.get(
        f"{public.url}/api/v1/campaign", timeout=10).json()["organizations"]
        if o["type"] == "supervisor"}


def test_an_unknown_path_is_a_chinese_page_for_a_browser_and_json_for_the_api(public):
    html = {"Accept": "text/html,application/xhtml+xml"}
    page = httpx.get(f"{public.url}/no-such-page", headers=html, timeout=10)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text and "页面不存在" in page.text
    assert page.text.index("页面不存在") < page.text.index("Page not found")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    api = httpx.get(f"{public.url}/api/v1/no-such-thing", headers=html, timeout=10)
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert api.json()["detail"]["code"] == "not_found" and api.json()["detail"]["message_zh"]
    program = httpx.get(f"{public.url}/no-such-page", timeout=10)
    assert program.status_code == 404 and program.json()["detail"]["code"] == "not_found"
    wrong = httpx.delete(f"{public.url}/receipt", headers=html, timeout=10)
    assert wrong.status_code == 405 and "不支持此访问方式" in wrong.text
    assert "GET" in wrong.headers["allow"]
    wrong_api = httpx.put(f"{public.url}/api/v1/campaign", headers=html, timeout=10)
    assert wrong_api.status_code == 405
    assert wrong_api.json()["detail"]["code"] == "method_not_allowed"
    kept = httpx.get(f"{public.url}/static/nothing.js", headers=html, timeout=10)
    assert kept.status_code == 404 and kept.json()["detail"]["message_zh"] == "文件不存在"


@pytest.mark.browser
def test_a_reporter_adds_information_and_a_photo_on_the_follow_up_page(public, tmp_path):
    filed = public.file("学校违规收取资料费:页面补充")
    code = filed["receipt_code"]
    pid = public.problem_of(filed)
    public.act("county", pid, "dispatch", respond_days=5)
    photo = tmp_path / "收据.jpg"
    photo.write_bytes(jpeg_with_gps())
    with browser_session("zh-CN") as browser:
        browser.open(public.url + "/receipt")
        browser.wait("return !document.getElementById('follow-form').hidden")
        browser.type("#code", code)
        browser.click("#follow-submit")
        assert browser.wait_text("#supplement-heading") == "补充情况和照片"
        assert browser.text("#rating") is None              # open: no outcome to rate yet
        browser.click("#supplement-submit")
        assert browser.wait_text("#supplement-text-error") == "请填写此项。"
        browser.type("#supplement-text", "又收了一次资料费,收据见照片")
        browser.type("#supplement-photos", str(photo))
        browser.click("#supplement-submit")
        assert "已收到您补充的材料" in browser.wait_text("#supplement-result", timeout=60)
        browser.wait("return document.querySelector('#stages li:last-child')"
                     ".getAttribute('data-stage') === 'supplemented'")
        assert "附照片 1 张" in browser.text("#stages li:last-child")
        browser.screenshot(SHOTS / "pages-follow-supplement-zh.png")
        assert browser.console_errors() == []
    entry = next(e for e in public.problem(pid)["timeline"]
                 if e["action"] == "reporter_supplement")
    assert entry["data"]["text"] == "又收了一次资料费,收据见照片"
    assert len(entry["data"]["photos"]) == 1


@pytest.mark.browser
def test_a_reporter_sees_the_stages_as_a_timeline_and_rates_the_outcome(public):
    filed, _ = struck_off(public, "学校违规收取资料费:页面回访")
    code = filed["receipt_code"]
    wait_until(lambda: public.lookup(code)["status"] == "closed")
    with browser_session("zh-CN") as browser:
        browser.open(public.url + "/")
        browser.wait("return document.querySelector("
                     "'#subject_unit option[value=\"org_supervision_bureau\"]') !== null")
        assert browser.js("return document.querySelector('#subject_unit "
                          "option[value=\"org_education_bureau\"]').parentNode.label"
                          ).startswith("县直分管部门")

        browser.open(public.url + "/receipt")
        browser.wait("return !document.getElementById('follow-form').hidden")
        browser.type("#code", code)
        browser.click("#follow-submit")
        browser.wait("return document.querySelectorAll('#stages li').length === 5")
        timeline = browser.text("#stages")
        for label in ("已登记", "已交办", "已核实", "已整改", "已销号", PUBLIC_WORDS):
            assert label in timeline, label
        assert SECRET not in browser.text("#follow-result") and LEAD not in timeline
        assert browser.text("#supplement") is None          # closed: nothing to add
        assert browser.wait_text("#rating-heading") == "对办理结果满意吗？"
        browser.screenshot(SHOTS / "pages-follow-stages-zh.png")

        browser.click("#rate-not")
        browser.click("#rating-submit")
        assert browser.wait_text("#rating-reason-error") == "请填写此项。"
        browser.click("#lang-switch")
        assert browser.text("#rating-reason-error") == "Please fill this in."
        assert "Struck off" in browser.text("#stages")
        browser.click("#lang-switch")
        browser.click("#rate-satisfied")
        browser.click("#rating-submit")
        assert "感谢您的评价" in browser.wait_text("#rating-result")
        assert "您的评价：满意" in browser.wait_text("#rating-given")
        assert browser.text("#rating-form") is None
        browser._call("POST", "/window/rect", {"width": 390, "height": 1400})
        browser.screenshot(SHOTS / "pages-follow-rated-390.png")
        assert browser.js("return document.documentElement.scrollWidth <= 390 + 1")
        assert browser.console_errors() == []
    assert public.lookup(code)["rating"]["satisfaction"] == "satisfied"
