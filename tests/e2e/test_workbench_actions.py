"""The supervising body's and the county office's decisions on the workbench (审核与督办决定),
through the real stack: dispatch by a unit's name, approve or send back a plan, accept or send
back an unfounded finding, progress checks, strike-off, merge beside the duplicate suggestions
and its undoing, transfer, suspend and resume, severity beside the ledger's advice; and every
refusal (a unit's handler, a state that does not allow it, a missing reason, no CSRF token).
"""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from tests.support.browser import SHOTS, browser_session
from tests.support.workbench import (
    PASSWORDS, SCHOOL, Staff, act, dispatched_problem, problem_of, registered_problem, state_of,
)

pytestmark = pytest.mark.e2e
NO2 = "org_sch_no2_high"          # 盐山县第二中学, like the school in 县教育局's system
POLICE = "org_gd_public_security"  # 县公安局, in 县监察局's system


@pytest.fixture(scope="module")
def stack(shared_workbench_stack):
    return shared_workbench_stack


@pytest.fixture(scope="module")
def supervisor(stack):
    return Staff(stack, "supervisor-edu")


@pytest.fixture(scope="module")
def county(stack):
    return Staff(stack, "county")


@pytest.fixture(scope="module")
def handler(stack):
    return Staff(stack, "handler-school1")


PLAN = {"measures": "立即整改食堂卫生，建立每日检查制度", "target": "食堂卫生达标",
        "lead_official": "王校长", "responsible_unit": SCHOOL, "responsible_person": "李主任",
        "handling": "time_limited"}


def verified_problem(stack, title: str) -> str:
    pid = dispatched_problem(stack, title)
    act(stack, "handler-school1", pid, "verify", plan={
        **PLAN, "deadline": (date.today() + timedelta(days=30)).isoformat()})
    return pid


def rectified_problem(stack, title: str) -> str:
    pid = verified_problem(stack, title)
    act(stack, "supervisor-edu", pid, "approve_plan")
    act(stack, "handler-school1", pid, "report_rectified",
        evidence=[{"description": "整改前后照片"}])
    return pid


def unfounded_problem(stack, title: str) -> str:
    pid = dispatched_problem(stack, title)
    act(stack, "handler-school1", pid, "report_unfounded", findings="经查，食堂卫生符合标准",
        evidence=[{"description": "卫生检查记录"}])
    return pid


def form_error(page: str) -> str:
    return re.search(r'id="form-error">(.*?)</p>', page, re.S).group(1)


def action_links(page: str) -> set[str]:
    return set(re.findall(r'id="do-(\w+)"', page))


# --- dispatch and reassign: a unit chosen by its name ------------------------------------------

def test_the_county_office_dispatches_by_choosing_a_unit_by_its_name(stack, county):
    pid = registered_problem(stack, "道路破损无人修（交办）", unit=None,
                             description="城南道路破损半年无人修复，群众出行不便")
    page = county.get(f"/workbench/problems/{pid}").text
    assert "do-dispatch" in page and 'id="actions-decision"' in page
    form = county.get(f"/workbench/problems/{pid}/dispatch").text
    assert 'list="unit-names"' in form and '<datalist id="unit-names">' in form
    assert '<option value="盐山中学" label="学校">' in form
    assert '<option value="县公安局" label="政府部门">' in form
    assert '<option value="县委办公室"' not in form  # not a unit one dispatches to
    unknown = county.post(f"/workbench/problems/{pid}/dispatch", {
        "unit": "盐山县不存在的局", "respond_days": "5"})
    assert unknown.status_code == 422
    assert "没有名为“盐山县不存在的局”的单位，请从列表中选择单位名称" in unknown.text
    assert '<a href="#f-unit">承办单位：没有名为' in unknown.text
    assert 'value="盐山县不存在的局"' in unknown.text  # what was typed stays
    assert state_of(stack, pid) == "registered"
    done = county.post(f"/workbench/problems/{pid}/dispatch", {
        "unit": "县公安局", "respond_days": "5", "note": "请限期核实"})
    assert done.status_code == 303, done.text
    after = problem_of(stack, pid)
    assert (after["state"], after["unit"]) == ("dispatched", POLICE)


