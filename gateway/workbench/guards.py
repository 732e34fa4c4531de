"""Deny by default on the workbench's pages, with the API's own guard (``RoleGuard``).

``allow(...)`` here is the API's ``allow`` reading the signed-in session instead of a bearer
token (a bearer token is still honoured, so programs and the route-walk test meet the same
role matrix). ``route_roles`` and ``enforce_declared_roles`` see these guards like any other.
Anonymous: 401 (the page answers with the sign-in form); a role not named: 403.
"""
from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

from gateway.auth.guards import RoleGuard, error
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.auth.roles import Role
from gateway.workbench import session as sessions

SESSION_ENDED = ("登录已失效（已退出、已超时或账号已停用），请重新登录",
                 "Your session has ended (signed out, timed out or account deactivated); "
                 "sign in again")


class PageGuard(RoleGuard):
    """A ``RoleGuard`` whose principal comes from the workbench session."""

    def __repr__(self) -> str:
        return "page_" + super().__repr__()

    async def _identify(self, request: Request,
                        credentials: HTTPAuthorizationCredentials | None) -> Principal:
        if credentials is not None:
            return await super()._identify(request, credentials)
        session = request.scope.get("session")
        if not session or "aid" not in session:
            return ANONYMOUS
        settings = request.app.state.settings
        principal = sessions.principal_of(
            session, ttl_seconds=settings.token_ttl_minutes * 60,
            idle_seconds=settings.workbench_idle_minutes * 60)
        accounts = getattr(request.app.state, "accounts", None)
        if principal is None or accounts is None or not await accounts.sessions.is_current(
                principal.account_id, principal.token_version):
            sessions.end(session)
            raise error(401, "token_revoked", *SESSION_ENDED)
        return principal


def allow(*roles: Role) -> PageGuard:
    """Who may open a workbench page or post its form (deny by default)."""
    return PageGuard(roles)
