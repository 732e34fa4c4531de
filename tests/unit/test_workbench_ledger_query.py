"""The ledger page's query string read into the ledger's filters (``gateway.workbench.
ledger_query``): known values pass, unknown ones are left out and named in Chinese and
English, a unit is found by code, name or a part of one name, and links keep the query."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from contracts.campaign import load_default_campaign
from contracts.listing import ProblemSort
from gateway.workbench.ledger_query import (
    Unit, days_between, lateness, ledger_choices, parse, resolve_unit,
)
from gateway.workbench.work_plans import phase_of

CAMPAIGN = load_default_campaign()
CHOICES = ledger_choices(CAMPAIGN)
UNITS = [Unit(o.code, o.name_zh, o.name_en) for o in CAMPAIGN.organizations]


def read(query: str):
    return parse(parse_qsl(query, keep_blank_values=True), choices=CHOICES, units=UNITS)


def test_known_values_become_the_ledgers_filters():
    q = read("state=dispatched&kind=misconduct&category=c7_livelihood_services"
             "&channel=letter&outcome=unfounded&overdue=1&stalled=on&sort=due&page=3")
    assert q.filters == {"state": "dispatched", "kind": "misconduct",
                         "category": "c7_livelihood_services", "channel": "letter",
                         "outcome": "unfounded", "overdue": True, "stalled": True}
    assert q.sort is ProblemSort.DUE and q.page == 3 and q.ignored == []
    assert q.ledger_filters() == {**q.filters, "sort": "due"}


def test_empty_and_off_values_are_no_filter():
    q = read("state=&unit=&overdue=0&stalled=&sort=&page=")
    assert q.filters == {} and q.sort is None and q.page == 1 and q.ignored == []
    assert q.ledger_filters() == {} and q.ledger_filters(ProblemSort.DUE) == {"sort": "due"}


@pytest.mark.parametrize("query, field, zh, en", [
    ("state=open", "state", "状态“open”无法识别，已忽略此条件", "state 'open' is not known"),
    ("kind=laziness", "kind", "问题类型“laziness”无法识别", "kind 'laziness' is not known"),
    ("channel=x" * 1, "channel", "线索来源“x”无法识别", "channel 'x' is not known"),
    ("outcome=closed", "outcome", "办结结果“closed”无法识别", "outcome 'closed'"),
    ("overdue=maybe", "overdue", "只看逾期“maybe”无法识别", "overdue only 'maybe'"),
    ("sort=sideways", "sort", "排序方式“sideways”无法识别", "order 'sideways'"),
    ("page=0", "page", "页码应为 1 至 50000 之间的整数", "the page is a whole number"),
    ("page=abc", "page", "页码应为", "page 1 is shown"),
    ("page=50001", "page", "页码应为", "page 1 is shown"),
    ("unit=不存在", "unit", "找不到名称含“不存在”的单位", "no unit's name contains '不存在'"),
    ("unit=盐山", "unit", "个单位的名称含“盐山”，请从列表中选择一个", "units' names contain"),
])
def test_unknown_values_are_left_out_and_named_in_both_languages(query, field, zh, en):
    q = read(query)
    assert field not in q.filters and q.page == 1 and q.sort is None
    (ignored,) = q.ignored
    assert ignored.field == field and zh in ignored.message_zh and en in ignored.message_en


def test_a_long_value_is_not_passed_on_and_is_shown_cut():
    q = read("state=" + "x" * 500)
    assert q.filters == {} and len(q.ignored[0].value) == 64


@pytest.mark.parametrize("typed, code", [
    ("org_sch_yanshan_high", "org_sch_yanshan_high"), ("盐山中学", "org_sch_yanshan_high"),
    ("  县公安局 ", "org_gd_public_security"), ("公安", "org_gd_public_security"),
    ("yanshan high school", "org_sch_yanshan_high"), ("Public Security", "org_gd_public_security"),
])
def test_a_unit_is_found_by_code_name_or_a_part_of_one_name(typed, code):
    assert resolve_unit(typed, UNITS) == (code, None)
    q = read(f"unit={typed}")
    assert q.filters["unit"] == code and q.unit_text == typed.strip()


def test_an_exact_name_wins_over_longer_names_that_contain_it():
    units = [Unit("a", "盐山镇", "Yanshan"), Unit("b", "盐山镇中学", "Yanshan Town School")]
    assert resolve_unit("盐山镇", units) == ("a", None)
    assert resolve_unit("镇中", units) == ("b", None)
    assert resolve_unit("盐山", units)[1].field == "unit"


def test_links_keep_the_query_and_change_what_they_are_asked_to():
    q = read("unit=盐山中学&state=dispatched&overdue=1&sort=oldest&page=2")
    link = q.link("/workbench/problems", page=3)
    parts = urlsplit(link)
    assert parts.path == "/workbench/problems"
    assert dict(parse_qsl(parts.query)) == {"state": "dispatched",
                                            "unit": "org_sch_yanshan_high", "overdue": "1",
                                            "sort": "oldest", "page": "3"}
    assert "page" not in q.link("/x", page=1) and "sort" not in q.link("/x", sort=None)
    assert read("").link("/workbench/problems") == "/workbench/problems"


def test_lateness_counts_whole_days_only_for_what_is_late():
    item = {"overdue": True, "due_on": "2026-11-20", "stalled": True,
            "last_progress_on": "2026-11-02"}
    assert lateness(item, "2026-12-02") == {"days_overdue": 12, "days_stalled": 30}
    on_time = {"overdue": False, "due_on": "2026-12-20", "stalled": False,
               "last_progress_on": None}
    assert lateness(on_time, "2026-12-02") == {"days_overdue": None, "days_stalled": None}
    assert days_between("2026-12-02", None) is None


def test_a_phase_is_one_of_the_campaigns_or_left_out_in_both_languages():
    code = CAMPAIGN.phases[1].code
    assert phase_of(code, CAMPAIGN.phases) == (code, None)
    assert phase_of("", CAMPAIGN.phases) == (None, None)
    chosen, ignored = phase_of("phase_9", CAMPAIGN.phases)
    assert chosen is None and "工作阶段“phase_9”无法识别" in ignored.message_zh
    assert "phase 'phase_9' is not known" in ignored.message_en


def test_a_sortable_column_links_to_its_order_and_a_second_click_reverses_registered():
    from gateway.workbench.ledger import LEDGER, OVERDUE, _sort_links

    q = read("state=dispatched")
    links = _sort_links(LEDGER, q, ProblemSort.NEWEST)
    assert links["registered"] == {"href": "/workbench/problems?state=dispatched&sort=oldest",
                                   "aria": "descending"}
    assert links["due"] == {"href": "/workbench/problems?state=dispatched&sort=due",
                            "aria": None}
    back = _sort_links(LEDGER, read("sort=oldest"), ProblemSort.OLDEST)["registered"]
    assert back == {"href": "/workbench/problems", "aria": "ascending"}  # newest: the default
    overdue = _sort_links(OVERDUE, read("page=2"), ProblemSort.DUE)
    assert overdue["due"] == {"href": "/workbench/overdue", "aria": "ascending"}
    assert overdue["registered"]["href"] == "/workbench/overdue?sort=newest"
