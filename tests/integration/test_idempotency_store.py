"""The gateway's idempotency store on a real database (SQLite and PostgreSQL): keyed
answers remembered in batches, first answer back for the same key and body."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from gateway.idempotency import Answer, Idempotency, KeyReused, idempotency_keys
from gateway.routes.clues import new_receipt_code
from kit.db import make_engine


@pytest.fixture
def store(database_url):
    idempotency = Idempotency(make_engine(database_url), "s" * 32)
    idempotency.create_schema()
    yield idempotency
    idempotency.close()


def fresh() -> Answer:
    import uuid

    return Answer(uuid.uuid4().hex, new_receipt_code())


def test_a_retry_gets_the_first_answer_and_another_body_is_refused(store):
    async def scenario():
        first, again = fresh(), fresh()
        keyed = store.keyed("public", "k-00000001", b"body")
        assert await store.answer_for(keyed, first) == first
        assert await store.answer_for(store.keyed("public", "k-00000001", b"body"),
                                      again) == first
        with pytest.raises(KeyReused):
            await store.answer_for(store.keyed("public", "k-00000001", b"other"), fresh())
        staff = fresh()
        assert await store.answer_for(store.keyed("staff:county", "k-00000001", b"body"),
                                      staff) == staff
    asyncio.run(scenario())


def test_concurrent_requests_share_one_write_and_one_key_wins_once(store):
    async def scenario():
        answers = [fresh() for _ in range(50)]
        keyed = [store.keyed("public", f"k-{n:08d}", b"body") for n in range(40)]
        keyed += [store.keyed("public", "k-00000007", b"body")] * 5
        keyed += [store.keyed("public", "k-00000008", b"another")] * 5
        got = await asyncio.gather(*(store.answer_for(k, a) for k, a in zip(keyed, answers)),
                                   return_exceptions=True)
        assert got[:40] == answers[:40]
        assert got[40:45] == [answers[7]] * 5
        assert all(isinstance(g, KeyReused) for g in got[45:])
    asyncio.run(scenario())
    with store.engine.connect() as conn:
        rows = conn.execute(select(idempotency_keys)).all()
    assert len(rows) == 40


def test_the_table_holds_neither_receipt_nor_clue_id(store):
    answer = fresh()
    asyncio.run(store.answer_for(store.keyed("public", "k-secret-1", b"body"), answer))
    with store.engine.connect() as conn:
        row = conn.execute(select(idempotency_keys)).one()
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    for secret in (answer.receipt_code, answer.receipt_code.replace("-", ""), answer.clue_id,
                   "k-secret-1"):
        assert secret.encode() not in stored
