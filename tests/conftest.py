from __future__ import annotations

import pytest

from tests.support.infra import Databases, broker_vhost, postgres_server


@pytest.fixture(scope="session")
def amqp_uri():
    """A vhost of this test run's own on the real RabbitMQ."""
    with broker_vhost() as uri:
        yield uri


@pytest.fixture(scope="session")
def pg_databases():
    with postgres_server() as server:
        dbs = Databases(server)
        try:
            yield dbs
        finally:
            dbs.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path):
    """Makes empty stores on one backend; the same tests run on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return lambda label: f"sqlite:///{tmp_path / (label + '.db')}"
    return request.getfixturevalue("pg_databases").create


@pytest.fixture
def database_url(new_database):
    return new_database("store")
