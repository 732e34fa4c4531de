"""The custodian opens a real-name reporter's contact details (联系方式启封).

Only the custodian role (e.g. 纪检) may; a reason is required; intake unseals and records
the opening (who, when, which clue, why) in the ledger's hash chain before the contact is
handed out. No other role ever sees a contact.
"""
from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.errors import problem

router = APIRouter(prefix="/api/v1", tags=["custody 联系方式保管"])
logger = logging.getLogger("gateway.custody")
CLUE_ID = re.compile(r"^[0-9a-f]{32}$")


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=5, max_length=500,
                        description="why the contact is opened (启封理由), kept in the record")


class ContactOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    class Contact(BaseModel):
        name: str | None = None
        phone: str | None = None
        email: str | None = None

    clue_id: str
    contact: Contact
    opened_by: str
    opened_at: str


@router.post("/clues/{clue_id}/contact", response_model=ContactOut,
             dependencies=[allow(Role.CUSTODIAN)],
             summary="Open a real-name reporter's contact (custodian only; recorded)",
             responses={404: {"description": "no such clue, or anonymous / no contact"}})
async def open_contact(clue_id: str, body: ContactRequest, request: Request,
                       principal: PrincipalDep, response: Response) -> dict:
    """联系方式启封: the custodian states a reason; the opening is an entry of the hash chain."""
    if not CLUE_ID.match(clue_id):
        raise problem(404, "unknown_clue", "no clue has this id", "未找到该线索")
    opened = await request.app.state.broker.call(
        "intake", "open_contact", clue_id=clue_id, reason=body.reason,
        opened_by={"username": principal.username, "role": principal.role.value})
    logger.info("contact opened: clue %s by %s", clue_id, principal.username)
    response.headers["Cache-Control"] = "no-store"
    return opened
