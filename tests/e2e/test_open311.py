"""Partner platforms on Open311 GeoReport v2 (issue 12 item 4, partner accounts of item 5)
through the real stack, spoken to by the PyPI client ``georeport`` 0.3.1 (not our code):
the county office creates two partners on the workbench (each key shown once); the client
lists services, reads a service definition and reads back a request, in JSON and in XML; a
request posted form-encoded with a partner's key lands in the ledger on its channel, its
contact sealed like any clue's; a wrong key gets 403; a partner never sees another's
request; a new key stops the old one and a disabled partner's key stops at once.
"""
from __future__ import annotations

import re

import httpx
import pytest
import requests
from georeport import GeoReport

from contracts.events import problem_id_for
from tests.support.workbench import Staff, act, api, wait_until

pytestmark = pytest.mark.e2e

SERVICE = "c7_livelihood_services"
FORM = {"service_code": SERVICE, "description": "县医院医生收红包,多次反映无人处理\n详见附件说明",
        "attribute[kind]": "inaction", "attribute[subject_unit]": "org_sch_yanshan_high",
        "address_string": "盐山县城关镇"}


@pytest.fixture(scope="module")
def stack(shared_workbench_stack):
    return shared_workbench_stack


def create_partner(county: Staff, username: str, name: str, channel: str) -> str:
    """Through the workbench's form; the API key from the page that shows it once."""
    page = county.post("/workbench/partners/new", [
        ("display_name", name), ("username", username), ("channels", channel),
        # loopback http: the development stack allows it (no name resolves here, and a
        # private or unresolvable address is refused, as notify refuses it)
        ("webhook_url", "http://127.0.0.1:9/hook"),
        ("webhook_secret", "a-shared-secret-of-some-length")])
    assert page.status_code == 201, page.text
    return re.search(r'id="api-key">([^<]+)<', page.text).group(1)


@pytest.fixture(scope="module")
def keys(stack) -> dict[str, str]:
    county = Staff(stack, "county")
    return {"conduct": create_partner(county, "partner-a", "作风整顿平台(测试)",
                                      "partner_conduct_platform"),
            "discipline": create_partner(county, "partner-b", "纪委平台(测试)",
                                         "partner_discipline_platform")}


def root(stack) -> str:
    return f"{stack.base_url}/open311/v2"


def client(stack, key: str | None = None, fmt: str = "json") -> GeoReport:
    """georeport sends no key with its GETs; a root address with user info makes requests
    send it as HTTP Basic, which the server takes as the key."""
    base = root(stack) if key is None else root(stack).replace("://", f"://partner:{key}@")
    return GeoReport(base, output_format=fmt)


def post(stack, key: str, fmt: str = "json", **changes) -> requests.Response:
    return requests.post(f"{root(stack)}/requests.{fmt}", data={**FORM, "api_key": key,
                                                                 **changes}, timeout=30)


@pytest.fixture(scope="module")
def posted(stack, keys) -> str:
    """A's request with a real-name reporter, once registered by the ledger; its id."""
    reply = post(stack, keys["conduct"], first_name="小明", last_name="王",
                 phone="13800000000", email="wang@example.org")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["account_id"] is None
    request_id = body[0]["service_request_id"]
    county = api(stack, "county")
    wait_until(lambda: httpx.get(f"{stack.base_url}/api/v1/problems/"
                                 f"{problem_id_for(request_id)}", headers=county,
                                 timeout=10).status_code == 200)
    return request_id


def test_the_services_are_the_campaigns_categories_in_json_and_xml(stack):
    in_json = client(stack).get_service_list()
    in_xml = client(stack, fmt="xml").get_service_list()
    assert len(in_json) == 9 and in_json[6]["service_code"] == SERVICE
    assert in_json[6]["service_name"] == "民生难题消极应付"
    assert [s["service_code"] for s in in_xml] == [s["service_code"] for s in in_json]
    assert in_xml[6]["service_name"] == "民生难题消极应付" and in_xml[6]["metadata"] == "true"