def test_a_supervisor_dispatches_within_its_system_by_name(stack, supervisor):
    pid = registered_problem(stack, "食堂卫生问题（系统内交办）")
    form = supervisor.get(f"/workbench/problems/{pid}/dispatch").text
    assert '<option value="盐山县第二中学" label="学校">' in form
    assert 'name="unit" value="盐山中学"' in form  # the unit the clue named, by its name
    assert "县公安局" not in form  # only the units of its own system are offered
    outside = supervisor.post(f"/workbench/problems/{pid}/dispatch", {"unit": "县公安局"})
    assert outside.status_code == 403 and "该问题不属于您所在的系统" in form_error(outside.text)
    done = supervisor.post(f"/workbench/problems/{pid}/dispatch", {
        "unit": "盐山县第二中学", "respond_by": (date.today() + timedelta(days=14)).isoformat()})
    assert done.status_code == 303, done.text
    assert problem_of(stack, pid)["unit"] == NO2
    moved = supervisor.post(f"/workbench/problems/{pid}/reassign", {
        "unit": "盐山中学", "reason": "经核实属盐山中学管理"})
    assert moved.status_code == 303, moved.text
    assert problem_of(stack, pid)["unit"] == SCHOOL


# --- plans: approve, send back -----------------------------------------------------------------

def test_a_supervisor_approves_a_plan(stack, supervisor):
    pid = verified_problem(stack, "食堂卫生问题（审核通过）")
    page = supervisor.get(f"/workbench/problems/{pid}").text
    assert {"approve_plan", "reject_plan", "suspend"} <= action_links(page)
    assert "verify" not in action_links(page)
    done = supervisor.post(f"/workbench/problems/{pid}/approve_plan", {"note": "计划可行"})
    assert done.status_code == 303 and done.headers["location"] == f"/workbench/problems/{pid}"
    assert state_of(stack, pid) == "rectifying"
    flash = supervisor.get(f"/workbench/problems/{pid}").text
    assert 'id="flash"' in flash and "审核通过整改计划" in flash


def test_sending_a_plan_back_needs_a_reason_in_chinese(stack, supervisor):
    pid = verified_problem(stack, "食堂卫生问题（退回计划）")
    form = supervisor.get(f"/workbench/problems/{pid}/reject_plan").text
    assert '<label for="f-reason">理由' in form and "代为办理" not in form
    missing = supervisor.post(f"/workbench/problems/{pid}/reject_plan", {"respond_days": "3"})
    assert missing.status_code == 422
    assert '<a href="#f-reason">理由：为必填项</a>' in missing.text
    assert 'id="f-reason-error"' in missing.text
    assert state_of(stack, pid) == "verified"
    done = supervisor.post(f"/workbench/problems/{pid}/reject_plan", {
        "reason": "整改措施不具体，请细化", "respond_days": "3"})
    assert done.status_code == 303, done.text
    assert state_of(stack, pid) == "dispatched"
    assert "整改措施不具体" in supervisor.get(f"/workbench/problems/{pid}").text


# --- unfounded: accept, send back ----------------------------------------------------------------

