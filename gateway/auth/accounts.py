"""Staff accounts (账号) of the gateway, in its own small SQL store.

Public users and whistleblowers never have accounts: they follow up with a receipt code.
The same store keeps the account events (``account_events``: who created, deactivated,
reset whom, sign-ins; append-only) and the organizations' principal heads
(``principal_heads``: 主要负责同志/第一责任人, every change a new row, history kept). The rules
of who may do what live in ``gateway.auth.admin``.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from argon2 import PasswordHasher
from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text, and_,
    func, inspect, insert, select, text, true, update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gateway.auth import admin
from gateway.auth import directory
from gateway.auth.passwords import DEFAULT_HASHER, hash_password, needs_rehash, verify_password
from gateway.auth.principal import Principal
from gateway.auth.roles import ORG_BOUND_ROLES, Role
from gateway.auth.sessions import SessionCheck, TokenState

MIN_PASSWORD_LENGTH = admin.MIN_PASSWORD_LENGTH
MAX_PASSWORD_LENGTH = admin.MAX_PASSWORD_LENGTH  # argon2 takes more; nobody needs it
USERNAME_RE = admin.USERNAME_RE
SERIAL = BigInteger().with_variant(Integer, "sqlite")

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
    # After a reset (重置密码) the person must set a new password before anything else.
    Column("must_change_password", Boolean, nullable=False, default=False,
           server_default=text("FALSE")),
    Column("created_by", String(64), nullable=True),
)

# Who did what to which account (账号操作记录): append-only, newest first by ``seq``.
account_events = Table(
    "account_events", metadata,
    Column("seq", SERIAL, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(64), nullable=True),     # who did it (None: the person themself)
    Column("account", String(64), nullable=True),   # whose account it is about
    Column("org_code", String(64), nullable=True),  # the organization it concerns
    Column("detail", Text, nullable=False, default="{}"),
    Index("ix_account_events_account", "account", "seq"),
    Index("ix_account_events_org", "org_code", "seq"),
    Index("ix_account_events_kind", "kind", "seq"),
)

# 主要负责同志 / 第一责任人 per organization; a change is a new row (history kept).
principal_heads = Table(
    "principal_heads", metadata,
    Column("seq", SERIAL, primary_key=True, autoincrement=True),
    Column("org_code", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("title", String(100), nullable=False),
    Column("account_username", String(64), nullable=True),
    Column("set_by", String(64), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Index("ix_principal_heads_org", "org_code", "seq"),
)

# Columns added after a store was first made: (name, SQL type and default) for ALTER TABLE.
ADDED_COLUMNS = (
    ("token_version", "INTEGER NOT NULL DEFAULT 0"),
    ("must_change_password", "BOOLEAN NOT NULL DEFAULT FALSE"),
    ("created_by", "VARCHAR(64)"),
)


class PasswordChangeRequired(Exception):
    """The password was right, but the person must set a new one first (after a reset)."""

    def __init__(self, account: "Account"):
        super().__init__(account.username)
        self.account = account


@dataclass(frozen=True)
class PrincipalHead:
    """主要负责同志/第一责任人 of an organization, as set at ``set_at`` by ``set_by``."""

    seq: int
    org_code: str
    name: str
    title: str
    account_username: str | None
    set_by: str
    set_at: datetime


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
    must_change_password: bool = False
    created_by: str | None = None

    def principal(self) -> Principal:
        return Principal(account_id=self.id, username=self.username, role=self.role,
                         org_code=self.org_code, token_version=self.token_version)


normalize_username = admin.normalize_username


class AccountStore:
    """Create, look up and authenticate accounts. Blocking; call from a thread pool."""

    def __init__(self, engine: Engine, hasher: PasswordHasher = DEFAULT_HASHER,
                 session_ttl_seconds: float = 2.0):
        self.engine = engine
        self.hasher = hasher
        self._dummy_hash: str | None = None
        self.sessions = SessionCheck(self.token_state, ttl_seconds=session_ttl_seconds)

    def create_schema(self) -> None:
        """Create the tables; an older store gets the columns added since (``ADDED_COLUMNS``),
        its rows taking their defaults. Safe to run at every start."""
        metadata.create_all(self.engine)
        directory.create_schema(self.engine)
        columns = {c["name"] for c in inspect(self.engine).get_columns("accounts")}
        for name, sql in ADDED_COLUMNS:
            if name not in columns:
                with self.engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE accounts ADD COLUMN {name} {sql}"))

    def create(self, username: str, password: str, role: Role | str,
               org_code: str | None = None, display_name: str | None = None, *,
               must_change_password: bool = False, created_by: str | None = None,
               detail: dict | None = None) -> Account:
        """Add an account; ``ValueError`` with a clear message if anything is off. Recorded
        as a ``created`` event by ``created_by`` (None: seeded, e.g. the demo accounts)."""
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
                          created_at=datetime.now(timezone.utc),
                          must_change_password=must_change_password, created_by=created_by)
        row = {**account.__dict__, "role": role.value,
               "password_hash": hash_password(password, self.hasher)}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(accounts).values(**row))
                _record(conn, "created", created_by, username, org_code,
                        {"role": role.value, **(detail or {})})
                directory.announce(conn, account,  # the account directory hears of it
                                   principal_head=self._head_account_id(conn, org_code))
        except IntegrityError:
            raise ValueError(f"username {username!r} is already taken") from None
        return account

    def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal if the password is right and the account active, else None.
        ``PasswordChangeRequired`` if both, but the person must set a new password first
        (deny by default: no caller can take that for a sign-in by mistake).

        An unknown user costs one hash verification too, so timing does not tell.
        """
        account = self.check_password(username, password)
        if account is None:
            return None
        if account.must_change_password:
            raise PasswordChangeRequired(account)
        return account.principal()

    def check_password(self, username: str, password: str) -> Account | None:
        """The active account if the password is right (whatever it must do next), else None."""
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
        return _account(found)

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

    def deactivate(self, username: str, actor: str | None = None) -> Account | None:
        """停用账号: the account can no longer sign in and its tokens stop working."""
        return self._change(username, "deactivated", actor, active=False)

    def reactivate(self, username: str, actor: str | None = None) -> Account | None:
        """恢复账号: it signs in again (tokens from before its deactivation stay refused)."""
        return self._change(username, "reactivated", actor, active=True)

    def reset_password(self, username: str, temporary: str, actor: str | None = None
                       ) -> Account | None:
        """重置密码: the old password stops working, so do its tokens and sessions; the
        temporary one signs in only to set a new password (``must_change_password``)."""
        return self._change(username, "password_reset", actor, must_change_password=True,
                            password_hash=hash_password(temporary, self.hasher))

    def change_password(self, account_id: str, new_password: str) -> Account | None:
        """The person sets their own new password (修改密码); every earlier sign-in ends."""
        found = self.get(account_id)
        if found is None:
            return None
        _check_password(found.username, new_password)
        return self._change(found.username, "password_changed", None,
                            must_change_password=False,
                            password_hash=hash_password(new_password, self.hasher))

    def _change(self, username: str, kind: str, actor: str | None, **values) -> Account | None:
        found = self.get_by_username(username)
        if found is None:
            return None
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == found.id).values(
                token_version=accounts.c.token_version + 1, **values))
            _record(conn, kind, actor, found.username, found.org_code, {})
        self.sessions.forget(found.id)
        changed = self.get(found.id)
        with self.engine.begin() as conn:  # the account directory hears of it
            directory.announce(conn, changed,
                               principal_head=self._head_account_id(conn, changed.org_code))
        return changed

    @staticmethod
    def _head_account_id(conn, org_code: str | None) -> str | None:
        """The account id of the organization's current principal head, if one is recorded
        with an account (the directory tells notify whom escalations reach)."""
        if not org_code:
            return None
        latest = (select(principal_heads.c.account_username)
                  .where(principal_heads.c.org_code == org_code)
                  .order_by(principal_heads.c.seq.desc()).limit(1).scalar_subquery())
        return conn.execute(select(accounts.c.id).where(accounts.c.username == latest)).scalar()

    def announce_org(self, conn, org_code: str) -> None:
        """Announce every account of the organization (its principal head changed)."""
        head = self._head_account_id(conn, org_code)
        for row in conn.execute(select(accounts).where(accounts.c.org_code == org_code)):
            directory.announce(conn, _account(dict(row._mapping)), principal_head=head)

    def list_accounts(self, *, org_code: str | None = None, role: str | None = None,
             active: bool | None = None, query: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[Account], int]:
        """Accounts by username, filtered; and how many match in all."""
        conditions = []
        if org_code:
            conditions.append(accounts.c.org_code == org_code)
        if role:
            conditions.append(accounts.c.role == role)
        if active is not None:
            conditions.append(accounts.c.active == active)
        if query:
            like = f"%{query.strip().lower()}%"
            conditions.append(func.lower(accounts.c.username).like(like)
                              | func.lower(accounts.c.display_name).like(like))
        where = and_(true(), *conditions)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(accounts).where(where)).scalar()
            rows = conn.execute(select(accounts).where(where).order_by(accounts.c.username)
                                .limit(limit).offset(offset)).all()
        return [_account(dict(r._mapping)) for r in rows], int(total or 0)

    # --- account events ----------------------------------------------------------------------

    def record_event(self, kind: str, actor: str | None, account: str | None,
                     org_code: str | None = None, detail: dict | None = None) -> None:
        with self.engine.begin() as conn:
            _record(conn, kind, actor, account, org_code, detail or {})

    def events(self, *, account: str | None = None, org_code: str | None = None,
               kind: str | None = None, actor: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[dict], int]:
        """Account events newest first, filtered; and how many match in all."""
        conditions = []
        if account:
            conditions.append(account_events.c.account == normalize_username(account))
        if actor:
            conditions.append(account_events.c.actor == normalize_username(actor))
        if org_code:
            conditions.append(account_events.c.org_code == org_code)
        if kind:
            conditions.append(account_events.c.kind == kind)
        where = and_(true(), *conditions)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(account_events)
                                 .where(where)).scalar()
            rows = conn.execute(select(account_events).where(where)
                                .order_by(account_events.c.seq.desc())
                                .limit(limit).offset(offset)).all()
        return [{**dict(r._mapping), "detail": json.loads(r.detail or "{}")} for r in rows], \
            int(total or 0)

    # --- principal heads (主要负责同志 / 第一责任人) ---------------------------------------------

    def set_principal_head(self, org_code: str, name: str, title: str,
                           account_username: str | None, actor: str) -> PrincipalHead:
        """Record the organization's principal head; the one before stays in the history."""
        row = {"org_code": org_code, "name": name.strip(), "title": title.strip(),
               "account_username": normalize_username(account_username or "") or None,
               "set_by": actor, "set_at": datetime.now(timezone.utc)}
        with self.engine.begin() as conn:
            seq = conn.execute(insert(principal_heads).values(**row)).inserted_primary_key[0]
            _record(conn, "principal_head_set", actor, row["account_username"], org_code,
                    {"name": row["name"], "title": row["title"]})
            self.announce_org(conn, org_code)  # escalations now reach the new head
        return PrincipalHead(seq=seq, **row)

    def principal_head(self, org_code: str) -> PrincipalHead | None:
        """The organization's current principal head (the latest recorded), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(principal_heads)
                               .where(principal_heads.c.org_code == org_code)
                               .order_by(principal_heads.c.seq.desc()).limit(1)).first()
        return PrincipalHead(**row._mapping) if row else None

    def principal_head_history(self, org_code: str) -> list[PrincipalHead]:
        """Every principal head recorded for the organization, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(principal_heads)
                                .where(principal_heads.c.org_code == org_code)
                                .order_by(principal_heads.c.seq.desc())).all()
        return [PrincipalHead(**r._mapping) for r in rows]

    def principal_heads(self) -> dict[str, PrincipalHead]:
        """``{org_code: current principal head}`` for every organization that has one."""
        latest = (select(principal_heads.c.org_code, func.max(principal_heads.c.seq).label("seq"))
                  .group_by(principal_heads.c.org_code).subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(select(principal_heads).join(
                latest, principal_heads.c.seq == latest.c.seq)).all()
        return {r.org_code: PrincipalHead(**r._mapping) for r in rows}

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
    refusal = admin.check_password(username, password)
    if refusal is not None:
        raise ValueError(refusal.message)


def _record(conn, kind: str, actor: str | None, account: str | None, org_code: str | None,
            detail: dict) -> None:
    conn.execute(insert(account_events).values(
        at=datetime.now(timezone.utc), kind=kind, actor=actor, account=account,
        org_code=org_code, detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def _account(row: dict) -> Account:
    return Account(id=row["id"], username=row["username"], role=Role(row["role"]),
                   org_code=row["org_code"], display_name=row["display_name"],
                   active=bool(row["active"]), created_at=row["created_at"],
                   token_version=row.get("token_version") or 0,
                   must_change_password=bool(row.get("must_change_password")),
                   created_by=row.get("created_by"))
