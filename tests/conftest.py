from __future__ import annotations

import pytest

try:  # pytest >= 9.2
    from _pytest.nodeid import NodeId
except ImportError:  # older pytest: xdist's own suffix works
    NodeId = None

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


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the marks into node ids
def pytest_collection_modifyitems(config, items):
    """For pytest-xdist's ``--dist loadgroup`` (``make test`` runs two workers): a module's
    tests stay together on one worker (its module-scoped stack starts once), and the modules
    on the session's shared workbench stack run on one worker, in their usual order (they see
    each other's problems in that stack)."""
    grouping = bool(getattr(config.option, "loadgroup", False))
    groups = {}
    for item in items:
        shared = "shared_workbench_stack" in getattr(item, "fixturenames", ())
        group = groups[item] = "shared-workbench" if shared else item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))
        if grouping and NodeId is not None and isinstance(getattr(item, "_id", None), NodeId):
            # pytest 9.2 keeps a node's id in ``_id``; xdist 3.8's worker still writes the
            # group into ``_nodeid``, which pytest no longer reads, so the scheduler never
            # saw a group and split modules between workers. Write the suffix xdist means
            # to write ("<nodeid>@<group>", split from the right by its scheduler).
            item._id = NodeId.parse(f"{item.nodeid}@{group}")
    if grouping:  # the longest groups first (the Makefile passes --no-loadscope-reorder)
        items.sort(key=lambda item: group_rank(groups[item], item))


LONGEST_GROUPS = ("shared-workbench", "tests.e2e.test_accessibility",
                  "tests.e2e.test_backup_restore", "tests.e2e.test_growth", "tests.e2e.test_excel")
"""The groups that took longest (``--durations``, 2026-12-02): seven modules on one stack,
the accessibility crawl (5 minutes), the restore drills, two workers of every service, a
large export. xdist by itself sends the groups with the most tests first, which put the
crawl, one test, last: one worker ran alone for its final minutes."""


def group_rank(group: str, item) -> tuple[int, int]:
    """Longest known groups first, then each module with a stack of its own (e2e), then
    integration, then unit tests (many and short: they fill the gaps at the end). The sort
    is stable, so a group's tests keep their order."""
    if group in LONGEST_GROUPS:
        return (0, LONGEST_GROUPS.index(group))
    kind = item.nodeid.split("/")[1] if item.nodeid.startswith("tests/") else ""
    return (1, {"e2e": 0, "integration": 1}.get(kind, 2))
