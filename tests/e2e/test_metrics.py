"""Metrics on the running platform: every process serves its own /metrics, two ledger
processes add up, the hooks in kit/ count what flows, every metric name the dashboards and
the alert rules use is in a real scrape, and ``python -m infra.progress`` renders the
campaign's figures for a person (screenshots kept as artifacts)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import amqp
import httpx
import promql_parser
import pytest
import yaml
from kombu import Connection

from infra.progress import samples_of
from tests.support.browser import DESKTOP, PHONE, SHOTS, browser_session, wait_until
from tests.support.infra import broker_vhost
from tests.support.stack import ROOT, SERVICES, Stack

pytestmark = pytest.mark.e2e

CLUES = 6
CLUE = {"channel": "public_report_platform", "title": "审批窗口推诿扯皮",
        "description": "行政审批局窗口多次推诿,未履行一次性告知义务",
        "subject_unit": "org_gd_administrative_approval",
        "category": "c5_government_services", "kind": "slowness"}
CLUE_QUEUE = "evt-intake-clue_accepted--ledger.on_clue_accepted"
SUBMIT_QUEUE = "evt-gateway-clue_submitted--intake.on_clue_submitted"
PROMETHEUS_OWN = {"up"}  # series Prometheus adds per target, not served by a process


def value(samples, name: str, **labels) -> float:
    """Sum of ``name``'s series whose labels include ``labels``."""
    return sum(v for series, v in samples.get(name, {}).items()
               if labels.items() <= dict(series).items())


