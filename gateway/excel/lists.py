"""The columns of each exported list, with codes shown by their Chinese names: states from
``contracts.vocabulary``, categories, kinds, channels and units from the campaign."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from contracts.vocabulary import Outcome, State, STATE_LABELS_ZH
from gateway.excel.export import (
    Column, as_date, as_datetime, field, labelled, refuse_if_too_long, yes_no,
)

OUTCOME_LABELS_ZH: dict[Outcome, str] = {
    Outcome.RECTIFIED: "整改完成销号", Outcome.UNFOUNDED: "查否", Outcome.MERGED: "重复线索合并",
    Outcome.TRANSFERRED: "移交",
}
PAGE_SIZE = 1000  # items per RPC page: one page is what the gateway holds at a time


def _names(items) -> Callable[[str], str | None]:
    names = {item.code: item.name_zh for item in items}
    return names.get


def problem_columns(campaign) -> list[Column]:
    """The ledger (台账) as a county office keeps it in Excel."""
    unit = _names(campaign.organizations)
    return [
        Column("id", "问题编号", field("id"), width=22),
        Column("title", "标题", field("title"), width=30),
        Column("unit", "承办单位", labelled("unit", unit), width=20),
        Column("unit_code", "单位代码", field("unit"), width=18),
        Column("category", "问题类别", labelled("category", _names(campaign.categories)),
               width=20),
        Column("kind", "问题性质", labelled("kind", _names(campaign.kinds)), width=10),
        Column("channel", "线索来源渠道", labelled("channel", _names(campaign.channels)),
               width=16),
        Column("state", "办理状态", labelled("state", lambda c: STATE_LABELS_ZH.get(State(c)))),
        Column("outcome", "办结结果",
               labelled("outcome", lambda c: OUTCOME_LABELS_ZH.get(Outcome(c)))),
        Column("registered_at", "登记时间", as_datetime("registered_at"), "datetime", 17),
        Column("due_on", "当前时限", as_date("due_on"), "date", 12),
        Column("rectify_by", "整改时限", as_date("rectify_by"), "date", 12),
        Column("light", "亮灯", field("light_zh"), width=8),
        Column("overdue", "逾期", yes_no("overdue"), width=6),
        Column("stalled", "停滞", yes_no("stalled"), width=6),
        Column("suspended", "中止计时", yes_no("suspended"), width=8),
        Column("description", "问题描述", field("description"), width=60),
    ]


def work_plan_columns(campaign) -> list[Column]:
    """清理工作方案备案."""
    unit = _names(campaign.organizations)
    return [
        Column("id", "方案编号", field("id"), width=22),
        Column("unit", "单位", labelled("unit", unit), width=20),
        Column("unit_code", "单位代码", field("unit"), width=18),
        Column("supervisor", "备案部门", labelled("supervisor", unit), width=20),
        Column("title", "标题", field("title"), width=30),
        Column("filed_by", "报送人", field("filed_by")),
        Column("filed_at", "报送时间", as_datetime("filed_at"), "datetime", 17),
        Column("acknowledged_by", "备案确认人", field("acknowledged_by")),
        Column("acknowledged_at", "确认时间", as_datetime("acknowledged_at"), "datetime", 17),
        Column("document_sha256", "文件摘要 SHA-256", field("document_sha256"), width=20),
        Column("summary", "内容摘要", field("summary"), width=60),
    ]


FILING_LABELS_ZH = {"missing": "未报送", "late": "逾期报送"}


def missing_work_plan_columns(campaign) -> list[Column]:
    """Units whose work plan is missing or late (未报送、逾期报送清理工作方案)."""
    unit = _names(campaign.organizations)
    return [
        Column("unit", "单位", labelled("unit", unit), width=20),
        Column("unit_code", "单位代码", field("unit"), width=18),
        Column("supervisor", "备案部门", labelled("supervisor", unit), width=20),
        Column("status", "报送情况", labelled("status", FILING_LABELS_ZH.get), width=10),
        Column("filed_at", "报送时间", as_datetime("filed_at"), "datetime", 17),
    ]


def missing_and_late(answer: dict) -> dict:
    """The ledger's missing-work-plans answer as one list."""
    return {"items": [{**u, "status": "missing"} for u in answer["missing"]]
            + [{**u, "status": "late"} for u in answer["late"]]}


async def keyset_pages(fetch: Callable[..., Awaitable[dict]], *,
                       page_size: int = PAGE_SIZE) -> AsyncIterator[list[dict]]:
    """Pages of a list answered as ``{"total", "items"}`` newest first, each page asked for
    after the last item of the one before (``after``: its ``registered_at`` and ``id``), so
    problems registered meanwhile neither shift nor repeat rows. ``fetch(after, limit)``."""
    after = None
    while True:
        answer = await fetch(after=after, limit=page_size)
        if after is None:
            refuse_if_too_long(answer.get("total"))
        items = answer["items"]
        if items:
            yield items
        if len(items) < page_size:
            return
        after = [items[-1]["registered_at"], items[-1]["id"]]


async def one_page(fetch: Callable[[], Awaitable[dict]]) -> AsyncIterator[list[dict]]:
    """A list the service answers whole (``{"items": [...]}``)."""
    answer = await fetch()
    refuse_if_too_long(len(answer["items"]))
    yield answer["items"]
