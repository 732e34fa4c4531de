"""What forms and clients need to know of the campaign (专项清理工作配置)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.auth.guards import allow
from gateway.auth.roles import Role

router = APIRouter(prefix="/api/v1", tags=["campaign 专项工作"])


@router.get("/campaign", dependencies=[allow(Role.PUBLIC)])
def campaign(request: Request) -> dict:
    """Categories, kinds, channels, phases and organizations, each with code and Chinese name."""
    return request.app.state.campaign_view
