"""Who is calling: the identity a token carries (re-exported by ``guards``)."""
from __future__ import annotations

from dataclasses import dataclass, field

from gateway.auth.roles import Role


@dataclass(frozen=True)
class Principal:
    account_id: str
    username: str
    role: Role
    org_code: str | None = None
    # The account's token version this identity was issued at (revocation, not identity).
    token_version: int = field(default=0, compare=False)

    @property
    def is_anonymous(self) -> bool:
        return self.role is Role.PUBLIC


ANONYMOUS = Principal(account_id="", username="", role=Role.PUBLIC, org_code=None)
