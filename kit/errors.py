"""Errors a service returns over RPC; the gateway maps them by name to HTTP statuses."""
from __future__ import annotations

class RemoteError(Exception):
    """Base of errors meant for the caller. ``exc_type`` travels in nameko's error reply."""


class NotFound(RemoteError):
    pass


class Invalid(RemoteError):
    pass


class Conflict(RemoteError):
    pass


class Forbidden(RemoteError):
    pass


HTTP_STATUS = {"NotFound": 404, "Invalid": 422, "Conflict": 409, "Forbidden": 403}

