"""Accounts from an .xlsx list (账号批量导入), as county offices keep their lists.

The template has the Chinese titles in row 1, the codes in row 2, a hint row (row 3) and
lists to choose the role and the organization from. ``read_rows`` reads a filled template
(read-only openpyxl, after ``clue_import.refuse_unless_xlsx`` checked the bytes are an xlsx
within the limits); ``check_rows`` checks each row with the rules of ``gateway.auth.admin``
and names each refusal with its row and column. A row whose username already exists with
the same role and organization is not an error: it is reported as existing and nothing is
created, so importing the same list again creates nothing twice.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import openpyxl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from gateway.auth import admin
from gateway.auth.roles import ROLE_LABELS_ZH, Role
from gateway.errors import problem
from gateway.excel.clue_import import HINT_MARK, refuse_unless_xlsx

MAX_ROWS = 200   # accounts per file (each costs one password hash)
FIRST_DATA_ROW = 4
SHEET = "账号"
LISTS_SHEET = "lists"


@dataclass(frozen=True)
class Column:
    code: str
    title_zh: str
    hint: str
    width: float = 18


COLUMNS = (
    Column("username", "用户名", f"{HINT_MARK}必填,2-64位小写字母、数字或 . _ - / required, "
           "a-z 0-9 . _ -", 20),
    Column("display_name", "姓名", "必填 / required: the person's name", 16),
    Column("role", "角色", "从列表中选择 / choose from the list", 20),
    Column("org", "所属单位", "承办人、分管部门须选择 / required for handlers and supervising "
           "bodies", 28),
)
CODES = tuple(c.code for c in COLUMNS)
COLUMN_OF = {c.code: (at, c) for at, c in enumerate(COLUMNS)}


@dataclass(frozen=True)
class Row:
    row: int
    username: str
    display_name: str
    role: str
    org_code: str | None


def template(campaign) -> bytes:
    """The import template, as .xlsx bytes (roles and organizations as lists)."""
    roles = [ROLE_LABELS_ZH[r] for r in Role if r in admin.MANAGEABLE_ROLES]
    orgs = [o.name_zh for o in campaign.organizations]
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(SHEET)
    lists = book.add_worksheet(LISTS_SHEET)
    zh = book.add_format({"bold": True, "bg_color": "#DDE7F0", "border": 1})
    en = book.add_format({"italic": True, "font_color": "#555555", "border": 1})
    hint = book.add_format({"font_color": "#7F6000", "bg_color": "#FFF2CC", "text_wrap": True,
                            "valign": "top", "border": 1})
    text = book.add_format({"num_format": "@"})
    last = FIRST_DATA_ROW - 2 + MAX_ROWS
    for at, column in enumerate(COLUMNS):
        sheet.set_column(at, at, column.width, text)
        sheet.write_string(0, at, column.title_zh, zh)
        sheet.write_string(1, at, column.code, en)
        sheet.write_string(2, at, column.hint, hint)
    for list_at, (code, values) in enumerate((("role", roles), ("org", orgs))):
        lists.write_string(0, list_at, code)
        for row, value in enumerate(values, start=1):
            lists.write_string(row, list_at, value)
        at = COLUMN_OF[code][0]
        letter = xl_col_to_name(list_at)
        sheet.data_validation(FIRST_DATA_ROW - 1, at, last, at, {
            "validate": "list",
            "source": f"={LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}",
            "error_title": "不在列表中", "error_type": "warning",
            "error_message": "请从列表中选择 / choose a value from the list"})
    sheet.set_row(2, 45)
    sheet.freeze_panes(FIRST_DATA_ROW - 1, 0)
    lists.hide()
    book.close()
    return out.getvalue()


def read_rows(data: bytes) -> list[tuple[int, dict]]:
    """The filled rows: (Excel row number, {code: text})."""
    refuse_unless_xlsx(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever a broken workbook raises
        raise problem(422, "import_unreadable", "the workbook cannot be read",
                      "无法读取该工作簿,请使用导入模板重新填写", "file") from None
    try:
        rows = book.worksheets[0].iter_rows(min_row=1, max_col=len(COLUMNS), values_only=True)
        next(rows, None)
        codes = tuple(_text(v) for v in next(rows, ()) or ())
        if codes[:len(CODES)] != CODES:
            raise problem(422, "account_import_not_template", "row 2 must hold the template's "
                          "column codes; download the account template and fill it in",
                          "第 2 行应为模板的列代码,请下载账号导入模板填写", "file")
        found = []
        for number, values in enumerate(rows, start=3):
            cells = [_text(v) for v in values]
            if not any(cells) or (cells[0] or "").startswith(HINT_MARK):
                continue
            if len(found) == MAX_ROWS:
                raise problem(413, "account_import_too_many_rows",
                              f"a file may hold at most {MAX_ROWS} accounts",
                              f"每个文件最多导入 {MAX_ROWS} 个账号", "file")
            found.append((number, dict(zip(CODES, cells))))
        return found
    finally:
        book.close()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _error(row: int, refusal: admin.Refusal) -> dict:
    code = {"org_code": "org", "password": "username"}.get(refusal.field, refusal.field)
    at, column = COLUMN_OF.get(code, (None, None))
    return {"row": row, "column": xl_col_to_name(at) if at is not None else None,
            "column_zh": column.title_zh if column else None, "field": code,
            "code": refusal.code, "message": f"row {row}: {refusal.message}",
            "message_zh": f"第 {row} 行“{column.title_zh}”:{refusal.message_zh}" if column
            else f"第 {row} 行:{refusal.message_zh}"}


def _lookup_role(value: str | None) -> str:
    if value is None:
        return ""
    by_label = {zh: r.value for r, zh in ROLE_LABELS_ZH.items()}
    return by_label.get(value, value.lower())


def _lookup_org(value: str | None, campaign) -> str | None:
    if value is None:
        return None
    by_name = {o.name_zh: o.code for o in campaign.organizations}
    return by_name.get(value, value)


def check_rows(rows: list[tuple[int, dict]], campaign, existing: dict[str, dict]
               ) -> tuple[list[Row], list[Row], list[dict]]:
    """(rows to create, rows that already exist alike, refusals). ``existing`` maps the
    usernames the file names that have accounts already to ``{"role", "org_code"}``."""
    new, same, errors = [], [], []
    seen: dict[str, int] = {}
    for number, cells in rows:
        username = admin.normalize_username(cells.get("username") or "")
        display_name = cells.get("display_name") or ""
        role = _lookup_role(cells.get("role"))
        org_code = _lookup_org(cells.get("org"), campaign)
        refusals = admin.check_new_account(username, role, org_code, display_name, campaign)
        if not display_name:
            refusals.append(admin.Refusal("display_name", "invalid_input", "name is required",
                                          "请填写姓名"))
        if username in seen:
            refusals.append(admin.Refusal(
                "username", "duplicate_username", f"the username is also in row {seen[username]}",
                f"与第 {seen[username]} 行的用户名重复"))
        seen.setdefault(username, number)
        row = Row(number, username, display_name, role, org_code)
        if not refusals and username in existing:
            if existing[username] == {"role": role, "org_code": org_code}:
                same.append(row)
                continue
            refusals.append(admin.Refusal("username", "username_taken",
                                          "the username is taken by another account",
                                          "该用户名已被其他账号使用"))
        if refusals:
            errors.extend(_error(number, r) for r in refusals)
        else:
            new.append(row)
    return new, same, errors