def test_a_service_definition_in_json_and_xml(stack):
    in_json = client(stack).get_service_definition(SERVICE)
    in_xml = client(stack, fmt="xml").get_service_definition(SERVICE)
    assert in_json["service_code"] == in_xml["service_code"] == SERVICE
    kinds = in_json["attributes"][0]
    assert kinds["code"] == "kind" and [v["key"] for v in kinds["values"]] == [
        "inaction", "misconduct", "slowness"]
    xml_kinds = in_xml["attributes"]["attribute"][0]
    assert [v["key"] for v in xml_kinds["values"]["value"]] == ["inaction", "misconduct",
                                                                "slowness"]
    # the open311 client's spelling answers the same
    alias = httpx.get(f"{root(stack)}/service/{SERVICE}.json", timeout=10)
    assert alias.status_code == 200 and alias.json() == in_json


def test_a_posted_request_lands_in_the_ledger_on_the_partners_channel(stack, posted):
    problem = httpx.get(f"{stack.base_url}/api/v1/problems/{problem_id_for(posted)}",
                        headers=api(stack, "county"), timeout=10).json()
    assert (problem["clue_id"], problem["channel"], problem["category"], problem["kind"]) == (
        posted, "partner_conduct_platform", SERVICE, "inaction")
    assert problem["title"] == "县医院医生收红包,多次反映无人处理"
    # the reporter's contact went sealed to intake, where only the custodian opens it
    opened = httpx.post(f"{stack.base_url}/api/v1/clues/{posted}/contact", timeout=30,
                        headers=api(stack, "custodian"), json={"reason": "核实举报人身份"})
    assert opened.status_code == 200, opened.text
    assert opened.json()["contact"] == {"name": "王小明", "phone": "13800000000",
                                        "email": "wang@example.org"}


def test_the_partner_reads_its_request_back_in_json_and_xml(stack, keys, posted):
    in_json = client(stack, keys["conduct"]).get_service_request(posted)
    in_xml = client(stack, keys["conduct"], "xml").get_service_request(posted)
    for found in (in_json, in_xml):
        assert found["service_request_id"] == posted and found["status"] == "open"
        assert found["status_notes"].startswith("已登记 · registered")
        assert found["service_code"] == SERVICE and found["agency_responsible"] == "盐山中学"
    listed = client(stack, keys["conduct"]).get_service_requests(status="open")
    assert posted in [r["service_request_id"] for r in listed]
    # the ledger's next step shows at once
    act(stack, "county", problem_id_for(posted), "dispatch", respond_days=5)
    again = client(stack, keys["conduct"]).get_service_request(posted)
    assert (again["status"], again["detailed_status"]) == ("open", "dispatched")
    assert again["status_notes"].startswith("已交办")
    assert client(stack, keys["conduct"]).get_service_requests(status="closed") == []


def test_a_wrong_or_missing_key_gets_403_in_open311s_shape(stack, keys):
    wrong = post(stack, "p311_" + "x" * 43)
    assert wrong.status_code == 403
    assert wrong.json()[0]["code"] == 403 and "api_key" in wrong.json()[0]["description"]
    in_xml = post(stack, "not-a-key", fmt="xml")
    assert in_xml.status_code == 403 and "<errors><error><code>403</code>" in in_xml.text
    with pytest.raises(requests.HTTPError) as caught:
        client(stack).get_service_requests()
    assert caught.value.response.status_code == 403
    with pytest.raises(requests.HTTPError) as caught:
        key = keys["conduct"]  # its last character changed (it is "A" once in 16 keys)
        client(stack, key[:-1] + ("B" if key.endswith("A") else "A")).get_service_requests()
    assert caught.value.response.status_code == 403