def test_a_supervisor_sends_an_unfounded_finding_back_then_accepts_it_once_confirmed(
        stack, supervisor):
    pid = unfounded_problem(stack, "食堂卫生问题（查否）")
    assert {"accept_unfounded", "reject_unfounded"} <= action_links(
        supervisor.get(f"/workbench/problems/{pid}").text)
    back = supervisor.post(f"/workbench/problems/{pid}/reject_unfounded", {
        "reason": "查否依据不足，请补充检查记录"})
    assert back.status_code == 303, back.text
    assert state_of(stack, pid) == "dispatched"
    act(stack, "handler-school1", pid, "report_unfounded", findings="补充检查后仍符合标准",
        evidence=[{"description": "第二次卫生检查记录"}])
    form = supervisor.get(f"/workbench/problems/{pid}/accept_unfounded").text
    assert 'id="irreversible"' in form and "不能撤回" in form
    assert 'name="_confirm" value="yes"' in form
    unconfirmed = supervisor.post(f"/workbench/problems/{pid}/accept_unfounded", {})
    assert unconfirmed.status_code == 422 and "请勾选确认后再提交" in unconfirmed.text
    assert '<a href="#f-_confirm">确认：请勾选确认后再提交</a>' in unconfirmed.text
    assert state_of(stack, pid) == "unfounded"
    done = supervisor.post(f"/workbench/problems/{pid}/accept_unfounded", {"_confirm": "yes"})
    assert done.status_code == 303, done.text
    after = problem_of(stack, pid)
    assert (after["state"], after["outcome"]) == ("closed", "unfounded")


# --- rectifying: progress checks; rectified: strike-off by the county office ------------------

def test_a_progress_check_flags_slow_progress_with_a_new_deadline(stack, supervisor):
    pid = verified_problem(stack, "食堂卫生问题（检查）")
    act(stack, "supervisor-edu", pid, "approve_plan")
    form = supervisor.get(f"/workbench/problems/{pid}/check_progress").text
    assert 'name="flags[0].flag"' in form and "整改进度慢" in form
    new_deadline = (date.today() + timedelta(days=20)).isoformat()
    done = supervisor.post(f"/workbench/problems/{pid}/check_progress", {
        "flags[0].flag": "slow_progress", "flags[0].reason": "设备尚未采购",
        "new_deadline": new_deadline})
    assert done.status_code == 303, done.text
    assert problem_of(stack, pid)["rectify_by"] == new_deadline


def test_the_county_office_strikes_off_only_once_it_confirms(stack, county):
    pid = rectified_problem(stack, "食堂卫生问题（销号）")
    page = county.get(f"/workbench/problems/{pid}").text
    decision = re.search(r'id="actions-decision".*?</div>', page, re.S).group(0)
    assert 'id="do-strike_off"' in decision and "不可撤回" in decision
    form = county.get(f"/workbench/problems/{pid}/strike_off").text
    assert "销号后问题即办结，不能撤回" in form
    assert '<label for="f-_confirm">我已核实，确认销号</label>' in form
    assert 'class="wb-button wb-button-warning" id="submit">销号</button>' in form
    unconfirmed = county.post(f"/workbench/problems/{pid}/strike_off", {"note": "验收合格"})
    assert unconfirmed.status_code == 422 and "请勾选确认后再提交" in unconfirmed.text
    assert state_of(stack, pid) == "rectified"
    done = county.post(f"/workbench/problems/{pid}/strike_off", {
        "note": "验收合格", "_confirm": "yes"})
    assert done.status_code == 303, done.text
    after = problem_of(stack, pid)
    assert (after["state"], after["outcome"]) == ("closed", "rectified")
    assert action_links(county.get(f"/workbench/problems/{pid}").text) == {
        "reopen", "decide_severity", "publish"}   # 公开曝光: not yet published, so no unpublish


# --- merge beside the duplicate suggestions, and its undoing -------------------------------------

