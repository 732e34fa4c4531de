"""Nothing accepted is lost or counted twice when a service is SIGKILLed mid-flow, or
when the broker drops every connection (as it does when it restarts).

1,000 clues are submitted through the gateway while one service is killed and started
again, or while the broker closes all connections twice; the client retries what was not answered 202, with the same Idempotency-Key, as
a real client would. Every accepted clue must then be registered exactly once, and every
downstream effect (reporter status, notification, audit observation) exist exactly once.
"""
from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid

import httpx
import pytest
from kombu import Connection

from contracts.topology import DEAD_LETTER_QUEUE
from tests.support.infra import broker_vhost, drop_broker_connections
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CLUES = 1000
CONCURRENCY = 16


@pytest.fixture
def amqp_uri():
    """A vhost of each fault's own: what one fault leaves in the queues (a backlog, a dead
    letter) must not reach the next test's stack."""
    with broker_vhost() as uri:
        yield uri


async def submit_all(stack: Stack, on_progress) -> dict[str, str]:
    """Submit CLUES clues; return {idempotency key: clue id} of those answered 202."""
    accepted: dict[str, str] = {}
    keys = [f"fault-{uuid.uuid4()}" for _ in range(CLUES)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)

    async def worker(client: httpx.AsyncClient):
        while not queue.empty():
            key = queue.get_nowait()
            for _attempt in range(300):
                try:
                    reply = await client.post("/api/v1/clues", headers={"Idempotency-Key": key},
                                              json={"channel": "public_report_platform",
                                                    "title": f"故障测试 {key[-6:]}",
                                                    "description": "进程被强制终止时提交的线索"})
                    if reply.status_code == 202:
                        accepted[key] = reply.json()["clue_id"]
                        on_progress(len(accepted))
                        break
                    assert reply.status_code >= 500, reply.text
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return accepted


def rows(path, query) -> list:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(query).fetchall()


def wait_until(check, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)


@pytest.mark.parametrize("victim", ["ledger", "intake", "broker"])
def test_killing_a_service_mid_flow_loses_and_doubles_nothing(victim, amqp_uri, tmp_path):
    stack = Stack(amqp_uri=amqp_uri, data_dir=tmp_path)
    try:
        stack.start_all()
        faults = [CLUES // 4, CLUES * 3 // 5] if victim == "broker" else [CLUES // 4]
        done, down = [], []

        def restart():
            if down:
                stack.start(down.pop())

        def on_progress(count):
            if faults and count >= faults[0]:
                done.append(faults.pop(0))
                if victim == "broker":  # every process must reconnect by itself
                    drop_broker_connections(amqp_uri)
                else:
                    stack.kill(victim)
                    down.append(victim)
                    asyncio.get_running_loop().call_later(1.5, restart)

        accepted = asyncio.run(submit_all(stack, on_progress))
        if down:  # the rest was accepted within 1.5 s of the kill: the victim is still down
            time.sleep(1.5)
            restart()
        assert not faults and done
        assert len(accepted) == CLUES
        clue_ids = set(accepted.values())
        assert len(clue_ids) == CLUES

        data = stack.data_dir
        problems = lambda: rows(data / "ledger.db", "SELECT clue_id FROM problems")  # noqa: E731
        wait_until(lambda: len(problems()) >= CLUES
                   and rows(data / "notify.db", "SELECT count(*) FROM notices")[0][0] >= CLUES
                   and rows(data / "intake.db", "SELECT count(*) FROM clues WHERE status = "
                            "'registered'")[0][0] >= CLUES)
        registered = [r[0] for r in problems()]
        assert len(registered) == CLUES, f"{len(registered)} problems for {CLUES} clues"
        assert set(registered) == clue_ids
        assert rows(data / "intake.db", "SELECT count(*), sum(status = 'registered') "
                                        "FROM clues")[0] == (CLUES, CLUES)
        assert rows(data / "notify.db", "SELECT count(*), count(DISTINCT ref) "
                                        "FROM notices")[0] == (CLUES, CLUES)
        wait_until(lambda: rows(data / "audit.db", "SELECT count(*) FROM observations")[0][0]
                   >= 2 * CLUES, timeout=60)
        assert dict(rows(data / "audit.db", "SELECT event_type, count(*) FROM observations "
                                            "GROUP BY event_type")) == {
            "clue_accepted": CLUES, "problem_registered": CLUES}
        with Connection(amqp_uri) as conn:
            assert conn.default_channel.queue_declare(
                DEAD_LETTER_QUEUE, passive=True).message_count == 0
        stack.wait_ready(30)
    finally:
        stack.stop_all()