def test_a_partner_never_sees_another_partners_request(stack, keys, posted):
    other = client(stack, keys["discipline"])
    with pytest.raises(requests.HTTPError) as caught:
        other.get_service_request(posted)
    assert caught.value.response.status_code == 404
    assert posted not in [r["service_request_id"] for r in other.get_service_requests()]
    assert other.get_service_requests(service_request_id=posted) == []


def test_bad_input_is_a_400_and_changes_nothing(stack, keys):
    for changes, says in (({"service_code": "nope"}, "service_code"),
                          ({"description": ""}, "description"),
                          ({"attribute[kind]": "lazy"}, "kind")):
        reply = post(stack, keys["conduct"], **changes)
        assert reply.status_code == 400, reply.text
        assert says in reply.json()[0]["description"]
    span = httpx.get(f"{root(stack)}/requests.json", timeout=10, params={
        "api_key": keys["conduct"], "start_date": "2017-01-01T00:00:00Z",
        "end_date": "2017-06-01T00:00:00Z"})
    assert span.status_code == 400 and "90" in span.json()[0]["description"]
    assert httpx.get(f"{root(stack)}/services.json", params={"jurisdiction_id": ""},
                     timeout=10).status_code == 200
    assert httpx.get(f"{root(stack)}/services.json", params={"jurisdiction_id": "elsewhere"},
                     timeout=10).status_code == 404


def test_a_new_key_stops_the_old_one_and_disabling_stops_the_partner(stack, keys, posted):
    county = Staff(stack, "county")
    page = county.get("/workbench/partners/partner-a")
    assert page.status_code == 200 and keys["conduct"] not in page.text  # shown once only
    rotated = county.post("/workbench/partners/partner-a/rotate", {})
    new_key = re.search(r'id="api-key">([^<]+)<', rotated.text).group(1)
    assert post(stack, keys["conduct"]).status_code == 403
    assert client(stack, new_key).get_service_request(posted)["service_request_id"] == posted
    keys["conduct"] = new_key
    assert county.post("/workbench/partners/partner-b/disable", {}).status_code == 303
    assert post(stack, keys["discipline"]).status_code == 403
    assert county.post("/workbench/partners/partner-b/enable", {}).status_code == 303
    assert post(stack, keys["discipline"]).status_code == 200


def test_only_the_county_office_manages_partners(stack):
    assert Staff(stack, "supervisor-edu").get("/workbench/partners").status_code == 403
    listed = Staff(stack, "county").get("/workbench/partners")
    assert listed.status_code == 200 and "partner-conduct" in listed.text


@pytest.mark.browser
def test_the_partner_pages_pass_axe(stack, keys):
    """The crawl of tests/e2e/test_accessibility.py reaches these pages too; here each is
    checked by itself, the forms with their errors and the page showing a key included."""
    from axe_selenium_python import Axe

    from tests.e2e.test_accessibility import check, sign_in
    from tests.support.browser import browser_session

    base, found = stack.base_url, []
    with browser_session("zh-CN") as browser:
        axe = Axe(browser)
        sign_in(browser, base, "county")
        for path in ("/workbench/partners", "/workbench/partners/new",
                     "/workbench/partners/partner-a", "/workbench/partners/partner-a/rotate",
                     "/workbench/partners/partner-b/disable"):
            browser.open(base + path)
            browser.wait_text("h1")
            found += check(browser, axe, path, "partner" + path.replace("/", "-"))
        browser.open(base + "/workbench/partners/new")
        browser.click("#submit")  # nothing filled in: the form with its error summary
        browser.wait_text("#error-summary")
        found += check(browser, axe, "/workbench/partners/new (errors)", "partner-new-errors")
        browser.open(base + "/workbench/partners/partner-a/rotate")
        browser.click("#confirm")
        browser.wait_text("#api-key")
        found += check(browser, axe, "the key page", "partner-key")
        keys["conduct"] = browser.text("#api-key")
    assert not found, "\n".join(found)
