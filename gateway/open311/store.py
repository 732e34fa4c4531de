"""Which partner submitted which request (协作平台的请求): the gateway's one record of it.

The ledger does not know who entered a clue, and must not need to: a partner sees only the
requests it submitted, which the gateway, where the partner is known, records as it accepts
them (clue id, partner account, service code, when). ``GET requests`` reads the partner's
newest records from here by the index ``(partner_id, requested_at)`` (or
``(partner_id, service_code, requested_at)`` for a category), then their states from
the ledger in one call (``problem_states``, by the unique index on the clue id). Nothing of the request's content is kept here.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from gateway.open311.mapping import COUNTY_HOURS, MAX_REQUESTS, Filters
from kit.db import w3c_text

metadata = MetaData()

open311_requests = Table(
    "open311_requests", metadata,
    Column("clue_id", String(32), primary_key=True),
    Column("partner_id", String(32), nullable=False),
    Column("service_code", String(64), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Index("ix_open311_requests_partner_at", "partner_id", "requested_at", "clue_id"),
    # one category (service_code=…): read in order too, not filtered out of the partner's
    # every request (p50 88 -> see bench.open311 in the README at 100,000 requests)
    Index("ix_open311_requests_partner_code_at", "partner_id", "service_code",
          "requested_at", "clue_id"),
)


class PartnerRequests:
    """Blocking; call from the thread pool."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_schema(self) -> None:
        """The table, and any index added since it was made (create_all adds tables only)."""
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            for index in open311_requests.indexes:
                index.create(conn, checkfirst=True)

    def record(self, clue_id: str, partner_id: str, service_code: str,
               requested_at: datetime) -> None:
        """Once per clue (a keyed retry records nothing new)."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            conn.execute(insert(open311_requests).values(
                clue_id=clue_id, partner_id=partner_id, service_code=service_code,
                requested_at=requested_at).on_conflict_do_nothing())

    def find(self, partner_id: str, filters: Filters) -> list[dict]:
        """The partner's records matching the filters, newest first, at most 1,000. Ids
        override the other filters (Open311's rule); another partner's ids find nothing.
        ``requested_at``: a datetime, or on PostgreSQL already W3C text in the county's
        time (``mapping.w3c`` takes either)."""
        t = open311_requests
        at = t.c.requested_at
        if self.engine.dialect.name == "postgresql":  # W3C text, formatted by the server
            at = w3c_text(at, COUNTY_HOURS)
        query = select(t.c.clue_id, t.c.service_code, at).where(t.c.partner_id == partner_id)
        if filters.ids is not None:
            query = query.where(t.c.clue_id.in_(filters.ids))
        else:
            query = query.where(t.c.requested_at >= filters.start,
                                t.c.requested_at <= filters.end)
            if filters.service_codes:
                query = query.where(t.c.service_code.in_(filters.service_codes))
        # both descending: the index read backwards gives the order, nothing is sorted
        query = query.order_by(t.c.requested_at.desc(), t.c.clue_id.desc()).limit(MAX_REQUESTS)
        with self.engine.connect() as conn:
            return [{"clue_id": clue_id, "service_code": code, "requested_at": at}
                    for clue_id, code, at in conn.execute(query)]
