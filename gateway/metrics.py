"""Prometheus metrics of the gateway, on a registry of its own (one per app)."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.clues_accepted = Counter("clues_accepted_total", "Clues answered 202",
                                      registry=self.registry)
        self.requests = Histogram("http_request_seconds", "Request latency",
                                  ["method", "route", "status"], registry=self.registry)


class MetricsMiddleware:
    """Pure ASGI: times each request, labelled by route template and status."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            self.metrics.requests.labels(
                scope["method"], getattr(route, "path", "unmatched"), str(status["code"]),
            ).observe(time.perf_counter() - started)