def test_merge_shows_the_duplicate_suggestions_side_by_side_and_can_be_undone(stack, supervisor):
    text = "盐山中学门口早晚接送时段车辆乱停乱放，学生过马路十分危险，多次反映无人管理"
    first = registered_problem(stack, "学校门口车辆乱停（一）", description=text)
    second = registered_problem(stack, "学校门口车辆乱停（二）", description=text + "。")
    suggested = problem_of(stack, second)["details"]["duplicate_suggestions"]
    assert first in [s["problem_id"] for s in suggested]
    assert "merge" in action_links(supervisor.get(f"/workbench/problems/{second}").text)
    form = supervisor.get(f"/workbench/problems/{second}/merge").text
    this = re.search(r'id="merge-this".*?</div>', form, re.S).group(0)
    assert "学校门口车辆乱停（二）" in this and "盐山中学" in this and "车辆乱停乱放" in this
    card = re.search(rf'id="candidate-{first}".*?</dl>', form, re.S).group(0)
    assert "学校门口车辆乱停（一）" in card and "盐山中学" in card and "文字相似度" in card
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", card)  # its registration date
    assert f'type="radio" id="f-into-{first}" name="into" value="{first}"' in form
    # the other way round: keep this one, merge that one into it
    assert f'href="/workbench/problems/{first}/merge?into={second}"' in form
    reverse = supervisor.get(f"/workbench/problems/{first}/merge?into={second}").text
    assert f'value="{second}" checked' in reverse and "学校门口车辆乱停（二）" in reverse
    none_chosen = supervisor.post(f"/workbench/problems/{second}/merge", {})
    assert none_chosen.status_code == 422 and "合并到（保留的问题）：为必填项" in none_chosen.text
    itself = supervisor.post(f"/workbench/problems/{second}/merge", {"into_other": second})
    assert itself.status_code == 422 and "应为另一个未办结的问题编号" in itself.text
    done = supervisor.post(f"/workbench/problems/{second}/merge", {
        "into": first, "note": "同一问题，多渠道反映"})
    assert done.status_code == 303, done.text
    merged = problem_of(stack, second)
    assert (merged["state"], merged["outcome"], merged["merged_into"]) == (
        "closed", "merged", first)
    page = supervisor.get(f"/workbench/problems/{second}").text
    assert action_links(page) == {"unmerge"}
    assert f'<a href="/workbench/problems/{first}" id="merged-into">' in page
    undo = supervisor.get(f"/workbench/problems/{second}/unmerge").text
    assert 'id="unmerge-into"' in undo and "学校门口车辆乱停（一）" in undo
    undone = supervisor.post(f"/workbench/problems/{second}/unmerge", {"reason": "并非同一路段"})
    assert undone.status_code == 303, undone.text
    assert state_of(stack, second) == "registered"


# --- severity beside the advice ------------------------------------------------------------------

def test_the_severity_decision_is_made_beside_the_ledgers_advice(stack, supervisor):
    pid = verified_problem(stack, "食堂卫生问题（宽严相济）")
    problem = problem_of(stack, pid)
    advice = problem["severity_advice"]
    assert advice in ("lighter", "standard", "stricter")
    assert problem["severity_reasons"]["level"] == advice
    form = supervisor.get(f"/workbench/problems/{pid}/decide_severity").text
    aside = re.search(r'<aside[^>]*id="severity-advice".*?</aside>', form, re.S).group(0)
    assert f'data-level="{advice}"' in aside
    for reason in problem["severity_reasons"]["reasons_zh"]:
        assert reason in aside
    advised = re.search(rf'<label for="f-decision-{advice}">[^<]*<strong class="wb-advised"',
                        form)
    assert advised, "the advised level is marked beside its choice"
    assert form.count('class="wb-advised"') == 1
    no_note = supervisor.post(f"/workbench/problems/{pid}/decide_severity", {
        "decision": "stricter"})
    assert no_note.status_code == 422 and "说明：为必填项" in no_note.text
    assert 'id="severity-advice"' in no_note.text  # the advice stays beside the choice
    done = supervisor.post(f"/workbench/problems/{pid}/decide_severity", {
        "decision": "stricter", "note": "群众反映强烈，从严处理"})
    assert done.status_code == 303, done.text
    after = problem_of(stack, pid)
    assert (after["severity_advice"], after["severity_decision"]) == (advice, "stricter")
    page = supervisor.get(f"/workbench/problems/{pid}").text
    assert re.search(r'id="severity-advice">[^<]*·[^<]*从严', page)


