"""Evidence files on the workbench's forms (佐证材料文件), through the real stack: a handler
attaches real files (no JavaScript needed: ``multipart/form-data`` with file inputs), each
streamed through the upload pipeline; the ledger's evidence carries their digests; a refused
file comes back as a Chinese error beside its input with nothing changed; a unit files its
work plan (清理工作方案) with its document.

The browser test drives headless Chromium through the issue's path and keeps screenshots at
phone (390 px) and desktop width in ``PAGES_SCREENSHOT_DIR``.
"""
from __future__ import annotations

import hashlib
import io
import re
from datetime import date, timedelta

import httpx
import pytest
from PIL import Image

from tests.support.browser import browser_session, fill, shoot
from tests.support.stack import Stack
from tests.support.workbench import (
    PASSWORDS, SCHOOL, Staff, api, dispatched_problem, plan_form, state_of,
)

pytestmark = pytest.mark.e2e

GPS = 0x8825
MAX_BYTES = 3_000_000
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"%" * 2000
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 5000


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"),
                    extra_env={"LOGIN_RATE_PER_ACCOUNT": "100000/minute",
                               "UPLOAD_MAX_BYTES": str(MAX_BYTES)})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


def jpeg_with_gps(colour: str = "green") -> bytes:
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (38.0, 3.0, 30.0), 3: "E", 4: (117.0, 13.0, 44.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG", exif=exif)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def send(staff: Staff, path: str, data: dict, files: list) -> httpx.Response:
    """A multipart post as the browser sends it: the CSRF token first, then the fields."""
    fields = {"csrftoken": staff.token("/workbench")}
    fields.update(data)
    return staff.http.post(path, data=fields, files=files)


def timeline(stack, pid: str, who: str = "county") -> list[dict]:
    return httpx.get(f"{stack.base_url}/api/v1/problems/{pid}", timeout=10,
                     headers=api(stack, who)).json()["timeline"]


def evidence_of(stack, pid: str, action: str) -> list[dict]:
    return next(e["data"].get("evidence", []) for e in reversed(timeline(stack, pid))
                if e["action"] == action)


# --- over HTTP, as a browser without script posts ------------------------------------------

def test_the_forms_that_take_evidence_are_multipart_with_file_inputs(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（附件表单）")
    handler = Staff(stack, "handler-school1")
    for action in ("verify", "report_unfounded"):
        page = handler.get(f"/workbench/problems/{pid}/{action}").text
        assert 'enctype="multipart/form-data"' in page, action
        assert re.search(r'<input type="file" multiple id="f-file-evidence" name="file:evidence"'
                         r' accept="[^"]*application/pdf[^"]*"', page), action
        assert 'name="file:evidence[0].sha256"' in page and 'name="evidence[0].sha256"' not in page
        assert re.search(r'<label for="f-file-evidence">选择文件（可多选）</label>', page)


def test_files_attached_to_a_plan_are_stored_and_the_ledger_names_their_digests(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（附件查实）")
    handler = Staff(stack, "handler-school1")
    photo, pdf = jpeg_with_gps("blue"), PDF + b"plan"
    done = send(handler, f"/workbench/problems/{pid}/verify",
                plan_form(date.today() + timedelta(days=30)),
                [("file:evidence", ("现场.jpg", photo, "image/jpeg")),
                 ("file:evidence", ("方案.pdf", pdf, "application/pdf"))])
    assert done.status_code == 303, done.text
    assert evidence_of(stack, pid, "verify") == [
        {"description": "现场.jpg", "sha256": sha(photo)},
        {"description": "方案.pdf", "sha256": sha(pdf)}]
    page = handler.get(f"/workbench/problems/{pid}").text
    assert f'href="/workbench/files/{sha(photo)}"' in page
    copy = handler.get(f"/workbench/files/{sha(photo)}")  # the handler: not the custodian
    assert copy.status_code == 200 and copy.headers["x-file-copy"] == "redacted"
    assert not has_gps(copy.content)
    police = Staff(stack, "handler-police").get(f"/workbench/files/{sha(photo)}")
    assert police.status_code == 404  # another unit may not see this problem's files


def test_an_executable_named_jpg_is_refused_beside_its_input_and_nothing_changes(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（可执行文件）")
    handler = Staff(stack, "handler-school1")
    before = len(timeline(stack, pid))
    refused = send(handler, f"/workbench/problems/{pid}/verify",
                   plan_form(date.today() + timedelta(days=30)),
                   [("file:evidence", ("photo.jpg", EXE, "image/jpeg")),
                    ("file:evidence", ("ok.pdf", PDF, "application/pdf"))])
    assert refused.status_code == 415
    summary = re.search(r'id="error-summary".*?</div>', refused.text, re.S).group(0)
    assert '<a href="#f-file-evidence">photo.jpg：文件内容不属于允许的类型' in summary
    assert 'id="f-file-evidence-error"' in refused.text
    assert "立即整改食堂卫生" in refused.text  # what was typed stays
    # the good file is kept on the form (a hidden digest), not lost
    assert f'name="evidence[0].sha256" value="{sha(PDF)}"' in refused.text
    assert '<span class="wb-file-name">ok.pdf</span>' in refused.text
    assert state_of(stack, pid) == "dispatched" and len(timeline(stack, pid)) == before


def test_a_file_over_the_limit_is_refused_with_a_chinese_error(stack):
    pid = dispatched_problem(stack, "食堂卫生问题（超大文件）")
    handler = Staff(stack, "handler-school1")
    big = PDF + b"\0" * (MAX_BYTES + 10)
    refused = send(handler, f"/workbench/problems/{pid}/report_unfounded",
                   {"findings": "经查，食堂卫生符合标准"},
                   [("file:evidence", ("检查记录.pdf", big, "application/pdf"))])
    assert refused.status_code == 413 and "检查记录.pdf：文件超过" in refused.text
    assert state_of(stack, pid) == "dispatched"


def test_a_unit_files_its_work_plan_with_its_document(stack):
    handler = Staff(stack, "handler-school1")
    page = handler.get("/workbench/work-plan")
    assert page.status_code == 200 and "清理工作方案" in page.text
    assert 'name="file:document_sha256"' in page.text
    assert 'href="/workbench/work-plan"' in handler.get("/workbench").text  # in the shell
    document = PDF + b"work plan"
    wrong = send(handler, "/workbench/work-plan", {"title": "方", "summary": ""},
                 [("file:document_sha256", ("方案.pdf", document, "application/pdf"))])
    assert wrong.status_code == 422 and 'href="#f-title"' in wrong.text
    assert 'href="#f-summary"' in wrong.text and "为必填项" in wrong.text
    assert f'name="document_sha256" value="{sha(document)}"' in wrong.text  # kept
    filed = send(handler, "/workbench/work-plan", {
        "title": "盐山中学专项清理工作方案", "summary": "成立领导小组，开展自查自纠。",
        "document_sha256": sha(document)}, [])
    assert filed.status_code == 303, filed.text
    plans = httpx.get(f"{stack.base_url}/api/v1/work-plans", timeout=10,
                      headers=api(stack, "supervisor-edu")).json()["items"]
    assert any(p["document_sha256"] == sha(document) and p["unit"] == SCHOOL for p in plans)
    listed = handler.get("/workbench/work-plan").text
    assert 'id="flash"' in listed and "盐山中学专项清理工作方案" in listed
    assert Staff(stack, "county").get("/workbench/work-plan").status_code == 403


# --- in headless Chromium ------------------------------------------------------------------

@pytest.mark.browser
def test_a_handler_attaches_a_photo_and_a_pdf_to_the_plan_and_evidence_to_the_rectification(
        stack, tmp_path):
    pid = dispatched_problem(stack, "学校食堂卫生问题（附件）")
    photo, report = jpeg_with_gps("red"), PDF + b"rectified"
    files = {"photo": tmp_path / "现场照片.jpg", "pdf": tmp_path / "整改方案.pdf",
             "after": tmp_path / "整改后.jpg", "report": tmp_path / "验收报告.pdf",
             "exe": tmp_path / "photo.jpg"}
    after = jpeg_with_gps("white")
    for key, data in (("photo", photo), ("pdf", PDF), ("after", after), ("report", report),
                      ("exe", EXE)):
        files[key].write_bytes(data)
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/problems/{pid}")
        browser.type("#f-username", "handler-school1")
        browser.type("#f-password", PASSWORDS["handler-school1"])
        browser.click("#sign-in")
        assert browser.wait_text("#problem-title") == "学校食堂卫生问题（附件）"
        browser.click("#do-verify")
        browser.wait("return !!document.getElementById('f-plan-measures')")
        browser.type("#f-plan-measures", "立即整改食堂卫生，建立每日检查制度")
        browser.click("#submit")  # wrongly: the rest is missing
        summary = browser.wait_text("#error-summary")
        assert "整改目标：为必填项" in summary and "牵头领导：为必填项" in summary
        shoot(browser, "files-verify-errors")
        browser.type("#f-plan-target", "食堂卫生达标")
        browser.type("#f-plan-lead_official", "王校长")
        browser.type("#f-plan-responsible_person", "李主任")
        fill(browser, {"f-plan-deadline": (date.today() + timedelta(days=30)).isoformat(),
                       "f-plan-responsible_unit": SCHOOL})
        browser.click("#f-plan-handling-time_limited")
        browser.type("#f-file-evidence", f"{files['photo']}\n{files['pdf']}")
        listed = browser.wait_text("#f-file-evidence-list")  # the script lists them
        assert "现场照片.jpg" in listed and "整改方案.pdf" in listed
        shoot(browser, "files-verify-attached")
        browser.click("#submit")
        browser.wait("const s = document.getElementById('problem-state');"
                     "return s && s.dataset.state === 'verified'")
        assert browser.js("return document.querySelectorAll("
                          "'#timeline a[href^=\"/workbench/files/\"]').length") == 2
        shoot(browser, "files-verified")
        approved = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/approve_plan",
                              timeout=30, headers=api(stack, "supervisor-edu"), json={})
        assert approved.status_code == 200, approved.text
        browser.open(f"{stack.base_url}/workbench/problems/{pid}/report_rectified")
        browser.wait("return !!document.getElementById('f-evidence-0-description')")
        browser.type("#f-evidence-0-description", "整改后食堂照片")
        browser.type("#f-file-evidence-0-sha256", str(files["exe"]))  # an executable
        browser.type("#f-note", "已全部整改")
        browser.click("#submit")
        summary = browser.wait_text("#error-summary")
        assert "photo.jpg：文件内容不属于允许的类型" in summary
        assert browser.js("return document.getElementById('f-evidence-0-description').value") \
            == "整改后食堂照片"
        shoot(browser, "files-refused")
        assert state_of(stack, pid) == "rectifying"
        browser.type("#f-file-evidence-0-sha256", str(files["after"]))
        browser.type("#f-file-evidence", str(files["report"]))
        browser.click("#submit")
        browser.wait("const s = document.getElementById('problem-state');"
                     "return s && s.dataset.state === 'rectified'")
        shoot(browser, "files-rectified")
        assert browser.console_errors() == []
    assert evidence_of(stack, pid, "verify") == [
        {"description": "现场照片.jpg", "sha256": sha(photo)},
        {"description": "整改方案.pdf", "sha256": sha(PDF)}]
    assert evidence_of(stack, pid, "report_rectified") == [
        {"description": "整改后食堂照片", "sha256": sha(after)},
        {"description": "验收报告.pdf", "sha256": sha(report)}]
    for digest in (sha(photo), sha(after)):  # a supervising body is no custodian
        copy = httpx.get(f"{stack.base_url}/api/v1/files/{digest}", timeout=30,
                         headers=api(stack, "supervisor-edu"))
        assert copy.status_code == 200 and copy.headers["x-file-copy"] == "redacted"
        assert not has_gps(copy.content) and copy.headers["x-content-sha256"] != digest
    sealed = httpx.get(f"{stack.base_url}/api/v1/files/{sha(photo)}", timeout=30,
                       headers=api(stack, "county"))
    assert has_gps(sealed.content)  # the original stays whole, for the county office only
