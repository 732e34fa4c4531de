"""The fault suite's one stack: its own RabbitMQ node and PostgreSQL server (which the tests
kill and freeze), a database per service, the ledger reaching both through cuttable proxies.

Every fault runs against this one stack, in the order of ``test_faults.py``; each leaves it
recovered (the next fault's flow starts only once ``/readyz`` answers 200). The report table
is printed at the end of the run.
"""
from __future__ import annotations

import pytest

from kit.settings import SERVICES
from tests.support.flow import Effects, Row, report_table
from tests.support.infra import Databases
from tests.support.owned_servers import OwnedPostgres, OwnedRabbit
from tests.support.stack import Stack
from tests.support.tcp_proxy import CutProxy

REPORT: list[Row] = []


class FaultStack:
    """The stack and the things a fault needs a hand on."""

    def __init__(self, stack: Stack, rabbit: OwnedRabbit, postgres: OwnedPostgres,
                 effects: Effects, amqp_proxy: CutProxy, db_proxy: CutProxy,
                 database_urls: dict[str, str]):
        self.stack, self.rabbit, self.postgres, self.effects = stack, rabbit, postgres, effects
        self.amqp_proxy, self.db_proxy = amqp_proxy, db_proxy
        self.database_urls = database_urls


def _through(url: str, old_port: int, new_port: int) -> str:
    return url.replace(f"127.0.0.1:{old_port}", f"127.0.0.1:{new_port}")


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory):
    rabbit, postgres = OwnedRabbit(), OwnedPostgres()
    dbs = stack = effects = None
    try:
        rabbit.first_start()
        postgres.start()
        dbs = Databases(postgres.url)
        urls = {name: dbs.create(name) for name in (*SERVICES, "gateway")}
        with CutProxy(rabbit.port) as amqp_proxy, CutProxy(postgres.port) as db_proxy:
            ledger_env = {"AMQP_URI": _through(rabbit.uri, rabbit.port, amqp_proxy.port),
                          "LEDGER_DATABASE_URL": _through(urls["ledger"], postgres.port,
                                                          db_proxy.port)}
            stack = Stack(amqp_uri=rabbit.uri, data_dir=tmp_path_factory.mktemp("faults"),
                          database_urls=urls, process_env={"ledger": ledger_env},
                          # recovery is measured, not a surge: the services get equal CPU
                          extra_env={"SERVICE_NICE": "0"})
            stack.start_all(timeout=180)
            effects = Effects({name: urls[name] for name in SERVICES})
            yield FaultStack(stack, rabbit, postgres, effects, amqp_proxy, db_proxy, urls)
    finally:
        if stack is not None:
            stack.stop_all(timeout=10)
        if effects is not None:
            effects.dispose()
        if dbs is not None:
            dbs.admin.dispose()
        postgres.stop()
        rabbit.stop()


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("fault report")
        terminalreporter.write_line(report_table(REPORT))
        for row in REPORT:
            if row.duplicated:
                terminalreporter.write_line(f"{row.fault}: doubled {row.doubled}")
