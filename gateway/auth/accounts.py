"""Staff accounts (账号) of the gateway, in its own small SQL store.

Public users and whistleblowers never have accounts: they follow up with a receipt code.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from argon2 import PasswordHasher
from sqlalchemy import (
    Boolean, Column, DateTime, Integer, MetaData, String, Table, inspect, insert, select, text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gateway.auth import directory
from gateway.auth.passwords import DEFAULT_HASHER, hash_password, needs_rehash, verify_password
from gateway.auth.principal import Principal
from gateway.auth.roles import ORG_BOUND_ROLES, Role
from gateway.auth.sessions import SessionCheck, TokenState

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 accepts more, but nobody needs it and it costs time
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

metadata = MetaData()

accounts = Table(
    "accounts", metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("org_code", String(64), nullable=True),
    Column("display_name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Tokens carry the version they were issued at; raising it revokes them all (sign-out,
    # deactivation).
    Column("token_version", Integer, nullable=False, default=0, server_default="0"),
)


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    role: Role
    org_code: str | None
    display_name: str
    active: bool
    created_at: datetime
    token_version: int = 0

    def principal(self) -> Principal:
        return Principal(account_id=self.id, username=self.username, role=self.role,
                         org_code=self.org_code, token_version=self.token_version)


def normalize_username(username: str) -> str:
    return username.strip().lower()


class AccountStore:
    """Create, look up and authenticate accounts. Blocking; call from a thread pool."""

    def __init__(self, engine: Engine, hasher: PasswordHasher = DEFAULT_HASHER,
                 session_ttl_seconds: float = 2.0):
        self.engine = engine
        self.hasher = hasher
        self._dummy_hash: str | None = None
        self.sessions = SessionCheck(self.token_state, ttl_seconds=session_ttl_seconds)

    def create_schema(self) -> None:
        """Create the table; a store from before revocable tokens gets its column added."""
        metadata.create_all(self.engine)
        directory.create_schema(self.engine)
        columns = {c["name"] for c in inspect(self.engine).get_columns("accounts")}
        if "token_version" not in columns:
            with self.engine.begin() as conn:
                conn.execute(text("ALTER TABLE accounts ADD COLUMN token_version INTEGER "
                                  "NOT NULL DEFAULT 0"))

    def create(self, username: str, password: str, role: Role | str,
               org_code: str | None = None, display_name: str | None = None) -> Account:
        """Add an account; ``ValueError`` with a clear message if anything is off."""
        username = normalize_username(username)
        if not USERNAME_RE.match(username):
            raise ValueError("username must be 2-64 characters: a-z, 0-9, '.', '_', '-'")
        try:
            role = Role(role)
        except ValueError:
            raise ValueError(f"unknown role {role!r}") from None
        if role is Role.PUBLIC:
            raise ValueError("the public role has no accounts")
        org_code = (org_code or "").strip() or None
        if role in ORG_BOUND_ROLES and org_code is None:
            raise ValueError(f"role {role.value} needs an organization code (org_code)")
        _check_password(username, password)
        account = Account(id=uuid.uuid4().hex, username=username, role=role, org_code=org_code,
                          display_name=(display_name or "").strip() or username, active=True,
                          created_at=datetime.now(timezone.utc))
        row = {**account.__dict__, "role": role.value,
               "password_hash": hash_password(password, self.hasher)}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(accounts).values(**row))
                directory.announce(conn, account)  # the account directory hears of it
        except IntegrityError:
            raise ValueError(f"username {username!r} is already taken") from None
        return account

    def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal if the password is right and the account active, else None.

        An unknown user costs one hash verification too, so timing does not tell.
        """
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        found = self._row(accounts.c.username == normalize_username(username))
        if found is None:
            verify_password(self._dummy(), password, self.hasher)
            return None
        if not verify_password(found["password_hash"], password, self.hasher):
            return None
        if not found["active"]:
            return None
        if needs_rehash(found["password_hash"], self.hasher):
            with self.engine.begin() as conn:
                conn.execute(update(accounts).where(accounts.c.id == found["id"]).values(
                    password_hash=hash_password(password, self.hasher)))
        return _account(found).principal()

    def token_state(self, account_id: str) -> TokenState | None:
        """Whether the account is active and which token version is current (one indexed read)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts.c.active, accounts.c.token_version)
                               .where(accounts.c.id == account_id)).first()
        return TokenState(bool(row.active), row.token_version) if row else None

    def revoke_tokens(self, account_id: str) -> None:
        """Sign out (退出登录): every token issued so far to this account stops working."""
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == account_id)
                         .values(token_version=accounts.c.token_version + 1))
        self.sessions.forget(account_id)

    def deactivate(self, username: str) -> Account | None:
        """停用账号: the account can no longer sign in and its tokens stop working."""
        found = self.get_by_username(username)
        if found is None:
            return None
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == found.id).values(
                active=False, token_version=accounts.c.token_version + 1))
        self.sessions.forget(found.id)
        changed = self.get(found.id)
        directory.announce(self.engine, changed)  # the account directory hears of it
        return changed

    def get(self, account_id: str) -> Account | None:
        found = self._row(accounts.c.id == account_id)
        return _account(found) if found else None

    def get_by_username(self, username: str) -> Account | None:
        found = self._row(accounts.c.username == normalize_username(username))
        return _account(found) if found else None

    def _row(self, condition) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(condition)).first()
        return dict(row._mapping) if row else None

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = hash_password(uuid.uuid4().hex, self.hasher)
        return self._dummy_hash


def _check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password is too weak: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password is too long: at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username or len(set(password)) < 4:
        raise ValueError("password is too weak: not the username, not one repeated character")


def _account(row: dict) -> Account:
    return Account(id=row["id"], username=row["username"], role=Role(row["role"]),
                   org_code=row["org_code"], display_name=row["display_name"],
                   active=bool(row["active"]), created_at=row["created_at"],
                   token_version=row.get("token_version") or 0)
