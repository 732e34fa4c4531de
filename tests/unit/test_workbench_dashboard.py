"""The dashboard's figures from a roll-up (gateway/workbench/dashboard.py ``board``): every
chart's table holds the numbers its chart draws, rows link to the list filtered by them, the
units drawn are the largest ones unless all are asked for; and ``Server-Timing`` on the
staff pages (gateway/timing.py)."""
from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET

from contracts.campaign import load_default_campaign
from gateway.timing import ServerTiming
from gateway.workbench.dashboard import TOP_UNITS, board

CAMPAIGN = load_default_campaign()
SVG = "{http://www.w3.org/2000/svg}"
SCHOOL, POLICE = "org_sch_yanshan_high", "org_gd_public_security"


def unit(code, total, open_, closed, struck_off, unfounded, overdue, **rates) -> dict:
    return {"unit": code, "total": total, "open": open_, "closed": closed,
            "struck_off": struck_off, "unfounded": unfounded, "self_found": 0,
            "overdue": overdue, "stalled": 0, "overdue_rate": overdue / open_ if open_ else 0,
            "unfounded_rate": unfounded / closed if closed else 0.0,
            "rectified_rate": struck_off / closed if closed else 0.0,
            "on_time_rate": (open_ - overdue) / open_ if open_ else None, **rates}


ROLLUP = {
    "as_of": "2026-12-02", "scope": "all", "total": 7,
    "by": {"state": {"registered": 1, "dispatched": 3, "closed": 3},
           "outcome": {"none": 4, "rectified": 2, "unfounded": 1},
           "category": {"c7_livelihood_services": 5, "c9_public_security": 2},
           "kind": {"inaction": 7}, "channel": {"letter": 4, "phone_call": 3},
           "unit": {SCHOOL: 5, POLICE: 1, "none": 1}},
    "units": [unit(SCHOOL, 5, 2, 3, 2, 1, 1), unit(POLICE, 1, 1, 0, 0, 0, 0),
              unit(None, 1, 1, 0, 0, 0, 0)],
    "overdue": [], "stalled": [],
}


def charts_of(b):
    return {c.id: c for c in b.charts}


def svg_values(chart) -> list[str]:
    root = ET.fromstring(str(chart.svg))
    return [t.text for t in root.iter(f"{SVG}text")]


def test_each_chart_draws_what_its_table_lists():
    b = board(ROLLUP, CAMPAIGN, "zh")
    found = charts_of(b)
    assert list(found) == ["by-state", "by-outcome", "by-category", "by-kind", "by-channel",
                           "by-unit", "rates"]
    for chart in found.values():
        words = svg_values(chart)
        for row in chart.rows:
            assert row.label in words, (chart.id, row.label)
            if chart.id == "by-unit":
                assert row.cells[0] in words  # the total at the end of the stack
            elif chart.id == "rates":
                assert all(cell in words for cell in row.cells)
            else:
                assert words[words.index(row.label) + 1] == row.cells[0]
    state = {r.label: r.cells[0] for r in found["by-state"].rows}
    assert state["已交办"] == "3" and state["已登记"] == "1" and state["已办结"] == "3"
    assert state["已查实"] == "0" and len(state) == 7  # every state, zeros too
    assert {r.label: r.cells[0] for r in found["by-channel"].rows}["群众来信"] == "4"


def test_rows_link_to_the_list_filtered_by_them():
    found = charts_of(board(ROLLUP, CAMPAIGN, "zh"))
    state = next(r for r in found["by-state"].rows if r.cells[0] == "3" and "交办" in r.label)
    assert state.href == "/workbench/problems?state=dispatched"
    category = next(r for r in found["by-category"].rows if r.cells[0] == "5")
    assert category.href == "/workbench/problems?category=c7_livelihood_services"
    units = {r.label: r for r in found["by-unit"].rows}
    assert units["盐山中学"].href == f"/workbench/problems?unit={SCHOOL}"
    assert units["尚未确定承办单位"].href is None
    assert 'data-href="/workbench/problems?state=dispatched"' in str(found["by-state"].svg)


def test_the_units_stack_and_the_rates_add_up():
    b = board(ROLLUP, CAMPAIGN, "zh")
    found = charts_of(b)
    school = next(r for r in found["by-unit"].rows if r.label == "盐山中学")
    # total, struck off, unfounded, otherwise closed, open on time, overdue
    assert school.cells == ["5", "2", "1", "0", "1", "1"]
    rates = {r.label: r.cells for r in found["rates"].rows}
    assert rates["盐山中学"] == ["50.0%", "66.7%", "33.3%", "50.0%"]
    assert rates["县公安局"] == ["100.0%", "—", "—", "0.0%"]  # nothing closed: no rate
    figures = {f.id: f.value for f in b.figures}
    assert figures["total"] == "7" and figures["open"] == "4" and figures["overdue"] == "1"
    assert figures["on_time_rate"] == "75.0%" and figures["rectified_rate"] == "66.7%"
    assert b.scope == "全县" and b.as_of == "2026-12-02"


def test_only_the_largest_units_are_drawn_unless_all_are_asked_for():
    many = dict(ROLLUP, units=[unit(f"org_x_{i:03d}", i + 1, i + 1, 0, 0, 0, 0)
                               for i in range(TOP_UNITS + 5)])
    top = charts_of(board(many, CAMPAIGN, "en"))["by-unit"]
    assert len(top.rows) == TOP_UNITS and top.rows[0].label == f"org_x_{TOP_UNITS + 4:03d}"
    every = board(many, CAMPAIGN, "en", all_units=True)
    assert len(charts_of(every)["by-unit"].rows) == TOP_UNITS + 5
    assert every.units_total == TOP_UNITS + 5


def test_an_empty_ledger_gives_charts_that_say_so_and_english_when_asked():
    empty = {"as_of": "2026-12-02", "scope": "org_education_bureau", "total": 0,
             "by": {"state": {}, "outcome": {}}, "units": [], "overdue": [], "stalled": []}
    b = board(empty, CAMPAIGN, "en")
    found = charts_of(b)
    assert b.scope == "County Education Bureau"
    assert found["by-unit"].rows == [] and "No data yet" in svg_values(found["by-unit"])
    assert all(r.cells == ["0"] for r in found["by-state"].rows)
    assert {f.id: f.value for f in b.figures}["on_time_rate"] == "—"


def test_staff_pages_say_how_long_the_gateway_took():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def run(path):
        sent = []

        async def send(message):
            sent.append(message)
        asyncio.run(ServerTiming(app)({"type": "http", "path": path}, None, send))
        return dict(sent[0]["headers"])

    assert re.fullmatch(rb"app;dur=\d+\.\d", run("/workbench/dashboard")[b"server-timing"])
    assert b"server-timing" not in run("/api/v1/clues")
