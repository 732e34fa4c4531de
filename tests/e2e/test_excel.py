"""Excel through the real gateway: exports scoped like the lists, with flat memory while a
large list streams; the clue import template filled, refused, imported once."""
from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from datetime import date, timedelta

import httpx
import openpyxl
import pytest

from bench.export import fill_ledger
from gateway.excel import clue_import

pytestmark = pytest.mark.e2e

PASSWORDS = {"county": "dev-county-2017!", "handler-police": "dev-handler-police-2017!",
             "handler-school1": "dev-handler-school1-2017!",
             "supervisor-edu": "dev-supervisor-edu-2017!",
             "invited-supervisor": "dev-invited-supervisor-2017!"}
POLICE, SCHOOL = "org_gd_public_security", "org_sch_yanshan_high"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Client:
    def __init__(self, stack):
        self.stack = stack
        self.tokens = {name: stack.token(name, pw) for name, pw in PASSWORDS.items()}

    def call(self, who, method, path, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.request(method, f"{self.stack.base_url}{path}", timeout=120,
                             headers=headers, **kwargs)

    def total(self, who, query="") -> int:
        reply = self.call(who, "GET", f"/api/v1/problems?limit=1{query}")
        assert reply.status_code == 200, reply.text
        return reply.json()["total"]


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def submit(stack, unit: str, title: str) -> str:
    reply = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json={
        "channel": "public_report_platform", "title": title,
        "description": "群众反映办事推诿,多次往返无果", "subject_unit": unit,
        "category": "c5_government_services", "kind": "inaction"})
    assert reply.status_code == 202, reply.text
    return reply.json()["clue_id"]


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(body: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
                .iter_rows(values_only=True))


def test_exports_hold_the_callers_list_and_a_units_handler_only_its_unit(stack, client):
    before = client.total("county")
    for n in range(5):
        submit(stack, SCHOOL, f"学校窗口推诿 {n}")
    for n in range(3):
        submit(stack, POLICE, f"=出警慢 {n}")
    wait_for(lambda: client.total("county") >= before + 8)
    police_total = client.total("handler-police")
    assert 3 <= police_total < client.total("county")

    for fmt in ("xlsx", "csv"):
        everything = client.call("county", "GET", f"/api/v1/problems.{fmt}")
        assert everything.status_code == 200, everything.text
        assert "attachment" in everything.headers["content-disposition"]
        police = client.call("handler-police", "GET", f"/api/v1/problems.{fmt}")
        assert police.status_code == 200, police.text
        if fmt == "xlsx":
            rows, own = xlsx_rows(everything.content), xlsx_rows(police.content)
            assert rows[0][:3] == ("问题编号", "标题", "承办单位") and rows[1][:3] == (
                "id", "title", "unit")
            body, mine = rows[2:], own[2:]
        else:
            rows, own = csv_rows(everything.content), csv_rows(police.content)
            assert rows[0][:3] == ["问题编号 (id)", "标题 (title)", "承办单位 (unit)"]
            body, mine = rows[1:], own[1:]
        assert len(body) == client.total("county")
        assert len(mine) == police_total
        assert {row[3] for row in mine} == {POLICE} and {row[2] for row in mine} == {"县公安局"}
        titles = {row[1] for row in mine}
        assert ("'=出警慢 0" if fmt == "csv" else "=出警慢 0") in titles

    filtered = client.call("county", "GET", f"/api/v1/problems.csv?unit={SCHOOL}")
    assert {row[3] for row in csv_rows(filtered.content)[1:]} == {SCHOOL}
    plans = client.call("handler-police", "GET", "/api/v1/work-plans.xlsx")
    assert plans.status_code == 200 and xlsx_rows(plans.content)[1][:2] == ("id", "unit")
    missing = client.call("supervisor-edu", "GET", "/api/v1/work-plans/missing.csv")
    assert missing.status_code == 200, missing.text
    late_or_missing = csv_rows(missing.content)
    assert late_or_missing[0][:2] == ["单位 (unit)", "单位代码 (unit_code)"]
    assert "盐山中学" in {row[0] for row in late_or_missing[1:]}
    assert {row[3] for row in late_or_missing[1:]} <= {"未报送", "逾期报送"}
    assert client.call("handler-police", "GET", "/api/v1/work-plans/missing.csv"
                       ).status_code == 403
    refused = client.call("invited-supervisor", "GET", "/api/v1/problems.xlsx")
    assert refused.status_code == 403
    assert client.call(None, "GET", "/api/v1/problems.csv").status_code == 401


# ── flat memory ─────────────────────────────────────────────────────────────────────────────

def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def peak_rss_while_exporting(client, path: str) -> tuple[int, int]:
    """(rows, the gateway's peak RSS in KiB) while the export streams to nowhere."""
    pid = client.stack.procs["gateway"].pid
    peak, done = [rss_kib(pid)], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    lines = 0
    try:
        with httpx.stream("GET", f"{client.stack.base_url}{path}", timeout=300, headers={
                "Authorization": f"Bearer {client.tokens['county']}"}) as reply:
            assert reply.status_code == 200
            for chunk in reply.iter_bytes():
                lines += chunk.count(b"\n")
    finally:
        done.set()
        sampler.join()
    return lines, peak[0]


