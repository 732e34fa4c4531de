"""The ledger page's query string (台账筛选条件), read into the ledger's filters: pure, so it is
tested in milliseconds.

The filters are the API's (``gateway.routes.problems.problem_filters``): state, unit,
category, kind, channel, outcome, overdue, stalled; plus the order (``contracts.listing``)
and the page. A value the campaign or the ledger does not know is dropped, never passed on,
and named in both languages (``Ignored``) so the page can say what it left out; the ledger
still decides scope (a unit's handler asking for another unit gets nothing).

The unit may be typed as its code or its name (the page offers the names in a datalist): an
exact name, or a part of exactly one unit's name.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from contracts.listing import ProblemSort
from contracts.vocabulary import Outcome, State

CHOICES = ("state", "category", "kind", "channel", "outcome")
FLAGS = ("overdue", "stalled")
ORDER = ("state", "unit", "category", "kind", "channel", "outcome", *FLAGS)  # in links
YES = {"1", "true", "on", "yes"}
NO = {"", "0", "false", "off", "no"}
MAX_PAGE = 50_000
MAX_VALUE = 64  # as the API's Query(max_length=64)

# field -> (Chinese, English), for what was ignored
FIELD_NAMES = {
    "state": ("状态", "state"), "unit": ("承办单位", "unit"), "category": ("问题类别", "category"),
    "kind": ("问题类型", "kind"), "channel": ("线索来源", "channel"),
    "outcome": ("办结结果", "outcome"), "overdue": ("只看逾期", "overdue only"),
    "stalled": ("只看停滞", "stalled only"), "sort": ("排序方式", "order"),
    "page": ("页码", "page"),
}


@dataclass(frozen=True)
class Ignored:
    """A value left out of the query, with why, in both languages."""

    field: str
    value: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Unit:
    code: str
    name_zh: str
    name_en: str


@dataclass
class LedgerQuery:
    filters: dict = field(default_factory=dict)   # the ledger's, without the order
    sort: ProblemSort | None = None               # None: the page's default
    page: int = 1
    unit_text: str = ""                           # what was typed, to show it again
    ignored: list[Ignored] = field(default_factory=list)

    def ledger_filters(self, default_sort: ProblemSort | None = None) -> dict:
        sort = self.sort or default_sort
        return {**self.filters, "sort": sort.value} if sort else dict(self.filters)

    def params(self, **changes) -> list[tuple[str, str]]:
        """The query's parameters (codes, not names), with ``changes``; None drops one."""
        values: dict[str, object] = {name: self.filters.get(name) for name in ORDER}
        values.update(sort=self.sort.value if self.sort else None,
                      page=self.page if self.page > 1 else None)
        values.update(changes)
        pairs = []
        for name, value in values.items():
            if value is None or value is False or value == "" or (name == "page"
                                                                   and value == 1):
                continue
            pairs.append((name, "1" if value is True else str(value)))
        return pairs

    def link(self, path: str, **changes) -> str:
        pairs = self.params(**changes)
        return f"{path}?{urlencode(pairs)}" if pairs else path


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


def parse(pairs: Iterable[tuple[str, str]], *, choices: dict[str, set[str]],
          units: Sequence[Unit]) -> LedgerQuery:
    """``choices``: the known codes of each of ``CHOICES`` (the campaign's and the ledger's);
    ``units``: the units whose names may be typed."""
    given = first_values(pairs)
    query = LedgerQuery()
    for name in CHOICES:
        value = given.get(name, "").strip()
        if not value:
            continue
        if len(value) <= MAX_VALUE and value in choices.get(name, ()):
            query.filters[name] = value
        else:
            query.ignored.append(_unknown(name, value))
    text = given.get("unit", "").strip()
    if text:
        query.unit_text = text[:200]
        code, why = resolve_unit(text, units)
        if code:
            query.filters["unit"] = code
        else:
            query.ignored.append(why)
    for name in FLAGS:
        value = given.get(name, "").strip().lower()
        if value in YES:
            query.filters[name] = True
        elif value not in NO:
            query.ignored.append(_unknown(name, value))
    sort = given.get("sort", "").strip()
    if sort:
        if sort in {s.value for s in ProblemSort}:
            query.sort = ProblemSort(sort)
        else:
            query.ignored.append(_unknown("sort", sort))
    page = given.get("page", "").strip()
    if page:
        if page.isdigit() and 1 <= int(page) <= MAX_PAGE:
            query.page = int(page)
        else:
            query.ignored.append(Ignored("page", page[:MAX_VALUE],
                                         f"页码应为 1 至 {MAX_PAGE} 之间的整数，已显示第 1 页",
                                         f"the page is a whole number from 1 to {MAX_PAGE}; "
                                         "page 1 is shown"))
    return query


def _unknown(name: str, value: str) -> Ignored:
    zh, en = FIELD_NAMES[name]
    shown = value[:MAX_VALUE]
    return Ignored(name, shown, f"{zh}“{shown}”无法识别，已忽略此条件",
                   f"{en} '{shown}' is not known; that filter was left out")


def resolve_unit(text: str, units: Sequence[Unit]) -> tuple[str | None, Ignored | None]:
    """A unit's code from its code, its full name, or a part of exactly one unit's name."""
    text = text.strip()
    folded = text.casefold()
    for unit in units:
        if text == unit.code or folded in (unit.name_zh.casefold(), unit.name_en.casefold()):
            return unit.code, None
    matches = [u for u in units
               if folded in u.name_zh.casefold() or folded in u.name_en.casefold()]
    if len(matches) == 1:
        return matches[0].code, None
    shown = text[:MAX_VALUE]
    if matches:
        return None, Ignored("unit", shown,
                             f"有 {len(matches)} 个单位的名称含“{shown}”，请从列表中选择一个",
                             f"{len(matches)} units' names contain '{shown}'; choose one "
                             "from the list")
    return None, Ignored("unit", shown, f"找不到名称含“{shown}”的单位，已忽略此条件",
                         f"no unit's name contains '{shown}'; that filter was left out")


def ledger_choices(campaign) -> dict[str, set[str]]:
    """The codes each choice filter may take: the ledger's states and outcomes, the
    campaign's categories, kinds and channels."""
    return {"state": {s.value for s in State}, "outcome": {o.value for o in Outcome},
            "category": {c.code for c in campaign.categories},
            "kind": {k.code for k in campaign.kinds},
            "channel": {c.code for c in campaign.channels}}


def days_between(later: str | None, earlier: str | None) -> int | None:
    """Whole days from ``earlier`` to ``later`` (ISO dates), or None without both."""
    if not later or not earlier:
        return None
    return (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days


def lateness(item: dict, as_of: str) -> dict:
    """How late a listed problem is: days past its deadline when overdue (逾期天数), days
    since the unit's last progress when stalled (停滞天数)."""
    return {"days_overdue": days_between(as_of, item.get("due_on")) if item.get("overdue")
            else None,
            "days_stalled": days_between(as_of, item.get("last_progress_on"))
            if item.get("stalled") else None}
