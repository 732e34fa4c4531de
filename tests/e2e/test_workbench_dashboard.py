"""The dashboard (统计看板, /workbench/dashboard) through the real stack, on a small ledger
whose every count is known: clues filed through the API, dispatched and decided through it.

Each chart is an inline SVG followed by a table: the numbers the chart draws must be the
table's, and both must be the ledger's. A supervising body sees its own system only; a
unit's handler is refused. The ``browser`` test keeps screenshots at phone and desktop width.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import httpx
import pytest

from tests.e2e.test_pages import csp_directives, references
from tests.support.browser import SHOTS, browser_session, wait_until
from tests.support.workbench import PASSWORDS, Staff, api
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e
SVG = "{http://www.w3.org/2000/svg}"
SCHOOL, POLICE = "org_sch_yanshan_high", "org_gd_public_security"


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """A stack of this module's own, so that the ledger holds exactly the problems below."""
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"),
                    extra_env={"LOGIN_RATE_PER_ACCOUNT": "100000/minute"})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


def file_clue(stack, title: str, unit: str, category: str, channel: str) -> str:
    county = api(stack, "county")  # a letter (群众来信) is entered by the county office
    filed = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, headers=county, json={
        "channel": channel, "title": title, "kind": "inaction", "category": category,
        "description": f"{title}：群众多次反映无人处理，情况各不相同", "subject_unit": unit})
    assert filed.status_code == 202, filed.text

    def problem_id():
        items = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", timeout=10,
                          headers=county).json()["items"]
        return next((p["id"] for p in items if p["clue_id"] == filed.json()["clue_id"]), None)
    return wait_until(problem_id)


def act(stack, username: str, pid: str, action: str, body: dict) -> None:
    reply = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/{action}", timeout=30,
                       headers=api(stack, username), json=body)
    assert reply.status_code == 200, reply.text


@pytest.fixture(scope="module")
def ledger(stack) -> dict:
    """Five problems. The school (教育局's system): one registered, two dispatched, one closed
    as unfounded; the police (监察局's system): one dispatched."""
    c7, c9 = "c7_livelihood_services", "c9_public_security"
    ids = {
        "registered": file_clue(stack, "教室漏雨无人修", SCHOOL, c7, "letter"),
        "dispatched1": file_clue(stack, "食堂卫生差", SCHOOL, c7, "public_report_platform"),
        "dispatched2": file_clue(stack, "校车超载", SCHOOL, c9, "public_report_platform"),
        "unfounded": file_clue(stack, "乱收资料费", SCHOOL, c7, "letter"),
        "police": file_clue(stack, "报警后出警慢", POLICE, c9, "public_report_platform"),
    }
    for name in ("dispatched1", "dispatched2", "unfounded", "police"):
        act(stack, "county", ids[name], "dispatch", {"respond_days": 5})
    act(stack, "handler-school1", ids["unfounded"], "report_unfounded", {
        "findings": "经查，资料费系家长自愿订购", "evidence": [{"description": "订购登记表"}]})
    act(stack, "supervisor-edu", ids["unfounded"], "accept_unfounded", {})
    return ids


class Tables(HTMLParser):
    """Every table of a page: {id: [[cell text, ...], ...]} (header row first), and each
    row header's link."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, dict[str, str]] = {}
        self._table = None
        self._cell = None
        self._href = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table], self.links[self._table] = [], {}
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and tag in ("td", "th"):
            self._cell = ""
        elif self._cell is not None and tag == "a":
            self._href = attrs.get("href")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif self._table and tag in ("td", "th") and self._cell is not None:
            text = self._cell.strip()
            self.tables[self._table][-1].append(text)
            if self._href:
                self.links[self._table][text] = self._href
            self._cell, self._href = None, None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables_of(page: str) -> Tables:
    parser = Tables()
    parser.feed(page)
    return parser


def table(page: str, chart: str) -> dict[str, list[str]]:
    """A chart's table as {row label: [cells]}."""
    rows = tables_of(page).tables[f"table-{chart}"]
    return {row[0]: row[1:] for row in rows[1:]}


