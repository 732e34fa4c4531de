"""The clue import template: offered with lists, filled in, read back, each row checked as a
clue from the form; files that are not xlsx refused by their content."""
from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import openpyxl
import pytest
from fastapi import HTTPException

from contracts.campaign import load_campaign
from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.excel import clue_import
from kit.periods import county_today
from kit.settings import DEFAULT_CAMPAIGN_FILE

COUNTY = Principal("1", "county", Role.COUNTY_OFFICE, "org_county_office")
INVITED = Principal("2", "invited", Role.INVITED_SUPERVISOR, None)


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(DEFAULT_CAMPAIGN_FILE)


def filled(template: bytes, rows: list[list]) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    for offset, values in enumerate(rows):
        for at, value in enumerate(values, start=1):
            sheet.cell(row=clue_import.FIRST_DATA_ROW + offset, column=at, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = ["问卷调查", "窗口办事推诿", "群众问卷反映窗口工作人员推诿扯皮", "县公安局", "政务服务不到位",
        "不作为", "政务大厅", date(2026, 11, 3), "是"]


def test_the_template_has_chinese_titles_codes_hints_and_the_callers_channels(campaign):
    book = openpyxl.load_workbook(io.BytesIO(clue_import.template(campaign, COUNTY)))
    sheet = book["线索"]
    assert [c.value for c in sheet[1]] == [c.title_zh for c in clue_import.COLUMNS]
    assert [c.value for c in sheet[2]] == list(clue_import.CODES)
    assert sheet["A3"].value.startswith(clue_import.HINT_MARK)
    validations = {str(v.sqref).split(":")[0]: v.formula1
                   for v in sheet.data_validations.dataValidation}
    assert set(validations) == {"A4", "D4", "E4", "F4", "I4"}
    lists = book["lists"]
    assert lists.sheet_state == "hidden"
    channels = [c.value for c in lists["A"][1:] if c.value]
    assert {"问卷调查", "座谈会", "实地走访"} <= set(channels)
    assert "网上调查" not in channels and "特邀监督员" not in channels  # public; not the county's
    invited = openpyxl.load_workbook(io.BytesIO(clue_import.template(campaign, INVITED)))
    assert [c.value for c in invited["lists"]["A"][1:] if c.value] == ["特邀监督员"]


def test_filled_rows_are_checked_like_form_clues_and_each_refusal_names_row_and_column(campaign):
    tomorrow = county_today() + timedelta(days=1)  # the door counts by the county's date
    data = filled(clue_import.template(campaign, COUNTY), [
        GOOD,
        ["questionnaire", "学校乱收费", "家长座谈反映学校收取资料费", "org_sch_yanshan_high"],
        [],  # blank rows are skipped
        ["座谈会", "报警后出警慢", "座谈会上群众反映报警后出警慢", None, None, None, None, None, "否",
         "张三", 13800138000],
        ["实地走访", "X", "短", "无此单位", None, "慢作为", None, tomorrow],
    ])
    rows = clue_import.read_rows(data)
    assert [number for number, _ in rows] == [4, 5, 7, 8]
    valid, errors = clue_import.check_rows(rows, campaign, COUNTY)
    assert [row for row, _ in valid] == [4, 5, 7]
    assert valid[0][1].channel == "questionnaire"
    assert valid[0][1].subject_unit == "org_gd_public_security"
    assert valid[0][1].category == "c5_government_services" and valid[0][1].kind == "inaction"
    assert valid[2][1].reporter.phone == "13800138000" and valid[2][1].anonymous is False
    assert {e["row"] for e in errors} == {8}
    assert {(e["column"], e["field"]) for e in errors} >= {("B", "title"), ("C", "description")}
    assert all(e["message"] and e["message_zh"].startswith("第 8 行") for e in errors)


def test_the_door_rules_apply_per_row_unit_channel_date_and_role(campaign):
    tomorrow = county_today() + timedelta(days=1)  # the door counts by the county's date
    data = filled(clue_import.template(campaign, COUNTY), [
        ["实地走访", "窗口办事推诿", "走访中群众反映窗口推诿", "无此单位", None, None, None, tomorrow],
        ["特邀监督员", "窗口办事推诿", "走访中群众反映窗口推诿"],
    ])
    _, errors = clue_import.check_rows(clue_import.read_rows(data), campaign, COUNTY)
    codes = {(e["row"], e["code"], e["column"]) for e in errors}
    assert (4, "unknown_unit", "D") in codes and (4, "in_future", "H") in codes
    assert (5, "channel_not_for_role", "A") in codes


@pytest.mark.parametrize("data", [
    b"%PDF-1.7\n1 0 obj <<>> endobj\n",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,   # an old .xls (or an encrypted file)
    b"MZ\x90\x00" + b"\0" * 100,                          # an executable named .xlsx
])
def test_a_file_that_is_not_xlsx_is_refused_by_its_content(data):
    with pytest.raises(HTTPException) as refused:
        clue_import.read_rows(data)
    assert refused.value.status_code == 415 and refused.value.detail["code"] == "not_xlsx"


def test_a_zip_that_is_no_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(HTTPException) as refused:
        clue_import.read_rows(out.getvalue())
    assert refused.value.detail["code"] == "not_xlsx"


def test_a_workbook_that_expands_past_the_limit_is_refused_unread():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (clue_import.MAX_UNZIPPED_BYTES + 1))
    assert len(out.getvalue()) < clue_import.MAX_FILE_BYTES
    with pytest.raises(HTTPException) as refused:
        clue_import.read_rows(out.getvalue())
    assert refused.value.status_code == 413 and refused.value.detail["code"] == "import_too_large"


def test_more_rows_than_the_limit_are_refused(campaign, monkeypatch):
    monkeypatch.setattr(clue_import, "MAX_ROWS", 3)
    data = filled(clue_import.template(campaign, COUNTY), [GOOD] * 4)
    with pytest.raises(HTTPException) as refused:
        clue_import.read_rows(data)
    assert refused.value.detail["code"] == "import_too_many_rows"


def test_a_workbook_that_is_not_the_template_is_refused(campaign):
    book = openpyxl.Workbook()
    book.active.append(["标题", "描述"])
    book.active.append(["title", "description"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(HTTPException) as refused:
        clue_import.read_rows(out.getvalue())
    assert refused.value.detail["code"] == "import_not_template"
