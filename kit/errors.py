"""Errors a service returns over RPC; the gateway maps them by name to HTTP statuses."""
from __future__ import annotations


class RemoteError(Exception):
    """Base of errors meant for the caller. ``exc_type`` and ``exc_args`` (the English and
    the Chinese message) travel in nameko's error reply."""

    def __init__(self, message: str, message_zh: str | None = None):
        super().__init__(message, message_zh or message)
        self.message = message
        self.message_zh = message_zh or message

    def __str__(self) -> str:
        return self.message


class NotFound(RemoteError):
    pass


class Invalid(RemoteError):
    pass


class Conflict(RemoteError):
    pass


class Forbidden(RemoteError):
    pass


HTTP_STATUS = {"NotFound": 404, "Invalid": 422, "Conflict": 409, "Forbidden": 403}

