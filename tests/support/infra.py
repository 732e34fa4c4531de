"""Test infrastructure: a broker vhost and PostgreSQL databases of the test run's own.

The broker and PostgreSQL come from AMQP_URI / TEST_POSTGRES_URL when given, else the
machine's defaults at 127.0.0.1; where neither answers and Docker is present,
testcontainers starts them. Each test run gets a vhost of its own, so a ``make run`` on
the same broker never sees the tests' messages (and the other way round).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from contextlib import contextmanager
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def with_vhost(amqp_uri: str, vhost: str) -> str:
    parts = urlsplit(amqp_uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def broker_vhost():
    """Yield an AMQP URI on a fresh vhost; delete the vhost afterwards."""
    base = os.environ.get("AMQP_URI", DEFAULT_AMQP)
    if not answers(base, 5672):
        with _container_broker() as uri:
            yield uri
        return
    if shutil.which("rabbitmqctl") is None:
        raise RuntimeError("the tests need rabbitmqctl to make a vhost of their own on "
                           f"{urlsplit(base).hostname}")
    vhost = f"test-{uuid.uuid4().hex[:10]}"
    user = urlsplit(base).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield with_vhost(base, vhost)
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def _container_broker():
    if shutil.which("docker") is None:
        raise RuntimeError("no RabbitMQ answers at AMQP_URI and Docker is not available")
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13") as rabbit:
        uri = (f"amqp://guest:guest@{rabbit.get_container_host_ip()}:"
               f"{rabbit.get_exposed_port(5672)}/")
        _containers[uri] = rabbit
        try:
            yield uri
        finally:
            _containers.pop(uri, None)


_containers: dict = {}


def drop_broker_connections(amqp_uri: str) -> None:
    """Make the broker close every client connection of ``amqp_uri``'s vhost at once, as
    a broker restart does: each client must notice, reconnect and carry on."""
    command = ["rabbitmqctl", "-q", "close_all_connections", "--vhost",
               unquote(urlsplit(amqp_uri).path[1:]) or "/", "fault test: broker drops us"]
    container = _containers.get(amqp_uri)
    if container is not None:
        code, output = container.exec(command)
        if code != 0:
            raise RuntimeError(f"rabbitmqctl in the container: {output!r}")
        return
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextmanager
def postgres_server():
    base = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)
    if answers(base.replace("postgresql+psycopg2", "postgresql"), 5432):
        yield base
        return
    if shutil.which("docker") is None:
        raise RuntimeError("no PostgreSQL answers at TEST_POSTGRES_URL and Docker is not "
                           "available")
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16") as pg:
        yield pg.get_connection_url()


class Databases:
    """Creates throw-away databases on one PostgreSQL server and drops them at the end."""

    def __init__(self, server_url: str):
        from sqlalchemy import create_engine

        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, label: str) -> str:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = f"acct_test_{uuid.uuid4().hex[:8]}_{label}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(
            hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()