# --- transfer, suspend and resume ----------------------------------------------------------------

def test_suspend_offers_only_resume_and_what_may_happen_while_suspended(stack, supervisor):
    pid = dispatched_problem(stack, "食堂卫生问题（中止）")
    missing = supervisor.post(f"/workbench/problems/{pid}/suspend", {})
    assert missing.status_code == 422 and "理由：为必填项" in missing.text
    done = supervisor.post(f"/workbench/problems/{pid}/suspend", {"reason": "等待司法鉴定结论"})
    assert done.status_code == 303, done.text
    page = supervisor.get(f"/workbench/problems/{pid}").text
    assert action_links(page) == {"resume", "transfer_out"} and "等待司法鉴定结论" in page
    resumed = supervisor.post(f"/workbench/problems/{pid}/resume", {"note": "鉴定结论已出"})
    assert resumed.status_code == 303, resumed.text
    assert problem_of(stack, pid)["suspended"] is False


def test_a_transfer_out_is_confirmed_and_closes_the_problem(stack, county):
    pid = dispatched_problem(stack, "食堂卫生问题（移交）")
    form = county.get(f"/workbench/problems/{pid}/transfer_out").text
    assert "移交后问题在本台账中办结" in form and '<label for="f-to">移交至' in form
    done = county.post(f"/workbench/problems/{pid}/transfer_out", {
        "to": "县纪委监委", "reason": "涉嫌违纪，依规移交", "_confirm": "yes"})
    assert done.status_code == 303, done.text
    after = problem_of(stack, pid)
    assert (after["state"], after["outcome"]) == ("closed", "transferred")


# --- refusals ------------------------------------------------------------------------------------

DECISIONS = ("dispatch", "reassign", "approve_plan", "reject_plan", "accept_unfounded",
             "reject_unfounded", "check_progress", "reject_rectification", "strike_off", "merge",
             "unmerge", "transfer_out", "suspend", "resume", "decide_severity")


def test_a_units_handler_sees_none_of_the_decisions_and_is_refused_if_it_posts_them(
        stack, handler):
    pid = verified_problem(stack, "食堂卫生问题（承办人无权）")
    page = handler.get(f"/workbench/problems/{pid}").text
    assert not action_links(page) & set(DECISIONS)
    assert 'id="actions-decision"' not in page
    for action in DECISIONS:
        shown = handler.get(f"/workbench/problems/{pid}/{action}")
        assert shown.status_code == 403 and "无权" in shown.text, action
        posted = handler.post(f"/workbench/problems/{pid}/{action}", {
            "reason": "x", "note": "x", "unit": "盐山中学", "into": pid, "_confirm": "yes"})
        assert posted.status_code == 403 and "无权" in posted.text, action
    assert state_of(stack, pid) == "verified"


def test_an_action_the_state_does_not_allow_is_refused_with_the_ledgers_reason(stack, supervisor):
    pid = dispatched_problem(stack, "食堂卫生问题（状态不符）")
    assert "approve_plan" not in action_links(supervisor.get(f"/workbench/problems/{pid}").text)
    form = supervisor.get(f"/workbench/problems/{pid}/approve_plan").text
    assert 'id="not-offered"' in form
    refused = supervisor.post(f"/workbench/problems/{pid}/approve_plan", {"note": "同意"})
    assert refused.status_code == 409
    assert form_error(refused.text) == "问题当前状态为“已交办”,不能执行“审核通过整改计划”。"
    assert 'id="error-summary"' in refused.text
    english = supervisor.http.post(f"/workbench/problems/{pid}/approve_plan", headers={
        "Accept-Language": "en"}, data={"csrftoken": supervisor.token("/workbench"),
                                        "note": "ok"})
    assert english.status_code == 409
    assert "'approve_plan' is not allowed when a problem is 'dispatched'" in html.unescape(
        english.text)
    assert state_of(stack, pid) == "dispatched"


