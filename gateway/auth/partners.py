"""Partner platforms (协作平台): accounts of role ``partner`` with an API key.

A partner is an account in the account store (``gateway.auth.accounts``: its name, its
active flag, its events) plus one row here: the digest of its API key, the partner-platform
channels it may submit on, and its webhook (URL and secret, kept for the sharing-out work).
Deactivating the account (停用) stops its key at once.

The key is 256 random bits, shown once (at creation or rotation) and stored as its SHA-256.
Not argon2, on purpose: argon2 exists to slow down guessing low-entropy passwords, and a
256-bit random key cannot be guessed however fast its digest is; a plain digest can be
looked up by an index on every request (argon2's salt would force reading and hashing
every partner's row, 64 MiB and tens of milliseconds each, on a path that must answer in
milliseconds), and a stolen store still yields no usable key.

The webhook secret is the county's to share with the partner, and must be readable to sign
deliveries, so it is sealed (Fernet under a key derived from ``SECRET_KEY``), never shown.
Notify signs the partner's deliveries with it: each change of channels or webhook (and every
partner at the gateway's start) goes to notify with the partner's directory entry
(``AccountChanged.partner``, ``links``), the secret as Standard Webhooks' key
(``signing_secret``) sealed again for notify (Fernet under ``PARTNER_WEBHOOK_KEY``, which
only the gateway and notify hold): the broker, its vhost's readers and the directory outbox
see a token, never the secret.

The webhook URL is checked when it is set by the rule notify applies to every webhook
target (``kit.webhooks``: https, loopback http in development only, no private address
unless the operator allows it), and checked again where notify accepts it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from contracts.events import PartnerLink
from gateway.auth import admin, directory
from gateway.auth.accounts import Account, AccountStore, accounts
from gateway.auth.roles import Role
from kit.webhooks import BadWebhookTarget, WebhookPolicy

KEY_PREFIX = "p311_"
metadata = MetaData()

partner_keys = Table(
    "partner_keys", metadata,
    Column("account_id", String(32), primary_key=True),
    Column("key_digest", String(64), unique=True),      # SHA-256 hex of the key; None: no key
    Column("key_hint", String(16)),                     # the key's first characters, to tell
    Column("key_issued_at", DateTime(timezone=True)),
    Column("channels", Text, nullable=False, default="[]"),
    Column("webhook_url", String(500)),
    Column("webhook_secret_sealed", Text),
    Column("updated_by", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# ── pure rules ───────────────────────────────────────────────────────────────────────────────

def new_key() -> str:
    """An API key: ``p311_`` and 43 URL-safe characters (256 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def partner_channels(campaign) -> list:
    """The channels a partner may be given: the campaign's partner-platform group."""
    return [c for c in campaign.channels if c.group == "partner_platform"]


def check_partner(campaign, channels: list[str], webhook_url: str, webhook_secret: str,
                  *, webhook_policy: WebhookPolicy, secret_kept: bool = False
                  ) -> list[admin.Refusal]:
    """Refusals of a partner's settings (none: fine). ``secret_kept``: a secret is stored
    already, so a URL may stand without a new one. ``webhook_policy`` checks the URL as
    notify checks every webhook target (it may look the host up: call from a thread)."""
    found = []
    allowed = {c.code for c in partner_channels(campaign)}
    if not channels:
        found.append(admin.Refusal("channels", "partner_channels_required",
                                   "choose at least one channel", "请至少选择一个渠道"))
    elif set(channels) - allowed:
        found.append(admin.Refusal("channels", "partner_channel_unknown",
                                   "only partner-platform channels may be given",
                                   "只能选择协作平台渠道"))
    if webhook_url:
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("https", "http") or not parts.hostname or len(webhook_url) > 500:
            found.append(admin.Refusal("webhook_url", "webhook_url_invalid",
                                       "the webhook URL must be an http(s) address",
                                       "回调地址格式不正确"))
        else:
            try:
                webhook_policy.check(webhook_url)
            except BadWebhookTarget as refused:
                found.append(admin.Refusal("webhook_url", refused.reason, refused.message,
                                           refused.message_zh))
        if not webhook_secret and not secret_kept:
            found.append(admin.Refusal("webhook_secret", "webhook_secret_required",
                                       "a webhook needs a secret (16 characters or more)",
                                       "设置回调地址须同时设置签名密钥"))
    if webhook_secret and not 16 <= len(webhook_secret) <= 200:
        found.append(admin.Refusal("webhook_secret", "webhook_secret_invalid",
                                   "the webhook secret must be 16-200 characters",
                                   "签名密钥须为十六至二百个字符"))
    return found


def signing_secret(secret: str) -> str:
    """The partner's webhook secret as the key Standard Webhooks signs with (``whsec_`` and
    base64): a secret given in that form is used as it is; any other text is the key's raw
    bytes, so the partner verifies with ``standardwebhooks.Webhook(secret.encode())``."""
    if secret.startswith("whsec_"):
        try:
            if base64.b64decode(secret[6:], validate=True):
                return secret
        except ValueError:
            pass
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def secret_sealer(secret_key: str) -> Fernet:
    """The Fernet sealing webhook secrets, derived from ``SECRET_KEY``."""
    material = hashlib.sha256(b"partner-webhook-secret\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(material))


# ── the store ────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Partner:
    account: Account
    channels: tuple[str, ...]
    key_hint: str | None
    key_issued_at: datetime | None
    webhook_url: str | None
    has_webhook_secret: bool

    @property
    def channel(self) -> str | None:
        """The channel its requests arrive on: the first it was given."""
        return self.channels[0] if self.channels else None


class PartnerStore:
    """Partner rows beside the account store, in the gateway's database. Blocking."""

    def __init__(self, accounts_store: AccountStore, sealer: Fernet, for_notify: Fernet):
        """``sealer`` keeps secrets in the gateway's store; ``for_notify`` seals them for
        notify (``PARTNER_WEBHOOK_KEY``)."""
        self.accounts = accounts_store
        self.engine: Engine = accounts_store.engine
        self.sealer = sealer
        self.for_notify = for_notify

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def create(self, username: str, display_name: str, channels: list[str],
               webhook_url: str | None, webhook_secret: str | None, actor: str
               ) -> tuple[Partner, str]:
        """A partner account (its password random and never shown: it signs in with its
        key only) and its first key, returned once. ``ValueError`` as the account store."""
        account = self.accounts.create(username, secrets.token_urlsafe(24) + "!aA1",
                                       Role.PARTNER, None, display_name, created_by=actor,
                                       detail={"channels": channels})
        self.configure(account, channels, webhook_url, webhook_secret, actor)
        return self.rotate_key(account, actor)

    def configure(self, account: Account, channels: list[str], webhook_url: str | None,
                  webhook_secret: str | None, actor: str) -> None:
        """Set its channels and webhook (a blank secret keeps the one stored)."""
        values = {"channels": json.dumps(list(channels)), "webhook_url": webhook_url or None,
                  "updated_by": actor, "updated_at": datetime.now(timezone.utc)}
        if webhook_secret:
            values["webhook_secret_sealed"] = self.sealer.encrypt(webhook_secret.encode()).decode()
        if not webhook_url:
            values["webhook_secret_sealed"] = None
        self._upsert(account.id, values)
        self.accounts.record_event("partner_configured", actor, account.username, None,
                                   {"channels": list(channels),
                                    "webhook": bool(webhook_url)})
        # notify delivers to the partner: its channels and webhook go with its directory entry
        directory.announce(self.engine, self.accounts.get_by_username(account.username),
                           partner=self.links([account.id]).get(account.id))

    def rotate_key(self, account: Account, actor: str) -> tuple[Partner, str]:
        """A new key (返回一次); the one before stops working at once."""
        key = new_key()
        self._upsert(account.id, {"key_digest": key_digest(key), "key_hint": key[:9],
                                  "key_issued_at": datetime.now(timezone.utc),
                                  "updated_by": actor, "updated_at": datetime.now(timezone.utc)})
        self.accounts.record_event("partner_key_issued", actor, account.username, None,
                                   {"key_hint": key[:9]})
        return self.get(account.username), key

    def _upsert(self, account_id: str, values: dict) -> None:
        dialect = self.engine.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        row = {"account_id": account_id, "channels": "[]", **values}
        statement = insert(partner_keys).values(**row).on_conflict_do_update(
            index_elements=["account_id"], set_=values)
        with self.engine.begin() as conn:
            conn.execute(statement)

    def by_key(self, key: str) -> Partner | None:
        """The active partner holding this key, or None (one indexed read)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        query = (select(accounts, partner_keys).join(
            partner_keys, partner_keys.c.account_id == accounts.c.id)
            .where(partner_keys.c.key_digest == key_digest(key), accounts.c.active.is_(True),
                   accounts.c.role == Role.PARTNER.value))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _partner(dict(row._mapping)) if row else None

    def get(self, username: str) -> Partner | None:
        """A partner-role account with its settings (None for any other account)."""
        account = self.accounts.get_by_username(username)
        if account is None or account.role is not Role.PARTNER:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(partner_keys)
                               .where(partner_keys.c.account_id == account.id)).first()
        return _partner(dict(row._mapping) if row else {}, account)

    def links(self, account_ids: list[str] | None = None) -> dict[str, PartnerLink]:
        """Account id → what notify needs to deliver to the partner (the secret in the form
        it signs with, sealed for notify); every partner's when ``account_ids`` is None."""
        query = select(partner_keys)
        if account_ids is not None:
            query = query.where(partner_keys.c.account_id.in_(account_ids))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        found = {}
        for row in rows:
            sealed, secret = row.get("webhook_secret_sealed"), None
            if sealed:
                try:
                    secret = signing_secret(self.sealer.decrypt(sealed.encode()).decode())
                except InvalidToken:  # sealed under another SECRET_KEY: no webhook
                    secret = None
            url = row.get("webhook_url") if secret else None
            found[row["account_id"]] = PartnerLink(
                channels=tuple(json.loads(row.get("channels") or "[]")), webhook_url=url,
                webhook_secret_sealed=self.for_notify.encrypt(secret.encode()).decode()
                if url else None)
        return found

    def list(self) -> list[Partner]:
        found, _ = self.accounts.list_accounts(role=Role.PARTNER.value, limit=1000)
        with self.engine.connect() as conn:
            rows = {r.account_id: dict(r._mapping) for r in conn.execute(select(partner_keys))}
        return [_partner(rows.get(a.id, {}), a) for a in found]


def _partner(row: dict, account: Account | None = None) -> Partner:
    if account is None:
        from gateway.auth.accounts import _account

        account = _account(row)
    return Partner(account=account, channels=tuple(json.loads(row.get("channels") or "[]")),
                   key_hint=row.get("key_hint") if row.get("key_digest") else None,
                   key_issued_at=row.get("key_issued_at"),
                   webhook_url=row.get("webhook_url"),
                   has_webhook_secret=bool(row.get("webhook_secret_sealed")))
