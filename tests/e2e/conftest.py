from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """The real processes on SQLite stores, started as ``make run`` starts them."""
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"))
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
