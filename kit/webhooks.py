"""Webhook targets (回调地址), checked when they are configured, by whoever configures them:
notify for a person's own webhook, the gateway for a partner platform's (协作平台), and
notify again when a partner's webhook reaches it. One rule for all:

https, or http to this machine in development only; no private, link-local, reserved,
multicast or unspecified address unless the operator allows it
(``NOTIFY_WEBHOOK_ALLOW_PRIVATE``); loopback only in development. Pure: ``resolve(host)``
gives the host's addresses and is injected (each side looks up names its own way).
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

REFUSALS: dict[str, tuple[str, str]] = {
    "webhook_url_invalid": ("the webhook URL is not a valid http(s) URL",
                            "回调地址格式不正确"),
    "webhook_url_unresolvable": ("the webhook host cannot be resolved",
                                 "无法解析回调地址的主机名"),
    "webhook_url_not_https": ("a webhook URL must use https (http only to this machine, "
                              "in development)", "回调地址须使用加密传输(仅开发环境可用本机地址)"),
    "webhook_url_private": ("the webhook address is in a private range, not allowed here",
                            "回调地址属于内网地址段,未获允许"),
}
"""Each refusal's words (English, Chinese), by its ``BadWebhookTarget.reason``."""


class BadWebhookTarget(ValueError):
    """A webhook URL refused when it is configured; ``reason`` is a key of ``REFUSALS``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return REFUSALS[self.reason][0]

    @property
    def message_zh(self) -> str:
        return REFUSALS[self.reason][1]


def check_webhook_url(url: str, *, development: bool, allow_private: bool, resolve) -> str:
    """A webhook target as configured: https (http only to loopback, in development only),
    and no private, link-local or loopback address unless allowed (loopback: development).
    ``resolve(host)`` gives the host's addresses (injected: no I/O here)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username:
        raise BadWebhookTarget("webhook_url_invalid")
    if parts.scheme == "http" and not (development and _names_loopback(parts.hostname)):
        raise BadWebhookTarget("webhook_url_not_https")  # refused before any look-up
    try:
        addresses = [ipaddress.ip_address(a) for a in resolve(parts.hostname)]
    except (OSError, ValueError):
        raise BadWebhookTarget("webhook_url_unresolvable") from None
    if not addresses:
        raise BadWebhookTarget("webhook_url_unresolvable")
    loopback = all(a.is_loopback for a in addresses)
    if parts.scheme == "http" and not (development and loopback):
        raise BadWebhookTarget("webhook_url_not_https")
    for address in addresses:
        if address.is_loopback:
            if not development:
                raise BadWebhookTarget("webhook_url_private")
        elif (address.is_private or address.is_link_local or address.is_reserved
              or address.is_multicast or address.is_unspecified) and not allow_private:
            raise BadWebhookTarget("webhook_url_private")
    return parts.geturl()


def _names_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_host(host: str) -> list[str]:
    """The host's addresses by the system's resolver (blocking: call from a thread)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})


@dataclass(frozen=True)
class WebhookPolicy:
    """The rule with the operator's settings, ready to check a URL (``check``)."""

    development: bool
    allow_private: bool
    resolve: Callable[[str], list[str]] = resolve_host

    @classmethod
    def of(cls, settings, resolve: Callable[[str], list[str]] = resolve_host
           ) -> "WebhookPolicy":
        return cls(development=settings.environment == "development",
                   allow_private=settings.notify_webhook_allow_private, resolve=resolve)

    def check(self, url: str) -> str:
        """The URL as it will be called; ``BadWebhookTarget`` when refused."""
        return check_webhook_url(url, development=self.development,
                                 allow_private=self.allow_private, resolve=self.resolve)
