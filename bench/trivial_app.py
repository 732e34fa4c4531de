"""The ceiling for the gateway: a trivial FastAPI app served exactly as the gateway is.

``python -m bench.trivial_app PORT``: one ``POST /echo`` taking a small pydantic body and
answering 202 JSON; uvicorn, single process, same settings as ``gateway.main``.
"""
from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class EchoIn(BaseModel):
    channel: str = Field(max_length=64)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=5, max_length=5000)


class EchoOut(BaseModel):
    id: str
    title: str


@app.post("/echo", status_code=202, response_model=EchoOut)
async def echo(body: EchoIn) -> EchoOut:
    return EchoOut(id=uuid.uuid4().hex, title=body.title)


@app.get("/readyz")
async def readyz() -> dict:
    return {"status": "ready"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