def test_whoever_reported_a_step_is_not_offered_its_decision_and_is_refused_it(stack, county):
    pid = dispatched_problem(stack, "食堂卫生问题（职责分离）")
    act(stack, "county", pid, "verify", on_behalf_of=SCHOOL, reason="承办人外出，代为办理",
        plan={**PLAN, "deadline": (date.today() + timedelta(days=30)).isoformat()})
    page = county.get(f"/workbench/problems/{pid}").text
    assert not action_links(page) & {"approve_plan", "reject_plan"}
    assert "suspend" in action_links(page)
    refused = county.post(f"/workbench/problems/{pid}/approve_plan", {"note": "同意"})
    assert refused.status_code == 403 and "职责分离" in form_error(refused.text)
    assert state_of(stack, pid) == "verified"


def test_a_decision_posted_without_the_csrf_token_is_refused(stack, supervisor):
    pid = verified_problem(stack, "食堂卫生问题（CSRF）")
    refused = supervisor.post(f"/workbench/problems/{pid}/approve_plan", {}, csrf=False)
    assert refused.status_code == 403 and "表单已失效" in refused.text
    forged = supervisor.post(f"/workbench/problems/{pid}/approve_plan",
                             {"csrftoken": "forged"}, csrf=False)
    assert forged.status_code == 403
    assert state_of(stack, pid) == "verified"


# --- in headless Chromium ----------------------------------------------------------------------

def shoot(browser, name: str) -> None:
    for width, label in ((390, "phone"), (1280, "desktop")):
        browser._call("POST", "/window/rect", {"width": width, "height": 1800})
        browser.screenshot(SHOTS / f"workbench-{name}-{label}.png")


@pytest.mark.browser
def test_a_supervisor_merges_beside_the_suggestions_and_dispatches_by_name_in_a_browser(stack):
    text = "县第二中学宿舍楼消防通道被杂物堵塞，学生多次向学校反映未处理"
    first = registered_problem(stack, "宿舍消防通道堵塞（一）", description=text, unit=NO2)
    second = registered_problem(stack, "宿舍消防通道堵塞（二）", description=text, unit=NO2)
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/sign-in")
        browser.type("#f-username", "supervisor-edu")
        browser.type("#f-password", PASSWORDS["supervisor-edu"])
        browser.click("#sign-in")
        browser.wait("return location.pathname === '/workbench'")
        browser.open(f"{stack.base_url}/workbench/problems/{second}")
        browser.wait_text("#problem-title")
        shoot(browser, "decisions")
        browser.click("#do-merge")
        browser.wait("return !!document.getElementById('merge-compare')")
        shoot(browser, "merge")
        assert "宿舍消防通道堵塞（一）" in browser.text(f"#candidate-{first}")
        browser.click(f"#f-into-{first}")
        browser.click("#submit")
        browser.wait("const s = document.getElementById('problem-state');"
                     "return s && s.dataset.state === 'closed'")
        browser.open(f"{stack.base_url}/workbench/problems/{first}/dispatch")
        browser.wait("return !!document.getElementById('f-unit')")
        assert browser.js("return document.getElementById('f-unit').list.id") == "unit-names"
        assert browser.js("return document.getElementById('f-unit').value") == "盐山县第二中学"
        browser.js("document.getElementById('f-unit').value = ''")
        browser.type("#f-unit", "盐山中学")
        browser.type("#f-respond_days", "5")
        shoot(browser, "dispatch")
        browser.click("#submit")
        browser.wait("const s = document.getElementById('problem-state');"
                     "return s && s.dataset.state === 'dispatched'")
        assert browser.console_errors() == []
    assert problem_of(stack, first)["unit"] == SCHOOL
    assert problem_of(stack, second)["merged_into"] == first
