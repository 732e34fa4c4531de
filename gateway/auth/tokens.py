"""Signed access tokens: JWT, HS256 (PyJWT).

Claims: ``sub`` account id, ``usr`` username, ``role``, ``org`` org code or null, ``ver`` the
account's token version (a token whose version is no longer the account's is revoked, see
``sessions``), ``exp``, ``iat``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt

from gateway.auth.principal import Principal
from gateway.auth.roles import Role

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 4096


class TokenError(Exception):
    """A token that cannot be trusted. ``code`` is "token_expired" or "invalid_token"."""
    code = "invalid_token"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenInvalid(TokenError):
    code = "invalid_token"


def issue(principal: Principal, secret: str, ttl_minutes: int, *,
          now: datetime | None = None) -> str:
    """Sign a token for a staff ``principal``, valid for ``ttl_minutes``."""
    if not secret:
        raise ValueError("secret must not be empty")
    if ttl_minutes <= 0:
        raise ValueError("ttl_minutes must be positive")
    if principal.role is Role.PUBLIC or not principal.account_id:
        raise ValueError("tokens are issued to staff accounts only, not to the public")
    now = now or datetime.now(timezone.utc)
    claims = {
        "sub": principal.account_id,
        "usr": principal.username,
        "role": principal.role.value,
        "org": principal.org_code,
        "ver": principal.token_version,
        "iat": now,
        "exp": now + timedelta(minutes=ttl_minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode(token: str, secret: str) -> Principal:
    """Verify signature and expiry; raise ``TokenExpired`` or ``TokenInvalid``."""
    if not secret:
        raise ValueError("secret must not be empty")
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenInvalid("token is empty or too long")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "role", "ver", "exp", "iat"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(f"token is invalid: {exc}") from exc
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise TokenInvalid("token names an unknown role") from exc
    usr, org, ver = claims.get("usr"), claims.get("org"), claims["ver"]
    if (role is Role.PUBLIC or not isinstance(usr, str) or not (org is None or isinstance(org, str))
            or not isinstance(ver, int) or isinstance(ver, bool)):
        raise TokenInvalid("token claims are malformed")
    return Principal(account_id=claims["sub"], username=usr, role=role, org_code=org,
                     token_version=ver)
