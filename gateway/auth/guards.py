"""Deny by default (默认拒绝): every endpoint names the roles that may call it.

Use ``dependencies=[allow(Role.COUNTY_OFFICE)]`` on a route or router, or take the principal
as a parameter: ``p: Annotated[Principal, Depends(allow(Role.SUPERVISOR))]``.
``enforce_declared_roles(app)`` refuses to start an app with an unguarded endpoint.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, params
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.routing import BaseRoute

from gateway.auth import tokens
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.auth.roles import ROLE_LABELS_ZH, Role

__all__ = ["ANONYMOUS", "Principal", "PrincipalDep", "RoleGuard", "allow", "current_principal",
           "enforce_declared_roles", "error", "route_roles"]

BEARER_SCHEME = {"type": "http", "scheme": "bearer",
                 "description": "Access token from POST /api/v1/auth/token"}
"""The API docs' security scheme (``gateway.openapi`` names it on every guarded operation)."""


def error(status: int, code: str, message_zh: str, message: str,
          headers: dict[str, str] | None = None, **extra: Any) -> HTTPException:
    """An HTTP error with the bilingual body ``{"detail": {code, message_zh, message}}``."""
    detail = {"code": code, "message_zh": message_zh, "message": message, **extra}
    return HTTPException(status_code=status, detail=detail, headers=headers)


