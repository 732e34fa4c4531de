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


def test_a_retry_whose_record_was_lost_still_names_the_same_clue(store):
    """The writer's commits do not wait for the disk, so an OS crash may lose the last
    records: a retry then gets a new receipt code but the same clue id, which intake
    applies once (nothing filed twice)."""
    first = store.keyed("public", "k-00000001", b"body")
    assert store.keyed("public", "k-00000001", b"body").clue_id == first.clue_id
    assert store.keyed("staff:county", "k-00000001", b"body").clue_id != first.clue_id
    assert store.keyed("public", "k-00000002", b"body").clue_id != first.clue_id
    assert len(first.clue_id) == 32 and int(first.clue_id, 16) >= 0

    async def scenario():
        answer = Answer(first.clue_id, new_receipt_code())
        assert await store.answer_for(first, answer) == answer
        with store.engine.begin() as conn:  # the record an OS crash took
            conn.execute(idempotency_keys.delete())
        again = store.keyed("public", "k-00000001", b"body")
        retried = await store.answer_for(again, Answer(again.clue_id, new_receipt_code()))
        assert retried.clue_id == answer.clue_id
    asyncio.run(scenario())


def test_the_writer_does_not_wait_for_the_disk(store):
    async def scenario():
        await store.answer_for(store.keyed("public", "k-00000009", b"body"), fresh())
    asyncio.run(scenario())
    cursor = store._conn.cursor()
    if store.engine.dialect.name == "sqlite":
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL
    else:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
    cursor.close()
