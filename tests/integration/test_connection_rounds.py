"""Round trips a pooled PostgreSQL connection and the outbox relay spend (kit.db, kit.relay),
against the real server: a rested connection is tested before use and replaced when it
died; a connection just returned is used as it is; the relay reads and deletes outside a
transaction of its own."""
from __future__ import annotations

import time

import pytest
from kombu import Connection
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

from contracts.topology import declare_all
from kit.db import make_engine
from kit.relay import BatchPublisher, relay_once, relay_sessions
from kit.store import Outbox
from services.intake.adapters import orm as intake_orm
from tests.integration.test_broker_traps import an_event
from tests.support.infra import broker_vhost

pytestmark = pytest.mark.integration


def counting_pings(engine) -> list:
    """Every ping the engine's dialect runs, counted (the dialect is the engine's own)."""
    pings, ping = [], engine.dialect.do_ping

    def counted(dbapi_conn):
        pings.append(1)
        return ping(dbapi_conn)

    engine.dialect.do_ping = counted
    return pings


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def terminate(engine, pid: int) -> None:
    with engine.connect() as conn:  # a second connection of the pool kills the first
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()


def test_a_rested_connection_that_died_is_replaced_before_use(pg_databases):
    engine = make_engine(pg_databases.create("rested"), pool_size=1, ping_after_idle=0.2)
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        pings = counting_pings(engine)
        first = backend_pid(engine)
        terminate(other, first)
        time.sleep(0.3)  # longer than ping_after_idle

        assert backend_pid(engine) != first  # no error: the test found it dead
        assert len(pings) == 1
    finally:
        engine.dispose()
        other.dispose()


def test_a_connection_returned_a_moment_ago_is_not_tested(pg_databases):
    engine = make_engine(pg_databases.create("hot"), pool_size=1, ping_after_idle=60)
    try:
        pings = counting_pings(engine)
        pids = {backend_pid(engine) for _ in range(20)}

        assert len(pids) == 1 and pings == []
    finally:
        engine.dispose()


def test_a_connection_that_died_while_hot_fails_once_and_the_pool_recovers(pg_databases):
    """What skipping the test costs: the statement after a server-side death fails as a
    disconnect (consumers hold their batch and try again), and the next one works."""
    engine = make_engine(pg_databases.create("died"), pool_size=1, ping_after_idle=60)
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        first = backend_pid(engine)
        terminate(other, first)
        with pytest.raises(Exception) as failed:
            backend_pid(engine)
        assert getattr(failed.value, "connection_invalidated", False)
        assert backend_pid(engine) != first
    finally:
        engine.dispose()
        other.dispose()


def test_the_relay_reads_and_deletes_outside_a_transaction_on_postgresql(pg_databases):
    from kit.migrate import upgrade
    from tests.integration.test_stores import ROOT

    url = pg_databases.create("relay")
    upgrade(ROOT / "services" / "intake", url)
    engine = make_engine(url)
    outbox = Outbox(intake_orm.outbox_table)
    with sessionmaker(engine)() as session:
        outbox.add(session, an_event())
        session.commit()
    statements = []
    sessions = relay_sessions(engine)
    relay_engine = sessions.kw["bind"]
    assert relay_engine is not engine  # a connection of its own, never switched back

    @event.listens_for(relay_engine, "before_cursor_execute")
    def _seen(conn, _cursor, statement, _params, _context, _many):
        statements.append((statement.split()[0], conn.connection.dbapi_connection.autocommit))

    with broker_vhost() as amqp_uri:
        with Connection(amqp_uri) as conn:
            declare_all(conn.default_channel)
        publisher = BatchPublisher(amqp_uri)
        try:
            relayed = relay_once(sessions, outbox, publisher)
        finally:
            publisher.close()
    try:
        assert relayed == 1
        assert statements == [("SELECT", True), ("DELETE", True)]
        with sessionmaker(engine)() as session:
            assert outbox.count(session) == 0
        with engine.connect() as conn:  # the service's own connections keep transactions
            assert conn.connection.dbapi_connection.autocommit is False
    finally:
        relay_engine.dispose()
        engine.dispose()
