"""The gateway's record of partners' requests (gateway/open311/store.py) on both stores."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, text

from gateway.open311.mapping import Filters
from gateway.open311.store import PartnerRequests, open311_requests
from kit.db import make_engine

CATEGORY_INDEX = "ix_open311_requests_partner_code_at"


def test_a_record_made_before_the_category_index_gets_it_and_keeps_its_rows(database_url):
    engine = make_engine(database_url)
    try:
        store = PartnerRequests(engine)
        store.create_schema()
        with engine.begin() as conn:  # as a gateway of before the index left it
            conn.execute(text(f"DROP INDEX {CATEGORY_INDEX}"))
        now = datetime.now(timezone.utc)
        for i, code in enumerate(("c1", "c2", "c1")):
            store.record(f"clue{i:028d}", "partner-a", code, now - timedelta(minutes=i))
        assert CATEGORY_INDEX not in {i["name"] for i in inspect(engine).get_indexes(
            open311_requests.name)}

        store.create_schema()  # the next start
        store.create_schema()  # and the one after: nothing to add, nothing refused

        assert CATEGORY_INDEX in {i["name"] for i in inspect(engine).get_indexes(
            open311_requests.name)}
        found = store.find("partner-a", Filters(None, ("c1",), now - timedelta(days=1), now,
                                                frozenset()))
        assert [r["clue_id"] for r in found] == [f"clue{0:028d}", f"clue{2:028d}"]
    finally:
        engine.dispose()
