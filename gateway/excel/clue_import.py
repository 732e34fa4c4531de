"""Clues collected offline (问卷调查, 座谈会, 实地走访, 特邀监督员 …) imported from an .xlsx
template (线索批量导入).

The template (``template``) has the Chinese titles in row 1, the English codes in row 2, a
hint row (row 3) and data validation lists for channel, unit, category, kind and 是否匿名,
the channels being those the caller may use. ``read_rows`` reads a filled template: an
upload must be an xlsx by its content (a zip holding a workbook), within the size and row
limits, its row 2 the template's codes. ``check_rows`` validates each row exactly as a clue
from the form is validated (``ClueIn``, then the door's ``refuse_unacceptable``) and names
each refusal with its row, column and a bilingual message. The route imports nothing when
a row is refused, unless asked to import the valid rows; each row goes through the clue
route's own idempotent submission with the key ``import:<file SHA-256>:<row>`` and a clue id
derived from the same two (``gateway.excel.routes.imported_clue_id``), so the same file
imported again creates nothing twice: not within the Idempotency-Key records' retention,
not after it, not when another account imports it (intake and the ledger apply a clue once
by its id). An imported clue's reporter was not at the keyboard: the answer names the clue
ids, not receipt codes; staff follow these clues in the ledger.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl
import xlsxwriter
from fastapi import HTTPException
from pydantic import ValidationError
from xlsxwriter.utility import xl_col_to_name

from gateway.auth.principal import Principal
from gateway.errors import problem, schema_error_zh
from gateway.routes.clues import ClueIn, refuse_unacceptable

MAX_FILE_BYTES = 1_000_000       # no more than the gateway takes in one body
MAX_ROWS = 1000                  # clues per file
MAX_UNZIPPED_BYTES = 40_000_000  # what the zip may expand to (a zip bomb is refused unread)
MAX_ZIP_MEMBERS = 200
IMPORT_GROUPS = ("solicitation", "public_report", "inspection")  # collected offline by staff
HINT_MARK = "【填写说明】"
FIRST_DATA_ROW = 4               # 1-based: titles, codes, hints, then data
SHEET = "线索"
LISTS_SHEET = "lists"
YES, NO = "是", "否"
TRUE_WORDS = {YES, "y", "yes", "true", "1", "匿名"}
FALSE_WORDS = {NO, "n", "no", "false", "0", "实名"}


@dataclass(frozen=True)
class TemplateColumn:
    code: str
    title_zh: str
    hint: str
    choices: str | None = None  # the list it is chosen from (data validation)
    width: float = 16


COLUMNS = (
    TemplateColumn("channel", "线索来源渠道", f"{HINT_MARK}必填,从列表中选择 / required, "
                   "choose from the list", "channel", 16),
    TemplateColumn("title", "标题", "必填,2-200字 / required, 2-200 characters", width=28),
    TemplateColumn("description", "问题描述", "必填,5-5000字 / required, 5-5000 characters",
                   width=50),
    TemplateColumn("subject_unit", "被反映单位", "从列表中选择 / choose from the list", "unit",
                   22),
    TemplateColumn("category", "问题类别", "从列表中选择 / choose from the list", "category",
                   22),
    TemplateColumn("kind", "问题性质", "不作为/乱作为/慢作为", "kind", 10),
    TemplateColumn("place", "地点", "选填 / optional"),
    TemplateColumn("occurred_on", "发生日期", "YYYY-MM-DD,不晚于今天 / not after today",
                   width=13),
    TemplateColumn("anonymous", "是否匿名", "是/否,默认“是” / yes or no, default yes",
                   "yes_no", 10),
    TemplateColumn("reporter_name", "反映人姓名", "实名时填写 / for a named report"),
    TemplateColumn("reporter_phone", "联系电话", "实名时电话或邮箱至少一项 / phone or e-mail"),
    TemplateColumn("reporter_email", "电子邮箱", "选填 / optional", width=22),
)
CODES = tuple(column.code for column in COLUMNS)
COLUMN_OF = {column.code: (at, column) for at, column in enumerate(COLUMNS)}
FIELD_COLUMN = {"reporter": "reporter_phone", "reporter.name": "reporter_name",
                "reporter.phone": "reporter_phone", "reporter.email": "reporter_email"}


# ── the template ─────────────────────────────────────────────────────────────────────────────

def importable_channels(campaign, principal: Principal) -> list:
    """The offline channels the caller may enter clues on."""
    return [c for c in campaign.channels if not c.public and c.group in IMPORT_GROUPS
            and c.open_to(principal.role.value)]


def template(campaign, principal: Principal) -> bytes:
    """The import template for this caller, as .xlsx bytes."""
    choices = {
        "channel": [c.name_zh for c in importable_channels(campaign, principal)],
        "unit": [o.name_zh for o in campaign.organizations],
        "category": [c.name_zh for c in campaign.categories],
        "kind": [k.name_zh for k in campaign.kinds],
        "yes_no": [YES, NO],
    }
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(SHEET)
    lists = book.add_worksheet(LISTS_SHEET)
    zh = book.add_format({"bold": True, "bg_color": "#DDE7F0", "border": 1})
    en = book.add_format({"italic": True, "font_color": "#555555", "border": 1})
    hint = book.add_format({"font_color": "#7F6000", "bg_color": "#FFF2CC", "text_wrap": True,
                            "valign": "top", "border": 1})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    last = FIRST_DATA_ROW - 2 + MAX_ROWS  # 0-based last data row
    for at, column in enumerate(COLUMNS):
        cell_format = day if column.code == "occurred_on" else text
        sheet.set_column(at, at, column.width, cell_format)
        sheet.write_string(0, at, column.title_zh, zh)
        sheet.write_string(1, at, column.code, en)
        sheet.write_string(2, at, column.hint, hint)
        if column.choices and choices[column.choices]:
            values = choices[column.choices]
            list_at = len([c for c in COLUMNS[:at] if c.choices])
            letter = xl_col_to_name(list_at)
            lists.write_string(0, list_at, column.code)
            for row, value in enumerate(values, start=1):
                lists.write_string(row, list_at, value)
            sheet.data_validation(FIRST_DATA_ROW - 1, at, last, at, {
                "validate": "list",
                "source": f"={LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}",
                "input_title": column.title_zh[:32], "input_message": column.hint[:255],
                "error_title": "不在列表中", "error_type": "warning",
                "error_message": "请从列表中选择 / choose a value from the list"})
    sheet.set_row(2, 45)
    sheet.freeze_panes(FIRST_DATA_ROW - 1, 0)
    lists.hide()
    book.close()
    return out.getvalue()


# ── reading a filled template ────────────────────────────────────────────────────────────────

def refuse_unless_xlsx(data: bytes) -> None:
    """By content, not by name: an xlsx is a zip holding ``xl/workbook.xml``; its members
    must not expand past the limits (a zip bomb is refused before it is read)."""
    not_xlsx = problem(415, "not_xlsx", "the file is not an .xlsx workbook (Excel 2007 or "
                       "later); save it as .xlsx and import it again",
                       "文件不是工作簿格式的电子表格,请在电子表格软件中另存为工作簿后重新导入", "file")
    if len(data) > MAX_FILE_BYTES:
        raise problem(413, "import_too_large", f"the file exceeds {MAX_FILE_BYTES} bytes",
                      f"文件超过 {MAX_FILE_BYTES} 字节上限", "file")
    if not data.startswith(b"PK\x03\x04"):
        raise not_xlsx
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise not_xlsx from None
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise not_xlsx
    if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
        raise problem(413, "import_too_large", "the workbook expands beyond the size limit",
                      "工作簿解压后超过大小上限", "file")


def read_rows(data: bytes) -> list[tuple[int, dict]]:
    """The filled rows of the template's first sheet: (Excel row number, {code: value})."""
    refuse_unless_xlsx(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever a broken workbook raises
        raise problem(422, "import_unreadable", "the workbook cannot be read",
                      "无法读取该工作簿,请使用导入模板重新填写", "file") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(min_row=1, max_col=len(COLUMNS), values_only=True)
        next(rows, None)
        codes = tuple(_text(v) for v in next(rows, ()) or ())
        if codes[:len(CODES)] != CODES:
            raise problem(422, "import_not_template", "row 2 must hold the template's column "
                          "codes; download the template and fill it in",
                          "第 2 行应为模板的列代码,请下载导入模板填写", "file")
        found = []
        for number, values in enumerate(rows, start=3):
            if all(v is None or _text(v) is None for v in values):
                continue
            if _text(values[0]) and _text(values[0]).startswith(HINT_MARK):
                continue
            if len(found) == MAX_ROWS:
                raise problem(413, "import_too_many_rows",
                              f"a file may hold at most {MAX_ROWS} clues",
                              f"每个文件最多导入 {MAX_ROWS} 条线索", "file")
            found.append((number, dict(zip(CODES, values))))
        return found
    finally:
        book.close()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a number cell
    text = str(value).strip()
    return text or None


# ── checking rows as clues ───────────────────────────────────────────────────────────────────

def _lookup(items) -> dict[str, str]:
    """A cell may hold the Chinese name or the code."""
    found = {item.code: item.code for item in items}
    found.update({item.name_zh: item.code for item in items})
    return found


def clue_data(cells: dict, campaign) -> dict:
    """A row as the clue form's JSON body (names turned into codes)."""
    maps = {"channel": _lookup(campaign.channels), "subject_unit": _lookup(campaign.organizations),
            "category": _lookup(campaign.categories), "kind": _lookup(campaign.kinds)}
    data: dict = {}
    for code in ("channel", "title", "description", "subject_unit", "category", "kind",
                 "place"):
        text = _text(cells.get(code))
        if text is not None:
            data[code] = maps[code].get(text, text) if code in maps else text
    occurred = cells.get("occurred_on")
    if isinstance(occurred, datetime):
        data["occurred_on"] = occurred.date().isoformat()
    elif isinstance(occurred, date):
        data["occurred_on"] = occurred.isoformat()
    elif _text(occurred) is not None:
        data["occurred_on"] = _text(occurred)
    anonymous = _text(cells.get("anonymous"))
    if anonymous is not None:
        word = anonymous.lower()
        data["anonymous"] = True if word in TRUE_WORDS else False if word in FALSE_WORDS \
            else anonymous
    reporter = {name: _text(cells.get(f"reporter_{name}")) for name in ("name", "phone", "email")}
    if any(reporter.values()):
        data["reporter"] = {k: v for k, v in reporter.items() if v is not None}
    return data


def _error(row: int, field: str, code: str, message: str, message_zh: str) -> dict:
    column_code = FIELD_COLUMN.get(field, field)
    at, column = COLUMN_OF.get(column_code, (None, None))
    return {"row": row, "column": xl_col_to_name(at) if at is not None else None,
            "column_zh": column.title_zh if column else None, "field": column_code,
            "code": code, "message": message,
            "message_zh": f"第 {row} 行“{column.title_zh}”:{message_zh}" if column
            else f"第 {row} 行:{message_zh}"}


def check_row(row: int, cells: dict, campaign, principal: Principal
              ) -> tuple[ClueIn | None, list[dict]]:
    """The row as a clue, or every reason the form would refuse it."""
    try:
        clue = ClueIn.model_validate(clue_data(cells, campaign))
    except ValidationError as exc:
        return None, [_error(row, ".".join(str(p) for p in e["loc"]) or "channel",
                             "invalid_input", e["msg"], schema_error_zh(e))
                      for e in exc.errors(include_url=False)]
    try:
        refuse_unacceptable(clue, campaign, principal)
    except HTTPException as exc:
        found = exc.detail.get("errors") or [exc.detail]
        return None, [_error(row, p.get("field") or "channel", p["code"], p["message"],
                             p["message_zh"]) for p in found]
    return clue, []


def check_rows(rows: list[tuple[int, dict]], campaign, principal: Principal
               ) -> tuple[list[tuple[int, ClueIn]], list[dict]]:
    valid, errors = [], []
    for row, cells in rows:
        clue, refused = check_row(row, cells, campaign, principal)
        if clue is not None:
            valid.append((row, clue))
        errors.extend(refused)
    return valid, errors