class RoleGuard(params.Depends):
    """A FastAPI dependency that lets through only ``roles``; returns the ``Principal``.

    It is a ``Depends`` whose dependency is itself, so it works in ``dependencies=[...]``,
    inside ``Depends(...)`` and in ``Annotated[Principal, ...]``.
    """

    roles: frozenset[Role]
    ignore_bad_token: bool

    def __init__(self, roles: Iterable[Role], *, ignore_bad_token: bool = False):
        roles = frozenset(Role(r) for r in roles)
        if not roles:
            raise ValueError("allow() needs at least one role")
        if ignore_bad_token and Role.PUBLIC not in roles:
            raise ValueError("ignore_bad_token only makes sense on public endpoints")
        super().__init__(dependency=self)
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "ignore_bad_token", ignore_bad_token)

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"allow({', '.join(sorted(r.value for r in self.roles))})"

    async def __call__(self, request: Request) -> Principal:
        # async on purpose: a token check is a few microseconds of HMAC, cheaper on the event
        # loop than a hop to the thread pool.
        principal = await self._identify(request, bearer_credentials(request))
        if Role.PUBLIC not in self.roles and principal.role not in self.roles:
            if principal.is_anonymous:
                raise error(401, "unauthenticated", "请先登录", "Sign in first",
                            headers={"WWW-Authenticate": "Bearer"})
            allowed = sorted(self.roles, key=lambda r: r.value)
            raise error(403, "forbidden",
                        "无权进行此操作，仅限：" + "、".join(ROLE_LABELS_ZH[r] for r in allowed),
                        "Not allowed; only for: " + ", ".join(r.value for r in allowed),
                        allowed_roles=[r.value for r in allowed])
        request.state.principal = principal
        return principal

    async def _identify(self, request: Request,
                        credentials: HTTPAuthorizationCredentials | None) -> Principal:
        if credentials is None:  # the public path: no token, no look-up
            return ANONYMOUS
        try:
            principal = tokens.decode(credentials.credentials,
                                      request.app.state.settings.secret_key)
        except tokens.TokenError as exc:
            if self.ignore_bad_token:
                return ANONYMOUS
            expired = isinstance(exc, tokens.TokenExpired)
            raise error(401, exc.code,
                        "登录已过期，请重新登录" if expired else "登录凭证无效，请重新登录",
                        "Token expired, sign in again" if expired
                        else "Invalid token, sign in again",
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        if not await _is_current(request, principal):
            if self.ignore_bad_token:
                return ANONYMOUS
            raise error(401, "token_revoked", "登录已失效（已退出或账号已停用），请重新登录",
                        "This sign-in is no longer valid (signed out or account deactivated); "
                        "sign in again",
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return principal


async def _is_current(request: Request, principal: Principal) -> bool:
    """Revocation (令牌吊销): the account is active and the token's version is its current one.
    Without an account store nothing can be checked, so the token is refused (deny by default)."""
    accounts = getattr(request.app.state, "accounts", None)
    if accounts is None:
        return False
    return await accounts.sessions.is_current(principal.account_id, principal.token_version)


def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """The ``Authorization: Bearer <token>`` credentials, or None (no header, another scheme,
    nothing after the scheme), as FastAPI's ``HTTPBearer(auto_error=False)`` reads them.

    Read here, not through ``Depends(HTTPBearer())``: a guard with a sub-dependency made
    FastAPI solve two dependency levels on every request of every route (the busiest, the
    public clue route, spent ~50 µs of its ~0.6 ms in ``solve_dependencies``)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


def allow(*roles: Role, ignore_bad_token: bool = False) -> RoleGuard:
    """Guard naming who may call an endpoint. ``Role.PUBLIC`` means anyone, without a token
    (a token that is sent must still be valid unless ``ignore_bad_token``)."""
    return RoleGuard(roles, ignore_bad_token=ignore_bad_token)


async def current_principal(request: Request) -> Principal:
    """The principal the route's ``RoleGuard`` stored; fails loudly if no guard ran first."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise RuntimeError("no RoleGuard ran before current_principal: put allow(...) in the "
                           "route's or router's dependencies")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


# --- start-up check ----------------------------------------------------------------------------

def _iter_routes(app: FastAPI) -> Iterator[tuple[BaseRoute, Any]]:
    """(original route, effective route) pairs, with included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        for route in app.routes:
            yield route, route
        return
    for context in iter_route_contexts(app.routes):
        yield context.original_route, context


def _guards(dependant: Any) -> Iterator[RoleGuard]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, RoleGuard):
            yield sub.call
        yield from _guards(sub)


def _effective_roles(guards: list[RoleGuard]) -> frozenset[Role]:
    """Roles that pass every guard on the route (a PUBLIC guard lets everyone pass)."""
    allowed = frozenset(Role)
    for guard in guards:
        if Role.PUBLIC not in guard.roles:
            allowed &= guard.roles
    return allowed


def route_roles(app: FastAPI) -> dict[tuple[str, str], frozenset[Role]]:
    """``{(method, path): roles allowed}`` for every API route; unguarded routes map to ∅."""
    result: dict[tuple[str, str], frozenset[Role]] = {}
    for original, route in _iter_routes(app):
        if isinstance(original, APIRoute):
            guards = list(_guards(route.dependant))
            roles = _effective_roles(guards) if guards else frozenset()
            for method in sorted(route.methods or ()):
                result[(method, route.path)] = roles
    return result


def enforce_declared_roles(app: FastAPI, *, public_paths: Iterable[str] = ()) -> None:
    """Raise ``RuntimeError`` naming every endpoint that does not declare its roles.

    Call once, after all routers are included. Non-API routes (plain Starlette routes, mounts)
    are refused too, except the docs pages and paths listed in ``public_paths``.
    """
    exempt = {app.openapi_url, app.docs_url, app.redoc_url, *public_paths}
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        exempt.add(app.swagger_ui_oauth2_redirect_url)
    missing: list[str] = []
    for original, route in _iter_routes(app):
        methods = ",".join(sorted(getattr(route, "methods", None) or ())) or "ANY"
        path = getattr(route, "path", None) or repr(route)
        if isinstance(original, APIRoute):
            if not any(True for _ in _guards(route.dependant)):
                missing.append(f"{methods} {path}")
        elif path not in exempt:
            missing.append(f"{methods} {path} (not an API route; list it in public_paths "
                           f"if it is meant for everyone)")
    if missing:
        raise RuntimeError("endpoints without allow(...) roles (deny by default): "
                           + "; ".join(missing))
