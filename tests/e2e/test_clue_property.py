"""Whatever the gateway accepts, every store keeps (issue 8, hole 2), as a property on the
PostgreSQL stack: generated clue bodies (any character, control characters, NUL and lone
surrogates included) get a 202 or a 4xx, never a 5xx, and every 202 is registered: its
receipt, followed up, shows 已登记入台账.

Bounded to run in well under a minute: a modest number of examples, no deadline (a
registration takes tens of milliseconds through four services)."""
from __future__ import annotations

import json
import time
from datetime import date, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.support.infra import broker_vhost
from tests.support.stack import SERVICES, Stack

pytestmark = pytest.mark.e2e

EXAMPLES = 40


@pytest.fixture(scope="module")
def pg_stack(pg_databases, tmp_path_factory):
    with broker_vhost() as amqp:
        urls = {name: pg_databases.create(name) for name in (*SERVICES, "gateway")}
        running = Stack(amqp_uri=amqp, data_dir=tmp_path_factory.mktemp("pg-stack"),
                        database_urls=urls)
        try:
            running.start_all()
            yield running
        finally:
            running.stop_all()


WILD = st.characters(codec=None, categories=None)  # NUL, controls, lone surrogates too
TAME = st.characters(categories=("L", "M", "N", "P", "S", "Zs"), include_characters="\n\t")


def text(max_size: int, min_size: int = 0):
    """Mostly text a person types (any script, emoji, marks); one time in four, anything."""
    return st.integers(0, 3).flatmap(lambda n: st.text(
        WILD if n == 0 else TAME, min_size=min_size, max_size=max_size))


@st.composite
def clue_bodies(draw) -> dict:
    body = {
        "channel": draw(st.sampled_from(["public_report_platform"] * 8 + ["letter", ""])),
        "title": draw(text(60, min_size=2)),
        "description": draw(text(300, min_size=5)),
    }
    for field, values in (("subject_unit", st.sampled_from(["org_sch_yanshan_high",
                                                            "org_gd_public_security"])),
                          ("category", st.sampled_from(["c5_government_services"])),
                          ("kind", st.sampled_from(["slowness", "inaction"])),
                          ("place", text(60))):
        if draw(st.booleans()):
            body[field] = draw(values if draw(st.integers(0, 5)) else text(8))
    if draw(st.booleans()):
        body["occurred_on"] = draw(st.dates(date(1, 1, 1), date.today() + timedelta(days=3))
                                   ).isoformat()
    if draw(st.integers(0, 3)) == 0:
        body["anonymous"] = False
        body["reporter"] = {"name": draw(text(12)), "phone": "13800000000"}
    return body


def post(stack: Stack, body: dict) -> httpx.Response:
    raw = json.dumps(body, ensure_ascii=True).encode()  # a lone surrogate as its \\u escape
    return httpx.post(f"{stack.base_url}/api/v1/clues", content=raw, timeout=30,
                      headers={"content-type": "application/json"})


def registered(stack: Stack, receipt: str, deadline: float) -> bool:
    while True:
        seen = httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                          json={"receipt_code": receipt})
        if seen.status_code == 200 and seen.json()["status"] == "registered":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_every_clue_the_gateway_accepts_on_postgresql_is_registered(pg_stack):
    accepted: list[tuple[dict, str]] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(body=clue_bodies())
    @example(body={"channel": "public_report_platform", "title": "审批\u0000窗口",
                   "description": "窗口工作人员多次推诿"})
    @example(body={"channel": "public_report_platform", "title": "审批\ud800窗口",
                   "description": "窗口工作人员多次推诿"})
    @example(body={"channel": "public_report_platform", "title": "审批窗口",
                   "description": "第一次:\n推诿\t😀", "place": "二楼\u200b东"})
    def submitted(body):
        reply = post(pg_stack, body)
        assert reply.status_code in (202, 422), reply.text  # never a 5xx
        event(f"status {reply.status_code}")
        if reply.status_code == 202:
            accepted.append((body, reply.json()["receipt_code"]))

    submitted()
    assert len(accepted) >= 3
    deadline = time.monotonic() + 60  # all of them registered by then, one wait for all
    lost = [body for body, receipt in accepted if not registered(pg_stack, receipt, deadline)]
    assert lost == [], (lost, pg_stack.tail("intake"), pg_stack.tail("ledger"))