def chart(page: str, chart_id: str) -> ET.Element:
    svg = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', page, re.S).group(0)
    return ET.fromstring(svg)


def drawn(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text")]


def test_the_county_office_sees_the_ledgers_counts_in_charts_and_tables(stack, ledger):
    reply = Staff(stack, "county").get("/workbench/dashboard")
    assert reply.status_code == 200, reply.text
    page = reply.text
    assert "统计看板" in page and '<dd id="scope">全县</dd>' in page
    figures = dict(re.findall(r'<li id="fig-(\w+)">.*?class="wb-figure-value"[^>]*>([^<]+)<',
                              page, re.S))
    assert (figures["total"], figures["open"], figures["closed"], figures["overdue"]) == (
        "5", "4", "1", "0")
    assert figures["on_time_rate"] == "100.0%" and figures["unfounded_rate"] == "100.0%"
    state = table(page, "by-state")
    assert (state["已登记"], state["已交办"], state["已办结"], state["整改中"]) == (
        ["1"], ["3"], ["1"], ["0"])
    assert table(page, "by-outcome")["查否"] == ["1"] and table(page, "by-outcome")["在办"] == ["4"]
    categories = table(page, "by-category")
    assert len(categories) == 9  # every category of the campaign, zeros too
    assert categories["民生难题消极应付"] == ["3"]
    assert categories["社会治安和执行难问题打击不力"] == ["2"]
    assert table(page, "by-kind")["不作为"] == ["5"]
    channels = table(page, "by-channel")
    assert channels["公开举报平台"] == ["3"] and channels["群众来信"] == ["2"]
    units = table(page, "by-unit")
    # total, struck off, unfounded, otherwise closed, open on time, overdue
    assert units["盐山中学"] == ["4", "0", "1", "0", "3", "0"]
    assert units["县公安局"] == ["1", "0", "0", "0", "1", "0"]
    rates = table(page, "rates")
    assert rates["盐山中学"] == ["100.0%", "0.0%", "100.0%", "0.0%"]
    assert rates["县公安局"] == ["100.0%", "—", "—", "0.0%"]


def test_every_chart_draws_the_numbers_of_its_table(stack, ledger):
    page = Staff(stack, "county").get("/workbench/dashboard").text
    ids = re.findall(r'<svg [^>]*id="(chart-[a-z]+)"', page)
    assert ids == ["chart-state", "chart-outcome", "chart-category", "chart-kind",
                   "chart-channel", "chart-unit", "chart-rates"]
    for chart_id in ids:
        svg = chart(page, chart_id)
        section = {"chart-rates": "rates"}.get(chart_id, chart_id.replace("chart-", "by-"))
        assert svg.get("role") == "img" and svg.find(f"{SVG}title").text
        assert "数据表" in svg.find(f"{SVG}desc").text
        words = drawn(svg)
        for label, cells in table(page, section).items():
            at = words.index(label)
            if section == "by-unit":
                assert words[at + 1] == cells[0], (label, words)  # the stack's total
            else:
                assert words[at + 1:at + 1 + len(cells)] == cells, (chart_id, label, words)


def test_rows_link_to_the_ledger_list_filtered_by_them(stack, ledger):
    page = Staff(stack, "county").get("/workbench/dashboard").text
    links = tables_of(page).links
    assert links["table-by-state"]["已交办"] == "/workbench/problems?state=dispatched"
    assert links["table-by-unit"]["盐山中学"] == f"/workbench/problems?unit={SCHOOL}"
    assert links["table-by-channel"]["群众来信"] == "/workbench/problems?channel=letter"
    svg_links = [g.get("data-href") for g in chart(page, "chart-state").iter(f"{SVG}g")]
    assert "/workbench/problems?state=dispatched" in svg_links  # a click follows it (JS)
    assert not list(chart(page, "chart-state").iter(f"{SVG}a"))  # nothing to focus in an img
    listed = Staff(stack, "county").get(links["table-by-state"]["已交办"])
    assert listed.status_code == 200


def test_a_supervising_body_sees_its_own_system_only(stack, ledger):
    page = Staff(stack, "supervisor-edu").get("/workbench/dashboard").text
    assert '<dd id="scope">县教育局</dd>' in page
    assert table(page, "by-state")["已交办"] == ["2"]
    assert set(table(page, "by-unit")) == {"盐山中学"}
    assert "县公安局" not in page
    police = Staff(stack, "supervisor-jc").get("/workbench/dashboard").text
    assert set(table(police, "by-unit")) == {"县公安局"}
    assert table(police, "by-state")["已交办"] == ["1"] and table(police, "by-state")[
        "已登记"] == ["0"]


def test_the_spot_check_team_sees_all_and_a_units_handler_is_refused(stack, ledger):
    spot = Staff(stack, "spotcheck").get("/workbench/dashboard")
    assert spot.status_code == 200 and table(spot.text, "by-unit")["盐山中学"][0] == "4"
    for username in ("handler-school1", "media", "ops"):
        refused = Staff(stack, username).get("/workbench/dashboard")
        assert refused.status_code == 403 and "无权" in refused.text, username
        assert "chart-state" not in refused.text
    home = Staff(stack, "handler-school1").get("/workbench").text
    assert 'href="/workbench/dashboard"' not in home  # not offered where it is refused
    assert 'href="/workbench/dashboard"' in Staff(stack, "county").get("/workbench").text
    anonymous = httpx.get(f"{stack.base_url}/workbench/dashboard", timeout=10)
    assert anonymous.status_code == 401 and "工作人员登录" in anonymous.text


def test_the_page_keeps_the_strict_csp_and_says_how_long_the_server_took(stack, ledger):
    reply = Staff(stack, "county").get("/workbench/dashboard")
    csp = csp_directives(reply.headers["content-security-policy"])
    assert csp["style-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    page = references(reply.text)
    assert not page.inline, page.inline  # no style attribute, no inline script
    assert " style=" not in reply.text and "<style" not in reply.text
    for url in page.urls:
        if url.startswith("/static/"):
            assert httpx.get(stack.base_url + url, timeout=10).status_code == 200, url
    assert re.fullmatch(r"app;dur=\d+(\.\d+)?", reply.headers["server-timing"])
    english = Staff(stack, "county").http.get("/workbench/dashboard",
                                              headers={"Accept-Language": "en-GB,en"})
    assert "Dashboard" in english.text and "By state" in english.text


@pytest.mark.browser
def test_the_dashboard_in_a_browser_at_phone_and_desktop_width(stack, ledger):
    with browser_session("zh-CN") as browser:
        browser.open(f"{stack.base_url}/workbench/sign-in?next=/workbench/dashboard")
        browser.type("#f-username", "county")
        browser.type("#f-password", PASSWORDS["county"])
        browser.click("#sign-in")
        browser.wait("return location.pathname === '/workbench/dashboard'")
        assert browser.wait_text("h1") == "统计看板"
        for width, label in ((390, "phone"), (1280, "desktop")):
            browser._call("POST", "/window/rect", {"width": width, "height": 2400})
            wide = browser.js("return document.getElementById('chart-unit')"
                              ".getBoundingClientRect().width")
            assert 0 < wide <= width, (label, wide)
            assert browser.js("return document.documentElement.scrollWidth") <= width
            browser.screenshot(SHOTS / f"workbench-dashboard-{label}.png")
        browser.click("#by-state summary")
        assert browser.js("return document.querySelector('#by-state details').open") is True
        assert browser.console_errors() == []
        browser.click('#chart-state [data-href="/workbench/problems?state=dispatched"] rect')
        browser.wait("return location.search === '?state=dispatched'")  # a bar is a link