class Platform:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.token = stack.token("ops", "dev-ops-2017!")

    def url(self, label: str) -> str:
        if label == "gateway":
            return f"{self.stack.base_url}/metrics"
        return f"http://127.0.0.1:{self.stack.metrics_ports[label]}/metrics"

    def scrape(self, label: str) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if label == "gateway" else {}
        reply = httpx.get(self.url(label), headers=headers, timeout=10)
        assert reply.status_code == 200, reply.text
        return samples_of(reply.text)

    def labels(self) -> list[str]:
        return [*self.stack.metrics_ports, "gateway"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with broker_vhost() as uri:
        stack = Stack(amqp_uri=uri, data_dir=tmp_path_factory.mktemp("metrics"), metrics=True)
        try:
            stack.start_all(timeout=180)  # generous: a shared, busy machine starts slowly
            stack.start("ledger", label="ledger-2")  # a second worker process of the ledger
            running = Platform(stack)
            wait_until(lambda: _answers(running, "ledger-2"), timeout=60)
            wait_until(lambda: value(running.scrape("ledger"), "queue_consumers",
                                     queue=CLUE_QUEUE) == 2, timeout=30)
            _flow(running, uri)
            yield running
        finally:
            stack.stop_all()


def _answers(platform: Platform, label: str) -> bool:
    try:
        return bool(platform.scrape(label))
    except (httpx.HTTPError, AssertionError):
        return False


def _flow(platform: Platform, uri: str) -> None:
    """A few clues through the gateway, a refused call, a poison message; then wait until
    the clues are registered and the poison is in the dead letters."""
    base = platform.stack.base_url
    for i in range(CLUES):
        reply = httpx.post(f"{base}/api/v1/clues", json={**CLUE, "title": f"{CLUE['title']} {i}"},
                           timeout=10)
        assert reply.status_code == 202, reply.text
    county = platform.stack.token("county", "dev-county-2017!")
    missing = httpx.get(f"{base}/api/v1/problems/no-such-problem", timeout=10,
                        headers={"Authorization": f"Bearer {county}"})
    assert missing.status_code == 404, missing.text
    with Connection(uri, connect_timeout=5) as conn:
        conn.default_channel.basic_publish(
            amqp.Message(b"{not json", content_type="application/json", delivery_mode=2),
            exchange="", routing_key=SUBMIT_QUEUE)
    wait_until(lambda: value(platform.scrape("ledger"), "ledger_problems") == CLUES, 60)
    wait_until(lambda: value(platform.scrape("intake"), "messages_dead_lettered_total",
                             queue=SUBMIT_QUEUE) == 1, 30)


def test_every_service_process_serves_its_own_metrics_port(platform):
    ports = platform.stack.metrics_ports
    assert set(ports) == {*SERVICES, "ledger-2"}
    assert len(set(ports.values())) == len(ports)
    for label in ports:
        assert value(platform.scrape(label), "outbox_backlog") >= 0


def test_two_ledger_processes_add_up_to_every_clue_once(platform):
    ledgers = [platform.scrape("ledger"), platform.scrape("ledger-2")]
    consumed = sum(value(s, "messages_consumed_total", queue=CLUE_QUEUE) for s in ledgers)
    assert consumed == CLUES
    for scrape in ledgers:  # read from the store: the same in each process, not to be summed
        assert value(scrape, "ledger_problems", state="registered") == CLUES
        assert value(scrape, "ledger_problems_open_by_light") == CLUES
    assert value(platform.scrape("gateway"), "clues_accepted_total") == CLUES
    intake = platform.scrape("intake")
    assert value(intake, "messages_published_total", event_type="clue_accepted") == CLUES
    assert value(intake, "messages_consumed_total", queue=SUBMIT_QUEUE) == CLUES


def test_rpc_calls_are_counted_by_method_and_outcome(platform):
    ledgers = [platform.scrape("ledger"), platform.scrape("ledger-2")]
    refused = sum(value(s, "rpc_request_seconds_count", service="ledger",
                        method="get_problem", outcome="refused") for s in ledgers)
    assert refused == 1
    assert sum(value(s, "rpc_request_seconds_count", method="health", outcome="ok")
               for s in ledgers) >= 1


def test_poison_is_counted_and_waits_in_the_dead_letters(platform):
    intake = platform.scrape("intake")
    assert value(intake, "messages_dead_lettered_total", queue=SUBMIT_QUEUE) == 1
    assert value(intake, "queue_messages_ready", queue="dead-letters") == 1


def test_the_outboxes_drain(platform):
    def drained():
        return all(value(platform.scrape(s), "outbox_backlog") == 0
                   and value(platform.scrape(s), "outbox_oldest_age_seconds") == 0
                   for s in SERVICES)
    wait_until(drained, 30)


def queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard panel target and every alert rule."""
    found = []
    for path in sorted((ROOT / "infra/grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            found += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel["targets"]]
    rules = yaml.safe_load((ROOT / "infra/prometheus/rules.yml").read_text())
    found += [(f"rules.yml: {r['alert']}", r["expr"]) for g in rules["groups"]
              for r in g["rules"]]
    return found


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)
    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def test_every_metric_name_in_the_dashboards_and_rules_is_in_a_scrape(platform):
    scraped = set(PROMETHEUS_OWN)
    for label in platform.labels():
        scraped |= set(platform.scrape(label))
    used = queries()
    assert len(used) >= 25
    missing = {(where, name) for where, expr in used for name in metric_names(expr)
               if name not in scraped}
    assert not missing, f"no process serves these: {sorted(missing)}"
    assert metric_names("sum(rate(no_such_metric_total[5m])) / up") == {"no_such_metric_total",
                                                                        "up"}


def test_the_progress_command_renders_the_campaign_figures(platform, tmp_path):
    token = tmp_path / "ops-token"
    token.write_text(platform.token)
    page = tmp_path / "progress.html"
    urls = [platform.url(label) for label in platform.labels()]
    done = subprocess.run([sys.executable, "-m", "infra.progress", *urls, "--html", str(page),
                           "--bearer-token-file", str(token)], cwd=ROOT, env=platform.stack.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"Clues accepted 受理线索: {CLUES}" in done.stdout
    assert f"Problems in the ledger 台账问题: {CLUES}" in done.stdout
    assert f"registered  已登记   {CLUES}" in done.stdout
    with browser_session() as browser:
        browser.open(page.as_uri())
        assert browser.text("#problems") == str(CLUES)
        assert browser.text("#clues") == str(CLUES)
        assert "绿灯" in browser.text("body")
        for width, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
            browser.resize(width)
            shot = Path(SHOTS) / f"ops-campaign-progress-{label}.png"
            browser.screenshot(shot)
            assert shot.stat().st_size > 10_000
