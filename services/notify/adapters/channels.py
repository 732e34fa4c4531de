"""The transports: email through SMTP (smtplib) and webhooks signed as the Standard Webhooks
spec says (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256
of id.timestamp.body>``, the secret ``whsec_<base64>``).

Both identify a message stably across retries: the email's ``Message-ID`` and the webhook's
``webhook-id`` derive from the event and the account, so a receiver that got a message
before an interrupted send was recorded can tell the repeat (delivery is at-least-once).
"""
from __future__ import annotations

import base64
import http.client
import json
import secrets
import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from services.notify.domain import Outcome, smtp_outcome, webhook_outcome

LINK_PATH = "/workbench/problems/{}"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def message_key(row: dict) -> str:
    return f"{row['event_id']}.{row['account_id']}"


def email_message(row: dict, sender: str) -> EmailMessage:
    payload = row["payload"]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = payload["target"]
    msg["Subject"] = payload["subject_zh"]
    msg["Message-ID"] = f"<{message_key(row)}@notify.campaign>"
    lines = [payload["subject_zh"], payload["subject_en"], ""]
    lines += payload.get("lines") or []
    if payload.get("problem_id"):
        lines.append(LINK_PATH.format(payload["problem_id"]))
    msg.set_content("\n".join(lines))
    return msg


class Smtp:
    """``send(row) -> Outcome``: one connection per message (a sweep sends few)."""

    def __init__(self, host: str | None, port: int, sender: str, *, timeout: float = 10.0,
                 starttls: bool = False, user: str | None = None,
                 password: str | None = None):
        self.host, self.port, self.sender = host, port, sender
        self.timeout, self.starttls, self.user, self.password = timeout, starttls, user, password

    def __call__(self, row: dict) -> Outcome:
        if not self.host:
            return Outcome(False, "no SMTP_HOST configured")
        message = email_message(row, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return smtp_outcome(code, _text(text))
        except smtplib.SMTPResponseException as exc:
            return smtp_outcome(exc.smtp_code, _text(exc.smtp_error))
        except (OSError, smtplib.SMTPException) as exc:
            return smtp_outcome(None, f"{type(exc).__name__}: {exc}")
        if refused:
            code, text = next(iter(refused.values()))
            return smtp_outcome(code, _text(text))
        return Outcome(True, "accepted by SMTP")


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def webhook_body(row: dict) -> bytes:
    payload = row["payload"]
    return json.dumps({
        "type": f"notice.{payload['name']}", "timestamp": payload.get("at"),
        "data": {"event_id": row["event_id"], "account_id": row["account_id"],
                 "ref": payload["ref"], "problem_id": payload.get("problem_id"),
                 "subject_zh": payload["subject_zh"], "subject_en": payload["subject_en"],
                 **(payload.get("data") or {})}},
        ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(secret: str, msg_id: str, body: bytes, now: datetime) -> dict:
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


class Webhooks:
    """``send(row, secret) -> Outcome``: a POST (``post``), redirects not followed."""

    def __init__(self, timeout: float = 10.0, clock=lambda: datetime.now(timezone.utc)):
        self.timeout = timeout
        self.clock = clock

    def __call__(self, row: dict, secret: str) -> Outcome:
        body = webhook_body(row)
        headers = signed_headers(secret, f"msg_{message_key(row)}", body, self.clock())
        try:
            status = post(row["payload"]["target"], body, headers, self.timeout)
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(False, f"{type(exc).__name__}: {exc}"[:500])
        return webhook_outcome(status)


def post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST with the standard library (green under eventlet); redirects are not followed."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers=headers)
        reply = conn.getresponse()
        reply.read(65536)
        return reply.status
    finally:
        conn.close()
