"""The real platform's processes, for end-to-end and fault tests (and the benchmarks).

Each process is started the way ``make run`` starts it; a test may SIGKILL any one and
start it again.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kit.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, *, amqp_uri: str, data_dir: Path, database_urls: dict[str, str] | None = None,
                 extra_env: dict[str, str] | None = None, metrics: bool = False,
                 process_env: dict[str, dict[str, str]] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(data_dir)
        self.logs = self.data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "AMQP_URI": amqp_uri, "DATA_DIR": str(self.data_dir),
                    "GATEWAY_PORT": str(self.port), "PYTHONPATH": str(ROOT),
                    "PYTHONUNBUFFERED": "1", "ENVIRONMENT": "development",
                    "DEMO_ACCOUNTS": "1",
                    # tests poll receipts and sign in from one address far more than anyone
                    "RECEIPT_RATE_PER_CLIENT": "100000/minute",
                    "LOGIN_RATE_PER_CLIENT": "100000/minute", **(extra_env or {})}
        for service, url in (database_urls or {}).items():
            self.env[f"{service.upper()}_DATABASE_URL"] = url
        self.process_env = process_env or {}  # one process's own settings, e.g. through a proxy
        self.procs: dict[str, subprocess.Popen] = {}
        self.metrics = metrics  # each service process serves /metrics on a port of its own
        self.metrics_ports: dict[str, int] = {}

    def command(self, name: str) -> list[str]:
        if name == "gateway":
            return [sys.executable, "-m", "gateway.main"]
        return [sys.executable, "-m", "kit.run", name]

    def start(self, name: str, label: str | None = None) -> None:
        """Start ``name``'s process, known as ``label`` (default: the name): a second
        process of one service runs beside the first under a label of its own."""
        label = label or name
        env = {**self.env, **self.process_env.get(label, {})}
        if self.metrics and name != "gateway":
            port = self.metrics_ports.setdefault(label, free_port())
            env = {**env, "METRICS_PORT": str(port)}
        log = open(self.logs / f"{label}.log", "ab")
        self.procs[label] = subprocess.Popen(self.command(name), cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()

    def start_all(self, timeout: float = 90) -> None:
        for name in (*SERVICES, "gateway"):
            self.start(name)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")
            try:
                last = httpx.get(f"{self.base_url}/readyz", timeout=5)
                if last.status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.3)
        raise TimeoutError(f"stack not ready: {getattr(last, 'text', last)}")

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self, name: str, timeout: float = 20) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def stop_all(self, timeout: float = 20) -> None:
        """SIGTERM every process at once, then wait for each (the slowest sets the time, not
        the sum: a nameko service takes seconds to stop gracefully)."""
        running = [p for p in self.procs.values() if p.poll() is None]
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def token(self, username: str, password: str) -> str:
        reply = httpx.post(f"{self.base_url}/api/v1/auth/token",
                           json={"username": username, "password": password}, timeout=10)
        reply.raise_for_status()
        return reply.json()["access_token"]
