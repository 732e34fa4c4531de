"""The metrics' own rules, without a process: duplicates skipped are counted under the
handler's inbox name; the progress command sums counters over processes and takes the
largest of a gauge every process of a service reads from the same store; its page escapes
what it shows."""
from __future__ import annotations

from prometheus_client import REGISTRY

from infra.progress import combine, html, progress, samples_of, text
from kit.nameko_ext import StoreAccess
from kit.uow import UnitOfWork, consumer_name
from tests.unit.test_consumer_names import Outbox, RecordingInbox, Session, consume

LEDGER_1 = """
# TYPE messages_consumed_total counter
messages_consumed_total{queue="q"} 4.0
# TYPE ledger_problems gauge
ledger_problems{state="registered"} 6.0
ledger_problems{state="closed"} 1.0
# TYPE ledger_problems_overdue gauge
ledger_problems_overdue{supervisor="org_education_bureau"} 2.0
# TYPE ledger_problems_open_by_light gauge
ledger_problems_open_by_light{light="red"} 2.0
ledger_problems_open_by_light{light="green"} 4.0
"""
LEDGER_2 = LEDGER_1.replace("} 4.0", "} 3.0", 1).replace('"registered"} 6.0',
                                                        '"registered"} 5.0')
GATEWAY = """
# TYPE clues_accepted_total counter
clues_accepted_total 7.0
# TYPE notify_deliveries_total counter
notify_deliveries_total{channel="email",outcome="sent"} 2.0
"""


def counted(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_duplicate_is_counted_under_the_handlers_inbox_name():
    name = consumer_name("ledger", "on_metrics_test")
    before = counted("inbox_duplicates_skipped_total", consumer=name)
    inbox, applied = RecordingInbox(applied_before={"m2", "m3"}), []
    access = StoreAccess(lambda: UnitOfWork(Session, Outbox(), inbox), name)
    access.each([{"event_id": i} for i in ("m1", "m2", "m3")],
                lambda uow, body: consume(uow, body["event_id"], applied))
    assert [m for _, m in applied] == ["m1"]
    assert counted("inbox_duplicates_skipped_total", consumer=name) == before + 2


def test_counters_add_up_over_processes_and_store_gauges_do_not():
    combined = combine([samples_of(LEDGER_1), samples_of(LEDGER_2), samples_of(GATEWAY)])
    assert combined["messages_consumed_total"][(("queue", "q"),)] == 7
    figures = progress(combined)
    assert figures.problems == {"registered": 6, "closed": 1}
    assert figures.total_problems == 7 and figures.clues_accepted == 7
    assert figures.lights == {"red": 2, "green": 4}
    assert figures.overdue == {"org_education_bureau": 2}
    assert figures.deliveries == {("email", "sent"): 2}


def test_the_figures_read_as_text_and_as_a_page():
    figures = progress(combine([samples_of(LEDGER_1)]))
    names = {"org_education_bureau": "县教育局<script>"}
    shown = text(figures, names)
    assert "Problems in the ledger 台账问题: 7" in shown
    assert "县教育局<script> (org_education_bureau): 2" in shown
    page = html(figures, names, sources=1)
    assert "<script>" not in page and "县教育局&lt;script&gt;" in page
    assert 'id="problems">7<' in page and "红灯 red" in page


def test_make_run_gives_each_process_a_metrics_port_of_its_own():
    from infra.run import metrics_env

    ports = [metrics_env({}, name, n)["METRICS_PORT"]
             for name in ("intake", "ledger", "notify", "audit") for n in (1, 2)]
    assert ports == ["9101", "9102", "9201", "9202", "9301", "9302", "9401", "9402"]
    assert metrics_env({"METRICS_PORT": "9500"}, "ledger", 3)["METRICS_PORT"] == "9602"
    assert metrics_env({"METRICS_PORT": "0"}, "ledger", 1)["METRICS_PORT"] == "0"
