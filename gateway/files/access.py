"""Who may see a stored file (查看权限), and which copy.

- The county office and the custodian (纪检) see every file, the sealed original included.
- Everyone else who may see the file gets the redacted copy only: the uploader; a unit's
  handlers the files uploaded for their unit; a supervising body those of the units it
  supervises; anyone the ledger lets see a problem the file is evidence of.
- Anyone else gets 404, as if the file did not exist.
"""
from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool

from contracts.campaign import Campaign
from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.broker import RemoteCallError
from gateway.files.index import PROBLEM, UNIT, UPLOADER
from kit.errors import Forbidden, NotFound, refusal_from_reply

SEALED_READERS = frozenset({Role.COUNTY_OFFICE, Role.CUSTODIAN})


def sees_original(principal: Principal) -> bool:
    return principal.role in SEALED_READERS


def sees_by_ownership(principal: Principal, refs: Iterable[tuple[str, str]],
                      campaign: Campaign) -> bool:
    """Visible without asking the ledger: uploader, own unit, supervised unit."""
    if sees_original(principal):
        return True
    for kind, ref in refs:
        if kind == UPLOADER and ref == principal.username:
            return True
        if kind == UNIT and principal.org_code:
            if principal.role is Role.UNIT_HANDLER and ref == principal.org_code:
                return True
            body = campaign.supervisor_of(ref)
            if principal.role is Role.SUPERVISOR and body and body.code == principal.org_code:
                return True
    return False


def problems_of(refs: Iterable[tuple[str, str]]) -> list[str]:
    return sorted(ref for kind, ref in refs if kind == PROBLEM)


async def sees_problem(broker, principal: Principal, problem_id: str) -> bool:
    """Whether the ledger shows this problem to the caller (its own rules of reach)."""
    from gateway.routes.problems import actor

    try:
        await broker.call("ledger", "get_problem", problem_id=problem_id,
                          actor=actor(principal))
    except RemoteCallError as exc:
        if isinstance(refusal_from_reply(exc.error), (NotFound, Forbidden)):
            return False
        raise
    return True


async def visible(request, principal: Principal, index, sha256: str):
    """The first file with this digest the caller may see, or None (``index.find``)."""
    for record in await run_in_threadpool(index.find, sha256):
        refs = await run_in_threadpool(index.refs, record.sha256)
        if await may_see(request, principal, refs):
            return record
    return None


async def may_see(request, principal: Principal, refs: list[tuple[str, str]]) -> bool:
    if sees_by_ownership(principal, refs, request.app.state.campaign):
        return True
    for problem_id in problems_of(refs):
        if await sees_problem(request.app.state.broker, principal, problem_id):
            return True
    return False
