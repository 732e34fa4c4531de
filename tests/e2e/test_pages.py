"""The public pages (公开举报平台, 进度查询) as a reporter meets them, through the real stack.

The HTTP tests run everywhere. The ``browser`` tests drive Debian's headless Chromium (and
chromedriver, spoken to over plain HTTP); they fail, not skip, when it is missing.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
import time
from html.parser import HTMLParser

import httpx
import pytest

from tests.support.browser import (  # noqa: F401  (shared with the other browser tests)
    CHROMIUM_FLAGS, SHOTS, Browser, browser_session, chromium, free_port, wait_until,
)

pytestmark = pytest.mark.e2e

PAGES = ("/", "/receipt")
STATIC_TYPES = {"site.css": "text/css", "i18n.js": "text/javascript",
                "report.js": "text/javascript", "receipt.js": "text/javascript",
                "emblem.svg": "image/svg+xml"}



def get(stack, path: str, **kwargs) -> httpx.Response:
    return httpx.get(stack.base_url + path, timeout=10, **kwargs)


class References(HTMLParser):
    """Every src/href of a page, and whatever CSP would block: inline script, style, handlers."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [attrs[a] for a in ("src", "href", "action") if attrs.get(a)]
        self.inline += [f"{tag} {a}" for a in attrs if a == "style" or a.startswith("on")]
        if tag == "style":
            self.inline.append("<style>")
        self._in_script = tag == "script"
        if tag == "script" and not attrs.get("src"):
            self.inline.append("<script> without src")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("inline script text")


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def csp_directives(header: str) -> dict[str, list[str]]:
    parts = (p.split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


# --- over HTTP -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_a_page_is_chinese_first_html_that_allows_only_its_own_origin(stack, path):
    reply = get(stack, path)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in reply.text
    csp = csp_directives(reply.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src", "connect-src", "img-src", "form-action"):
        assert csp[directive] == ["'self'"], directive
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["cache-control"] == "no-cache"
    assert reply.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("name", sorted(STATIC_TYPES))
def test_a_static_file_is_served_with_its_type_and_cached_for_a_while(stack, name):
    reply = get(stack, f"/static/{name}")
    assert reply.status_code == 200
    assert reply.headers["content-type"].split(";")[0] == STATIC_TYPES[name]
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert "max-age=" in reply.headers["cache-control"]
    assert get(stack, f"/static/{name}",
               headers={"If-None-Match": reply.headers["etag"]}).status_code == 304


@pytest.mark.parametrize("path", [
    "/static/..%2Fapp.py", "/static/..%2F..%2Fgateway%2Fapp.py", "/static/%2e%2e%2fpages.py",
    "/static/..%5C__init__.py", "/static/nonexistent.js", "/static/__init__.py",
    "/static/index.html", "/static/.hidden.js", "/static/site.css%00.py", "/static/"])
def test_nothing_but_the_static_folders_own_files_is_served(stack, path):
    reply = get(stack, path)
    assert reply.status_code == 404, (path, reply.status_code)
    assert "import" not in reply.text and "<html" not in reply.text


@pytest.mark.parametrize("path", PAGES)
def test_a_page_refers_only_to_files_of_its_own_origin_that_exist(stack, path):
    page = references(get(stack, path).text)
    assert not page.inline, page.inline
    for url in page.urls:
        assert url.startswith(("/", "#")) and not url.startswith("//"), url
        if url.startswith("/static/"):
            assert get(stack, url).status_code == 200, url


def test_scripts_and_styles_call_nothing_but_their_own_origin(stack):
    for name in STATIC_TYPES:
        if name.endswith(".svg"):
            continue
        source = get(stack, f"/static/{name}").text
        assert not re.search(r"""["'`(]\s*(https?:)?//""", source), name
        assert "@import" not in source and "eval(" not in source, name
        assert not re.search(r"url\(\s*['\"]?(https?:|//)", source), name
        for called in re.findall(r"""(?:fetch|requestJSON)\(\s*['"]([^'"]*)""", source):
            assert called.startswith("/api/v1/"), (name, called)


def test_the_pages_stay_out_of_the_api_description(stack):
    paths = get(stack, "/openapi.json").json()["paths"]
    assert not {"/", "/receipt", "/static/{name}"} & set(paths)


# --- in headless Chromium ------------------------------------------------------------------

def dump_dom(url: str, language: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--accept-lang={language}", f"--lang={language}", "--virtual-time-budget=10000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.browser
def test_the_form_fills_its_choices_from_the_campaign_in_chinese(stack):
    dom = dump_dom(stack.base_url + "/", "zh-CN")
    assert '<html lang="zh-CN">' in dom
    assert '<option value="inaction">不作为</option>' in dom
    assert '<option value="org_sch_yanshan_high">盐山中学</option>' in dom
    assert '<optgroup label="乡镇">' in dom and '<optgroup label="县管企业">' in dom
    assert "信息公开不到位" in dom


@pytest.mark.browser
def test_the_form_speaks_english_to_an_english_browser(stack):
    dom = dump_dom(stack.base_url + "/", "en-US")
    assert '<html lang="en">' in dom
    assert '<option value="inaction">Inaction</option>' in dom
    assert "Yanshan High School" in dom and "Public reporting platform" in dom


COUNT_POSTS = """
window.__failNext = arguments[0];
if (!window.__posts) {
  window.__posts = [];
  const realFetch = window.fetch;
  window.fetch = function (url, options) {
    if (options && options.method === 'POST') {
      window.__posts.push(options.headers['Idempotency-Key']);
      const fail = window.__failNext;
      window.__failNext = null;
      if (fail === 'network') return Promise.reject(new TypeError('Failed to fetch'));
      if (fail === '503') return Promise.resolve(new Response(JSON.stringify({detail: {
        code: 'broker_unavailable', message: 'busy', message_zh: '繁忙'}}), {status: 503}));
    }
    return realFetch.apply(this, arguments);
  };
}
"""


def fill_report(browser: Browser, title: str) -> None:
    browser.wait("return document.querySelectorAll('#subject_unit option').length > 30")
    browser.type("#title", title)
    browser.type("#description", "窗口工作人员多次以材料不全为由推诿，未一次性告知所需材料。")
    browser.js("const pick = (id, v) => { const s = document.getElementById(id); s.value = v;"
               "s.dispatchEvent(new Event('change', {bubbles: true})); };"
               "pick('kind', 'slowness'); pick('category', 'c5_government_services');"
               "pick('subject_unit', 'org_gd_administrative_approval');")
    browser.type("#place", "县政务服务中心二楼")


@pytest.mark.browser
def test_a_reporter_files_once_despite_a_lost_connection_and_follows_by_receipt(stack):
    with browser_session("zh-CN") as browser:
        browser.open(stack.base_url + "/")
        fill_report(browser, "审批窗口推诿扯皮")
        browser.js(COUNT_POSTS, "network")
        browser.click("#submit")
        assert "网络连接中断" in browser.wait_text("#form-alert")
        assert browser.js("return document.getElementById('title').value") == "审批窗口推诿扯皮"
        browser.js(COUNT_POSTS, "503")
        browser.click("#submit")
        assert "服务暂时繁忙" in browser.wait_text("#form-alert")
        browser.js("const f = document.getElementById('report-form');"
                   "f.requestSubmit(); f.requestSubmit();")
        code = browser.wait_text("#receipt-code")
        posts = browser.js("return window.__posts")
        assert len(posts) == 3 and len(set(posts)) == 1, posts
        assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)
        assert "请妥善保存回执码" in browser.text("#receipt-panel")
        browser.screenshot(SHOTS / "pages-receipt-panel-zh.png")

        browser.click("#follow-link")
        browser.wait("return location.pathname === '/receipt'")
        assert browser.js("return document.getElementById('code').value") == code
        status = browser.wait_text("#follow-result dd")
        assert status in ("已受理", "已登记入台账")
        assert code not in browser.js("return location.href")
        assert_no_url_carried(browser, code)
        browser.screenshot(SHOTS / "pages-follow-zh.png")
        assert browser.console_errors() == []


@pytest.mark.browser
def test_mistakes_are_shown_next_to_their_fields_in_the_readers_language(stack):
    with browser_session("zh-CN") as browser:
        browser.open(stack.base_url + "/")
        browser.wait("return document.querySelectorAll('#kind option').length === 4")
        browser.click("#anonymous")
        browser.click("#submit")
        assert browser.wait_text("#title-error") == "请填写此项。"
        assert "电话或电子邮箱" in browser.text("#reporter-error")
        assert browser.js("return document.activeElement.id") == "title"

        browser.click("#lang-switch")
        assert browser.text("#title-error") == "Please fill this in."
        assert browser.js("return document.documentElement.lang") == "en"
        browser.screenshot(SHOTS / "pages-form-errors-en.png")

        # a rule only the server knows: a unit that is not in the campaign
        browser.click("#anonymous")
        browser.type("#title", "Unknown unit")
        browser.type("#description", "A unit the campaign does not list.")
        browser.js("const s = document.getElementById('subject_unit');"
                   "s.add(new Option('?', 'org_nowhere')); s.value = 'org_nowhere';")
        browser.click("#submit")
        assert "unknown unit" in browser.wait_text("#subject_unit-error")
        browser.click("#lang-switch")
        assert "未知的单位" in browser.text("#subject_unit-error")

        browser.open(stack.base_url + "/receipt")
        browser.wait("return !document.getElementById('follow-form').hidden")
        browser.type("#code", "AAAA-BBBB-CCCC-DDDD")
        browser.click("#follow-submit")
        assert "未找到" in browser.wait_text("#follow-result")
        # an old link with the code still works once, and the code leaves the address bar
        browser.open(stack.base_url + "/receipt?code=WWWW-XXXX-YYYY-ZZZZ")
        assert "未找到" in browser.wait_text("#follow-result")
        assert browser.js("return location.href") == stack.base_url + "/receipt"
        assert browser.js("return document.getElementById('code').value") == "WWWW-XXXX-YYYY-ZZZZ"
        assert browser.js("return document.documentElement.lang") == "zh-CN"
        assert browser.console_errors() == []


LEDGER_PASSWORDS = {"county": "dev-county-2017!", "supervisor-edu": "dev-supervisor-edu-2017!",
                    "handler-school1": "dev-handler-school1-2017!"}


def closed_as_unfounded(stack) -> str:
    """A report on a school, dispatched, found unfounded and closed; returns its receipt."""
    auth = {who: {"Authorization": f"Bearer {stack.token(who, pw)}"}
            for who, pw in LEDGER_PASSWORDS.items()}
    filed = httpx.post(f"{stack.base_url}/api/v1/clues", timeout=10, json={
        "channel": "public_report_platform", "title": "学校违规收取资料费",
        "description": "盐山中学违规收取资料费,家长多次反映", "kind": "misconduct",
        "subject_unit": "org_sch_yanshan_high"}).json()

    def problem_id():
        items = httpx.get(f"{stack.base_url}/api/v1/problems?limit=200", timeout=10,
                          headers=auth["county"]).json()["items"]
        return next((p["id"] for p in items if p["clue_id"] == filed["clue_id"]), None)

    def act(who, pid, action, **body):
        reply = httpx.post(f"{stack.base_url}/api/v1/problems/{pid}/{action}", json=body,
                           headers=auth[who], timeout=30)
        assert reply.status_code == 200, (action, reply.text)

    pid = wait_until(problem_id)
    act("county", pid, "dispatch", respond_days=3)
    act("handler-school1", pid, "report_unfounded", findings="经查,未收取任何资料费",
        evidence=[{"description": "财务收费台账"}])
    act("supervisor-edu", pid, "accept_unfounded")
    wait_until(lambda: httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                                  json={"receipt_code": filed["receipt_code"]})
               .json().get("may_dispute"))
    return filed["receipt_code"]


def assert_no_url_carried(browser: Browser, code: str) -> None:
    """Neither the page's address nor any request it made holds the receipt code (they
    land in server logs and browser history)."""
    urls = browser.js("return [location.href].concat(performance.getEntriesByType("
                      "'resource').map(function (e) { return e.name; }))")
    assert any("/api/v1/receipts/" in u for u in urls), urls
    plain = code.replace("-", "").upper()
    assert not [u for u in urls if plain in u.replace("-", "").upper()], urls


@pytest.mark.browser
def test_a_reporter_sees_the_outcome_and_disputes_an_unfounded_closure(stack):
    receipt = closed_as_unfounded(stack)
    with browser_session("en-US") as browser:
        browser.open(f"{stack.base_url}/receipt")
        browser.wait("return !document.getElementById('follow-form').hidden")
        browser.type("#code", receipt.lower())
        browser.click("#follow-submit")
        assert browser.wait_text("#follow-result dd") == "Closed"
        assert "Found unfounded" in browser.text("#follow-result")
        browser.click("#lang-switch")
        assert "经核查不属实" in browser.wait_text("#follow-result")
        assert browser.wait_text("#dispute-heading") == "对办理结果有异议？"
        browser.screenshot(SHOTS / "pages-follow-closed-zh.png")
        browser.click("#dispute-submit")
        assert browser.wait_text("#reason-error") == "请填写此项。"
        browser.type("#reason", "我有收费收据，问题确实存在")
        browser.click("#dispute-submit")
        assert "异议已受理" in browser.wait_text("#dispute-result")
        browser.wait("return document.querySelector('#follow-result dd').innerText"
                     " === '已登记入台账'")
        assert_no_url_carried(browser, receipt)
        assert browser.console_errors() == []
