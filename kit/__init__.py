"""Shared plumbing for the services: stores, outbox and inbox, and the nameko shell.

Nothing in here connects at import time. ``kit.db``, ``kit.outbox`` and ``kit.uow`` are
free of nameko so that a service's domain and use cases never depend on the framework.
"""
