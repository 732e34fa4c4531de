"""Receivers for notify's channels in tests: a real SMTP server (aiosmtpd, on a port bound
first, since its Controller cannot take port 0) and a small local webhook receiver."""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.support.stack import free_port


class SmtpSink:
    """Collects what arrives: ``messages`` as (recipient, Message-ID, parsed message).
    ``refuse`` holds addresses answered 550 (a bounce); ``hold()`` makes every RCPT wait
    until ``release()`` (a sender caught mid-delivery), ``holding`` is set meanwhile."""

    def __init__(self):
        self.messages: list[tuple[str, str, email.message.Message]] = []
        self.refuse: set[str] = set()
        self._open = threading.Event()
        self._open.set()
        self.holding = threading.Event()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self.controller.stop()

    def hold(self) -> None:
        self.holding.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        while not self._open.is_set():
            self.holding.set()
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, message["Message-ID"], message))
        return "250 Message accepted for delivery"

    def about(self, text: str) -> list[tuple[str, str]]:
        """(recipient, Message-ID) of the messages whose body mentions ``text``."""
        return [(rcpt, mid) for rcpt, mid, msg in self.messages
                if text in msg.get_content()]


class WebhookReceiver:
    """Answers each POST with the next status of ``script`` (then 204); keeps every request
    as (status answered, headers, body)."""

    def __init__(self):
        self.script: list[int] = []
        self.requests: list[tuple[int, dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver.script.pop(0) if receiver.script else 204
                receiver.requests.append((status, {k.lower(): v for k, v in
                                                   self.headers.items()}, body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(check, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout} s")


def notify_knows_head(data_dir, org_code: str, username: str) -> bool:
    """True once the notify service of a stack (its SQLite store in ``data_dir``) holds
    ``username`` as ``org_code``'s principal head: the directory travels by event, so a test
    that needs the head (not the unit's handlers) to hear of something waits for this first."""
    from sqlalchemy import select

    from kit.db import default_url, make_engine
    from services.notify.adapters.orm import directory, org_heads

    engine = make_engine(default_url("notify", data_dir))
    try:
        with engine.connect() as conn:
            return conn.execute(select(directory.c.username).join(
                org_heads, org_heads.c.account_id == directory.c.account_id).where(
                org_heads.c.org_code == org_code)).scalar_one_or_none() == username
    finally:
        engine.dispose()
