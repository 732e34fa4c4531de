"""Reporter contact details are sealed (Fernet, ``CONTACT_KEY``): at the gateway before they
are published, so the broker never holds them in clear, and opened only by intake for the
custodian role. Shared by both sides, so it lives in ``kit``. Partner platforms' webhook
secrets go the same way to notify, under a key of their own (``PARTNER_WEBHOOK_KEY``)."""
from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet

DEV_KEY_MATERIAL = b"development-only contact key; never used outside development"
# Partner platforms' webhook secrets (协作平台签名密钥) travel from the gateway to notify
# sealed under PARTNER_WEBHOOK_KEY (gateway.auth.partners, services.notify): the broker and
# anyone reading its vhost see a token, never the secret.
PARTNER_DEV_KEY_MATERIAL = b"development-only partner webhook key; never used outside development"


def fernet_from(key: str | None, environment: str, *, name: str = "CONTACT_KEY",
                dev_material: bytes = DEV_KEY_MATERIAL) -> Fernet:
    """The Fernet of the key named ``name``; in development, without one, a key derived
    from a public phrase stands in (refused outside development)."""
    if key:
        return Fernet(key.encode())
    if environment != "development":
        raise RuntimeError(f"{name} must be set outside development "
                           "(generate one with: python -c 'from cryptography.fernet import "
                           "Fernet; print(Fernet.generate_key().decode())')")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(dev_material).digest()))


def partner_webhook_fernet(settings) -> Fernet:
    """The key both the gateway and notify hold for partners' webhook secrets."""
    return fernet_from(settings.partner_webhook_key, settings.environment,
                       name="PARTNER_WEBHOOK_KEY", dev_material=PARTNER_DEV_KEY_MATERIAL)


def seal(fernet: Fernet, contact: dict | None) -> str | None:
    if not contact:
        return None
    return fernet.encrypt(json.dumps(contact, ensure_ascii=False).encode()).decode()


def unseal(fernet: Fernet, token: str | None) -> dict | None:
    if not token:
        return None
    return json.loads(fernet.decrypt(token.encode()))
