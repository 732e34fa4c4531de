from __future__ import annotations

import pytest

from tests.support.infra import broker_vhost
from tests.support.stack import Stack
from tests.support.workbench import workbench_stack


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """The real processes on SQLite stores, started as ``make run`` starts them."""
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"))
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def shared_workbench_stack(tmp_path_factory):
    """One stack for the workbench's modules (``workbench_stack``'s settings), started once
    per run: starting and stopping five processes costs about fifteen seconds a module. A
    module that needs a store of its own (tampering, counting everything, a moved clock, other
    settings) starts its own stack instead. Its own vhost: it runs beside the other modules'
    stacks, which must not consume its messages (nor it theirs)."""
    with broker_vhost() as uri:
        yield from workbench_stack(uri, tmp_path_factory)
