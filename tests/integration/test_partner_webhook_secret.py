"""A partner platform's webhook secret (协作平台签名密钥) never travels in clear: the county
office sets it in the gateway, the gateway's directory entry for the partner is published on
the real broker, and the bytes a reader of the vhost gets (and the gateway's directory
outbox before them) hold a token sealed under ``PARTNER_WEBHOOK_KEY``, which notify opens
to the very key it signs with."""
from __future__ import annotations

import asyncio
import base64
import json

from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from kombu import Connection, Queue

from contracts.events import AccountChanged
from contracts.topology import declare_all, event_exchange
from gateway.auth import directory
from gateway.auth.accounts import AccountStore
from gateway.auth.partners import PartnerStore, secret_sealer, signing_secret
from gateway.broker import Broker
from kit.db import make_engine
from services.notify import domain

SECRET = "jw-platform-shared-secret-2017"
CHANNEL = "partner_discipline_platform"


def forms_of(secret: str) -> list[bytes]:
    """Every way the secret could show in a message: as typed, as the signing key, the
    signing key's raw base64."""
    key = signing_secret(secret)
    return [secret.encode(), key.encode(), key[6:].encode(),
            base64.b64encode(secret.encode())[:24]]


def test_the_published_directory_entry_carries_the_secret_sealed_for_notify_only(
        amqp_uri, tmp_path):
    accounts = AccountStore(make_engine(f"sqlite:///{tmp_path / 'gw.db'}"),
                            hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    accounts.create_schema()
    notify_key = Fernet(Fernet.generate_key())
    partners = PartnerStore(accounts, secret_sealer("gateway-secret-key" * 3), notify_key)
    partners.create_schema()
    with Connection(amqp_uri) as conn:
        declare_all(conn.default_channel)
        spy = Queue("test.partner-secret-spy", event_exchange("gateway"),
                    routing_key="account_changed", auto_delete=False)
        spy(conn.default_channel).declare()
        spy(conn.default_channel).purge()

    partner, _ = partners.create("partner-jw", "纪委平台", [CHANNEL],
                                 "https://jw.example.org/hook", SECRET, "county")
    queued = json.dumps([r["body"] for r in directory.pending(accounts.engine)])
    assert all(form.decode() not in queued for form in forms_of(SECRET))

    broker = Broker(amqp_uri)
    broker.start()
    try:
        relay = directory.DirectoryRelay(accounts.engine, broker)
        assert asyncio.run(relay.relay_once()) >= 1
    finally:
        broker.stop()

    raw = []
    with Connection(amqp_uri) as conn:
        queue = spy(conn.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            raw.append(message.body if isinstance(message.body, bytes)
                       else message.body.encode())
    mine = [body for body in raw if b"partner-jw" in body]
    assert mine, "the partner's directory entry was published"
    for body in mine:
        assert all(form not in body for form in forms_of(SECRET)), body
    entries = [json.loads(body)["partner"] for body in mine]
    assert all("webhook_secret" not in entry for entry in entries if entry)  # version 1's
    links = [AccountChanged.model_validate(json.loads(body)).partner for body in mine]
    sealed = [link for link in links if link and link.webhook_url]
    assert sealed and all(link.webhook_secret_sealed for link in sealed)

    # notify, holding the same key, opens it to the key it signs with; no other key does
    def opened(key: Fernet, link):
        def unseal(token):
            try:
                return key.decrypt(token.encode()).decode()
            except Exception:  # noqa: BLE001 - InvalidToken: not this key's
                return None
        return domain.partner_webhook(link, unseal=unseal, check=lambda url: url)

    assert opened(notify_key, sealed[-1]).secret == signing_secret(SECRET)
    other = opened(Fernet(Fernet.generate_key()), sealed[-1])
    assert other.url is None and other.refused == "webhook_secret_unreadable"
