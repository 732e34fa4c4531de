"""Helpers for the account administration tests: a filled account import workbook."""
from __future__ import annotations

import io

import openpyxl

from gateway.excel.account_import import COLUMNS


def account_workbook(rows: list[tuple]) -> bytes:
    """An .xlsx as the account template is filled: titles, codes, then one row per tuple
    (username, display_name, role, org); data starts at Excel row 3."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([c.title_zh for c in COLUMNS])
    sheet.append([c.code for c in COLUMNS])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