def test_a_large_export_streams_with_the_gateways_memory_flat(stack, client):
    small, large = "org_tw_hanji", "org_tw_qiantong"
    fill_ledger(f"sqlite:///{stack.data_dir / 'ledger.db'}", {small: 4_000, large: 16_000})
    assert client.total("county", f"&unit={small}") == 4_000
    for fmt in ("csv", "xlsx"):
        peak_rss_while_exporting(client, f"/api/v1/problems.{fmt}?unit={small}")  # warm up
        lines_small, peak_small = peak_rss_while_exporting(
            client, f"/api/v1/problems.{fmt}?unit={small}")
        lines_all, peak_all = peak_rss_while_exporting(client, f"/api/v1/problems.{fmt}")
        if fmt == "csv":
            assert lines_small == 1 + 4_000 and lines_all == 1 + client.total("county")
        extra_rows = client.total("county") - 4_000
        growth = (peak_all - peak_small) * 1024
        # holding the rows would cost kilobytes each (a Python dict per item): 16,000 more
        # rows would add tens of megabytes; streamed, the peak stays where one page puts it
        assert growth < 8 * 1024 * 1024, (fmt, peak_small, peak_all)
        assert growth / extra_rows < 512, (fmt, growth / extra_rows)


# ── the clue import ─────────────────────────────────────────────────────────────────────────

def filled(template: bytes, rows: list[list]) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    for offset, values in enumerate(rows):
        for at, value in enumerate(values, start=1):
            sheet.cell(row=clue_import.FIRST_DATA_ROW + offset, column=at, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_import_template_round_trip_refuses_then_imports_valid_rows_exactly_once(
        stack, client):
    """Imported again by the same account and by another, the file adds nothing."""
    template = client.call("county", "GET", "/api/v1/clues/import-template.xlsx")
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    tag = uuid.uuid4().hex[:8]
    good = [["问卷调查", f"窗口推诿 {tag} {n}", "问卷中群众反映窗口工作人员推诿扯皮", "县公安局",
             "政务服务不到位", "不作为", None, date.today() - timedelta(days=3)] for n in range(3)]
    bad = ["座谈会", "X", "座谈会上群众反映问题", "无此单位"]
    data = filled(template.content, [good[0], good[1], bad, good[2]])

    refused = client.call("county", "POST", "/api/v1/clues/import", content=data,
                          headers={"Content-Type": XLSX})
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail["code"] == "import_rows_refused" and detail["rows"] == 4
    assert {e["row"] for e in detail["errors"]} == {6}
    # as for the form: the schema first (a one-character title), then the door's rules
    assert {(e["column"], e["code"]) for e in detail["errors"]} == {("B", "invalid_input")}
    assert all(e["message"] and "第 6 行" in e["message_zh"] for e in detail["errors"])
    channel_total = client.total("county", "&channel=questionnaire")
    time.sleep(1)
    assert client.total("county", "&channel=questionnaire") == channel_total  # nothing in

    first = client.call("county", "POST", "/api/v1/clues/import", data={
        "import_valid_rows": "true"}, files={"file": ("线索.xlsx", data, XLSX)})
    assert first.status_code == 202, first.text
    report = first.json()
    assert [r["row"] for r in report["imported"]] == [4, 5, 7]
    assert {e["row"] for e in report["errors"]} == {6}
    wait_for(lambda: client.total("county", "&channel=questionnaire") == channel_total + 3)

    again = client.call("county", "POST", "/api/v1/clues/import?import_valid_rows=true",
                        content=data, headers={"Content-Type": XLSX})
    assert again.status_code == 202, again.text
    assert again.json()["imported"] == report["imported"]  # the same clues
    other = client.call("supervisor-edu", "POST", "/api/v1/clues/import?import_valid_rows=true",
                        content=data, headers={"Content-Type": XLSX})
    assert other.status_code == 202 and other.json()["imported"] == report["imported"]
    time.sleep(2)
    assert client.total("county", "&channel=questionnaire") == channel_total + 3
    listed = client.call("county", "GET", "/api/v1/problems?channel=questionnaire&limit=200")
    mine = [p for p in listed.json()["items"] if tag in p["title"]]
    assert sorted(p["clue_id"] for p in mine) == sorted(r["clue_id"] for r in report["imported"])


def test_an_upload_that_is_not_xlsx_is_refused_and_only_staff_channels_import(stack, client):
    pdf = client.call("county", "POST", "/api/v1/clues/import", content=b"%PDF-1.7\n%\xe2\xe3",
                      headers={"Content-Type": XLSX})
    assert pdf.status_code == 415 and pdf.json()["detail"]["code"] == "not_xlsx"
    assert pdf.json()["detail"]["message_zh"]
    renamed = client.call("county", "POST", "/api/v1/clues/import",
                          files={"file": ("clues.xlsx", b"MZ\x90\x00" + b"\0" * 64, XLSX)})
    assert renamed.status_code == 415
    assert client.call("handler-police", "POST", "/api/v1/clues/import",
                       content=b"PK").status_code == 403
    assert client.call(None, "GET", "/api/v1/clues/import-template.xlsx").status_code == 401
