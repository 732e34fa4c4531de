"""Reporter contact details are sealed (Fernet, ``CONTACT_KEY``): at the gateway before they
are published, so the broker never holds them in clear, and opened only by intake for the
custodian role. Shared by both sides, so it lives in ``kit``."""
from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet

DEV_KEY_MATERIAL = b"development-only contact key; never used outside development"


def fernet_from(key: str | None, environment: str) -> Fernet:
    if key:
        return Fernet(key.encode())
    if environment != "development":
        raise RuntimeError("CONTACT_KEY must be set outside development "
                           "(generate one with: python -c 'from cryptography.fernet import "
                           "Fernet; print(Fernet.generate_key().decode())')")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(DEV_KEY_MATERIAL).digest()))


def seal(fernet: Fernet, contact: dict | None) -> str | None:
    if not contact:
        return None
    return fernet.encrypt(json.dumps(contact, ensure_ascii=False).encode()).decode()


def unseal(fernet: Fernet, token: str | None) -> dict | None:
    if not token:
        return None
    return json.loads(fernet.decrypt(token.encode()))
