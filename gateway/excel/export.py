"""Any list as a spreadsheet (列表导出): .xlsx or .csv, streamed, one helper for every list.

A list is a set of ``Column``s (Chinese title, English code, how to read a cell from an
item) and pages of items arriving from a service. ``export_response`` writes the rows as
the pages come, so the gateway's memory holds one page, never the whole list:

- **csv**: UTF-8 with a byte-order mark (Excel then opens Chinese correctly), one header
  row ``状态 (state)``, sent to the client page by page as it is written. A text that
  Excel would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) gets a leading
  ``'`` (CSV injection: titles and descriptions come from the public).
- **xlsx**: XlsxWriter in ``constant_memory`` mode (each row goes to disk as it is
  written) into a temporary file, then streamed. Texts are written as texts, never as
  formulas or links. Two header rows: the Chinese titles, and the English codes beneath;
  both frozen, with a filter on the columns. An xlsx is a zip whose directory comes last,
  so its first byte leaves once the last row is written; a failure while it is written is
  still an ordinary error answer.

The first page is fetched before the answer starts, so a refusal (a role, a filter) is an
ordinary bilingual error; a failure in a later csv page ends the transfer unfinished.
"""
from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from urllib.parse import quote

import xlsxwriter
from fastapi.responses import StreamingResponse

from gateway.errors import problem
from kit.periods import COUNTY_TZ as LOCAL_TZ  # as the ledger counts days

Cell = str | int | float | date | datetime | None
Format = Literal["xlsx", "csv"]
MAX_ROWS = 1_048_574    # an xlsx sheet's rows less the two header rows
MAX_RUNNING = 2         # exports written at once by one gateway process
CHUNK = 64 * 1024
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_running = 0


@dataclass(frozen=True)
class Column:
    """One column: its Chinese title, its English code and how to read its cell."""

    code: str
    title_zh: str
    value: Callable[[dict], Cell]
    kind: Literal["text", "date", "datetime", "number"] = "text"
    width: float = 14

    @property
    def heading(self) -> str:
        return f"{self.title_zh} ({self.code})"


def field(name: str) -> Callable[[dict], Cell]:
    return lambda item: item.get(name)


def labelled(name: str, labels: Callable[[str], str | None]) -> Callable[[dict], Cell]:
    """The Chinese label of a code (the code itself when it has none)."""
    def read(item: dict) -> Cell:
        code = item.get(name)
        return None if code is None else (labels(code) or code)
    return read


def yes_no(name: str) -> Callable[[dict], Cell]:
    return lambda item: None if item.get(name) is None else ("是" if item[name] else "否")


def as_datetime(name: str) -> Callable[[dict], Cell]:
    """An ISO timestamp as the county's local time (Excel keeps no time zone)."""
    def read(item: dict) -> Cell:
        value = item.get(name)
        if not value:
            return None
        moment = datetime.fromisoformat(value)
        return moment.astimezone(LOCAL_TZ).replace(tzinfo=None) if moment.tzinfo else moment
    return read


def as_date(name: str) -> Callable[[dict], Cell]:
    return lambda item: date.fromisoformat(item[name]) if item.get(name) else None


def csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return str(value)


def refuse_if_too_long(total: int | None) -> None:
    if total is not None and total > MAX_ROWS:
        raise problem(413, "export_too_large",
                      f"the list has {total} rows, more than {MAX_ROWS} fit in one sheet; "
                      "narrow it with filters", f"列表共 {total} 行,超过单个表格可容纳的 "
                      f"{MAX_ROWS} 行,请先筛选后再导出")


