"""What an attacker with write access to the ledger's store does behind its back: each
function edits the store directly with SQL, as the tamper tests need."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from services.ledger.domain import chain


def _engine(url: str):
    return create_engine(url)


def run(url: str, sql: str, **params) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def close_as_rectified(url: str, problem_id: str) -> None:
    """The row says 已办结 (rectified); the history says nothing of it."""
    run(url, "UPDATE problems SET state = 'closed', outcome = 'rectified' WHERE id = :pid",
        pid=problem_id)


def move_entry(url: str, seq: int, to_problem: str) -> None:
    run(url, "UPDATE history SET problem_id = :pid WHERE seq = :seq", pid=to_problem, seq=seq)


def truncate(url: str, keep_through: int) -> None:
    """Delete every entry after ``keep_through`` and move the head back onto it."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            kept = conn.execute(text("SELECT hash FROM history WHERE seq = :s"),
                                {"s": keep_through}).scalar_one()
            conn.execute(text("DELETE FROM history WHERE seq > :s"), {"s": keep_through})
            conn.execute(text("UPDATE chain_head SET seq = :s, hash = :h WHERE id = 1"),
                         {"s": keep_through, "h": kept})
    finally:
        engine.dispose()


def rewrite_from(url: str, seq: int, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in entry ``seq``'s content and re-hash it and every entry
    after it, moving the head: a chain consistent in itself."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            prev = conn.execute(text("SELECT prev_hash FROM history WHERE seq = :s"),
                                {"s": seq}).scalar_one()
            rows = conn.execute(text("SELECT seq, content FROM history WHERE seq >= :s "
                                     "ORDER BY seq"), {"s": seq}).all()
            assert old in rows[0].content
            last = None
            for n, content in rows:
                if n == seq:
                    content = content.replace(old, new)
                digest = chain.hash_bytes(prev, content.encode())
                conn.execute(text("UPDATE history SET content = :c, prev_hash = :p, hash = :h "
                                  "WHERE seq = :s"), {"c": content, "p": prev, "h": digest,
                                                      "s": n})
                prev, last = digest, n
            conn.execute(text("UPDATE chain_head SET seq = :s, hash = :h WHERE id = 1"),
                         {"s": last, "h": prev})
    finally:
        engine.dispose()


TABLES = ("problems", "history", "chain_head")


def snapshot(url: str) -> dict[str, list[dict]]:
    """The ledger's problems, history and head as they are, to put back with ``restore``."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return {t: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {t}"))]
                    for t in TABLES}
    finally:
        engine.dispose()


def restore(url: str, saved: dict[str, list[dict]]) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            for table, rows in saved.items():
                conn.execute(text(f"DELETE FROM {table}"))
                if rows:
                    names = list(rows[0])
                    conn.execute(text(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                                      f"({', '.join(':' + n for n in names)})"), rows)
    finally:
        engine.dispose()
