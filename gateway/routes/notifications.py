"""Notifications (通知) over HTTP: one's own inbox and preferences, and for ops the deliveries
that kept failing (the dead list, 死信) with replay. notify owns all of it; the gateway names
the roles and always asks for the caller's own account."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import STAFF_ROLES, Role

router = APIRouter(prefix="/api/v1", tags=["notifications 通知"])
DELIVERY_STATES = ("pending", "digest", "sent", "digested", "failed", "disabled", "dead")


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, max_length=500, description="items to mark read; omitted: all")


class PreferencesIn(BaseModel):
    """Any of one's preferences; what is left out stays as it is. The inbox is always on."""

    model_config = ConfigDict(extra="forbid")

    email: bool | None = Field(None, description="email (when an address is known)")
    email_address: EmailStr | None = Field(None, description="instead of the account's")
    webhook_url: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="signed webhooks (Standard Webhooks); https; empty string: none")
    quiet_hours: bool | None = Field(None, description="email/webhook only in working time")
    digest: bool | None = Field(None, description="one email a working day (每日汇总)")


async def notify(request: Request, method: str, **kwargs):
    return await request.app.state.broker.call("notify", method, **kwargs)


@router.get("/me/notifications", dependencies=[allow(*STAFF_ROLES)],
            summary="My inbox (站内通知): newest first, with the unread count")
async def my_notifications(request: Request, principal: PrincipalDep,
                           unread_only: bool = False,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50,
                           before: Annotated[int | None, Query(ge=1)] = None) -> dict:
    return await notify(request, "inbox", account_id=principal.account_id, limit=limit,
                        unread_only=unread_only, before=before)


@router.post("/me/notifications/read", dependencies=[allow(*STAFF_ROLES)],
             summary="Mark my notices read (all, or the ids given)")
async def mark_read(request: Request, principal: PrincipalDep,
                    body: Annotated[ReadIn, Body(default_factory=ReadIn)]) -> dict:
    return await notify(request, "mark_read", account_id=principal.account_id, ids=body.ids)


@router.get("/me/notifications/preferences", dependencies=[allow(*STAFF_ROLES)],
            summary="My notification preferences (通知偏好)")
async def my_preferences(request: Request, principal: PrincipalDep) -> dict:
    return await notify(request, "get_preferences", account_id=principal.account_id)


@router.put("/me/notifications/preferences", dependencies=[allow(*STAFF_ROLES)],
            summary="Change my notification preferences; a new webhook URL gets a new "
                    "secret, shown in this answer only")
async def set_my_preferences(request: Request, principal: PrincipalDep,
                             body: PreferencesIn) -> dict:
    changes = body.model_dump(exclude_unset=True)
    if "email_address" in changes and changes["email_address"] is not None:
        changes["email_address"] = str(changes["email_address"])
    if changes.get("webhook_url") == "":
        changes["webhook_url"] = None
    return await notify(request, "set_preferences", account_id=principal.account_id,
                        changes=changes)


@router.get("/notifications/deliveries", dependencies=[allow(Role.OPS)],
            summary="Deliveries by state (default: the dead list, retries spent)")
async def deliveries(request: Request,
                     state: Annotated[list[str] | None, Query()] = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 100) -> dict:
    states = [s for s in (state or ["dead"]) if s in DELIVERY_STATES] or ["dead"]
    return await notify(request, "deliveries", states=states, limit=limit)


@router.post("/notifications/deliveries/{delivery_id}/replay", dependencies=[allow(Role.OPS)],
             summary="Send a dead delivery again, with a fresh budget of retries")
async def replay(request: Request, delivery_id: Annotated[int, Path(ge=1)]) -> dict:
    return await notify(request, "replay", delivery_id=delivery_id)