async def export_response(fmt: Format, *, name: str, name_zh: str, columns: list[Column],
                          pages: AsyncIterator[list[dict]]) -> StreamingResponse:
    """The list as an attachment ``<name>-<date>.<fmt>`` (Chinese name for browsers that
    read RFC 5987). ``pages`` yields lists of items; the first is read before answering."""
    if _running >= MAX_RUNNING:
        raise problem(503, "export_busy", "other exports are being written; try again shortly",
                      "其他导出正在生成,请稍后再试")
    first = await anext(pages, [])
    stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": (
        f'attachment; filename="{name}-{stamp}.{fmt}"; '
        f"filename*=UTF-8''{quote(f'{name_zh}-{stamp}.{fmt}')}"),
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if fmt == "csv":
        body = _csv_stream(columns, first, _ahead(pages))
    else:
        body = _stream_file(await _xlsx_file(columns, first, _ahead(pages), sheet=name_zh))
    return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)


async def _ahead(pages: AsyncIterator[list[dict]]) -> AsyncIterator[list[dict]]:
    """The pages, the next one asked for while the current one is written (two at most in
    memory): the service's time and the writer's overlap instead of adding up."""
    pending = asyncio.ensure_future(anext(pages, None))
    try:
        while (items := await pending) is not None:
            pending = asyncio.ensure_future(anext(pages, None))
            yield items
    finally:
        pending.cancel()


def _rows(columns: list[Column], items: Iterable[dict]) -> list[list[Cell]]:
    return [[column.value(item) for column in columns] for item in items]


async def _csv_stream(columns: list[Column], first: list[dict],
                      pages: AsyncIterator[list[dict]]) -> AsyncIterator[bytes]:
    global _running
    _running += 1
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([column.heading for column in columns])

        def drain(items: list[dict]) -> bytes:
            writer.writerows([csv_text(v) for v in row] for row in _rows(columns, items))
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text.encode("utf-8")

        yield "\ufeff".encode("utf-8") + drain(first)
        async for items in pages:
            yield drain(items)
    finally:
        _running -= 1


class _XlsxSheet:
    """One worksheet written row by row to disk (XlsxWriter ``constant_memory``)."""

    def __init__(self, path: str, columns: list[Column], title: str):
        self.book = xlsxwriter.Workbook(path, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "tmpdir": os.path.dirname(path)})
        self.sheet = self.book.add_worksheet(title[:31])
        self.columns = columns
        self.formats = {
            "date": self.book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "number": None, "text": None}
        zh = self.book.add_format({"bold": True, "bg_color": "#DDE7F0", "border": 1})
        en = self.book.add_format({"italic": True, "font_color": "#555555", "border": 1})
        for at, column in enumerate(columns):
            self.sheet.set_column(at, at, column.width)
            self.sheet.write_string(0, at, column.title_zh, zh)
        for at, column in enumerate(columns):
            self.sheet.write_string(1, at, column.code, en)
        self.sheet.freeze_panes(2, 0)
        self.row = 2

    def write(self, rows: list[list[Cell]]) -> None:
        kinds = [self.formats[column.kind] for column in self.columns]
        sheet = self.sheet
        for values in rows:
            for at, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(self.row, at, value)
                elif isinstance(value, (date, datetime)):
                    sheet.write_datetime(self.row, at, value, kinds[at])
                else:
                    sheet.write_number(self.row, at, value)
            self.row += 1

    def close(self) -> None:
        self.sheet.autofilter(1, 0, max(self.row - 1, 1), len(self.columns) - 1)
        self.book.close()


async def _xlsx_file(columns: list[Column], first: list[dict],
                     pages: AsyncIterator[list[dict]], *, sheet: str):
    """The workbook in an open, already unlinked temporary file (gone when closed)."""
    global _running
    _running += 1
    folder = tempfile.mkdtemp(prefix="export-")
    path = os.path.join(folder, "export.xlsx")
    try:
        writer = await asyncio.to_thread(_XlsxSheet, path, columns, sheet)
        items = first
        while True:
            await asyncio.to_thread(writer.write, _rows(columns, items))
            items = await anext(pages, None)
            if items is None:
                break
        await asyncio.to_thread(writer.close)
        return open(path, "rb")
    finally:
        _running -= 1
        for leftover in os.listdir(folder):
            os.unlink(os.path.join(folder, leftover))
        os.rmdir(folder)


async def _stream_file(file) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()
