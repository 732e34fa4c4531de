"""Lists as spreadsheets: headers in Chinese with the English codes, Chinese names for codes,
texts never read as formulas, pages written as they come."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime

import openpyxl
import pytest
from fastapi import HTTPException

from contracts.campaign import load_campaign
from kit.settings import DEFAULT_CAMPAIGN_FILE
from gateway.excel import export
from gateway.excel.lists import keyset_pages, problem_columns


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(DEFAULT_CAMPAIGN_FILE)


def item(n: int, **extra) -> dict:
    return {"id": f"P-{n:06d}", "title": f"问题 {n}", "unit": "org_tw_yanshan",
            "category": "c2_safety_oversight", "kind": "inaction", "channel": "letter",
            "state": "dispatched", "outcome": None,
            "registered_at": "2026-12-01T16:30:00+00:00", "due_on": "2026-12-08",
            "rectify_by": None, "light_zh": "绿灯", "overdue": False, "stalled": True,
            "suspended": False, "description": "群众反映无人处理", **extra}


async def pages_of(items: list[dict], size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def body_of(response) -> bytes:
    return b"".join([chunk async for chunk in response.body_iterator])


def export_bytes(fmt, campaign, items, size=7) -> tuple[bytes, dict]:
    async def run():
        response = await export.export_response(
            fmt, name="problems", name_zh="问题台账", columns=problem_columns(campaign),
            pages=pages_of(items, size))
        return await body_of(response), dict(response.headers)
    return asyncio.run(run())


def test_csv_export_has_a_bom_bilingual_headers_and_every_row(campaign):
    body, headers = export_bytes("csv", campaign, [item(n) for n in range(23)])
    assert body.startswith(b"\xef\xbb\xbf")
    assert headers["content-type"].startswith("text/csv")
    assert "attachment" in headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["问题编号 (id)", "标题 (title)", "承办单位 (unit)"]
    assert len(rows) == 1 + 23
    first = dict(zip(rows[0], rows[1]))
    assert first["承办单位 (unit)"] == "盐山镇" and first["单位代码 (unit_code)"] == "org_tw_yanshan"
    assert first["问题类别 (category)"] == "安全隐患失管失察"
    assert first["问题性质 (kind)"] == "不作为"
    assert first["线索来源渠道 (channel)"] == "群众来信"
    assert first["办理状态 (state)"] == "已交办"
    assert first["登记时间 (registered_at)"] == "2026-12-02 00:30:00"  # the county's clock
    assert first["停滞 (stalled)"] == "是" and first["逾期 (overdue)"] == "否"


def test_csv_export_neutralizes_texts_excel_would_run_as_formulas(campaign):
    body, _ = export_bytes("csv", campaign, [item(1, title='=HYPERLINK("http://x","点我")'),
                                             item(2, title="@SUM(1)"), item(3, title="+1")])
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\",\"点我\")", "'@SUM(1)",
                                            "'+1"]


def test_xlsx_export_reads_back_with_chinese_titles_codes_beneath_and_typed_cells(campaign):
    items = [item(n) for n in range(30)] + [item(99, title="=1+1", state="closed",
                                                   outcome="unfounded")]
    body, headers = export_bytes("xlsx", campaign, items)
    assert headers["content-type"] == export.MEDIA_TYPES["xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    columns = problem_columns(campaign)
    assert list(rows[0]) == [c.title_zh for c in columns]
    assert list(rows[1]) == [c.code for c in columns]
    assert len(rows) == 2 + len(items)
    data = dict(zip(rows[1], rows[2]))
    assert data["state"] == "已交办" and data["unit"] == "盐山镇"
    assert data["registered_at"] == datetime(2026, 12, 2, 0, 30)
    assert data["due_on"] == datetime(2026, 12, 8)
    last = dict(zip(rows[1], rows[-1]))
    assert last["title"] == "=1+1"  # a text, not a formula
    assert last["state"] == "已办结" and last["outcome"] == "查否"
    assert sheet.freeze_panes == "A3"


def test_keyset_pages_ask_for_each_page_after_the_last_item_of_the_one_before():
    rows = [item(n, registered_at=f"2026-12-01T10:{59 - n // 60:02d}:{59 - n % 60:02d}+00:00")
            for n in range(25)]
    asked = []

    async def fetch(after, limit):
        asked.append(after)
        start = 0 if after is None else next(
            i + 1 for i, r in enumerate(rows) if [r["registered_at"], r["id"]] == after)
        return {"total": len(rows), "items": rows[start:start + limit]}

    async def run():
        return [page async for page in keyset_pages(fetch, page_size=10)]

    pages = asyncio.run(run())
    assert [len(p) for p in pages] == [10, 10, 5]
    assert asked == [None, [rows[9]["registered_at"], rows[9]["id"]],
                     [rows[19]["registered_at"], rows[19]["id"]]]


def test_a_list_longer_than_a_sheet_is_refused_before_anything_is_sent():
    async def fetch(after, limit):
        return {"total": export.MAX_ROWS + 1, "items": []}

    async def run():
        return [page async for page in keyset_pages(fetch)]

    with pytest.raises(HTTPException) as refused:
        asyncio.run(run())
    assert refused.value.status_code == 413
    assert refused.value.detail["code"] == "export_too_large"
