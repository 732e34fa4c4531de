"""The peer: what a county IT office would write in a week instead of this platform.

``python -m bench.peer_app PORT DATABASE_URL``: FastAPI and PostgreSQL, one ``POST /clues``
that validates the body, INSERTs the clue and COMMITs before it answers (201 with the id).
No broker, no outbox, no idempotency, no ledger: a plain CRUD endpoint, served by uvicorn
in one process like the gateway, on SQLAlchemy's default pool (5 + 10 overflow) with the
route a plain ``def`` (FastAPI runs it in its thread pool), as the FastAPI tutorial shows.
``bench.clues`` measures it in the same run, with the same client, as the platform.
"""
from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, create_engine, insert

metadata = MetaData()
clues = Table(
    "clues", metadata,
    Column("id", String(32), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class ClueIn(BaseModel):
    channel: str = Field(max_length=64)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=5, max_length=5000)


class ClueOut(BaseModel):
    clue_id: str


def make_app(database_url: str) -> FastAPI:
    engine = create_engine(database_url)
    metadata.create_all(engine)
    app = FastAPI()

    @app.post("/clues", status_code=201, response_model=ClueOut)
    def submit(body: ClueIn) -> ClueOut:
        clue_id = uuid.uuid4().hex
        with engine.begin() as conn:  # committed before the answer
            conn.execute(insert(clues).values(
                id=clue_id, channel=body.channel, title=body.title,
                description=body.description, created_at=datetime.now(timezone.utc)))
        return ClueOut(clue_id=clue_id)

    @app.get("/readyz")
    def readyz() -> dict:
        return {"status": "ready"}

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]),
                log_level="warning", access_log=False)
