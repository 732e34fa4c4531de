"""``make run``: the four services and the gateway in one terminal, like foreman.

Each process writes JSON lines (``kit.logs``); they are kept as they came in
``$DATA_DIR/logs/<process>.log`` (``grep <id> var/logs/*.log`` follows one correlation id)
and shown here as a person reads them (``kit.logs.human``).

``{SERVICE}_WORKERS=N`` (e.g. ``LEDGER_WORKERS=2 make run``) runs N processes of a service,
shown as ``ledger``, ``ledger-2``, …; they compete on the same queues.

Ctrl-C/SIGTERM stops every process group (SIGTERM, SIGKILL after 15 s) and exits 0; if a
process dies on its own, the others are stopped and the exit status is 1.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kit.logs import human
from kit.settings import ROOT, SERVICES, Settings

COLOURS = ("36", "33", "35", "32", "34")  # cyan, yellow, magenta, green, blue
STOP_GRACE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 60.0
METRICS_BASE_PORT = 9101  # intake 9101, ledger 9201, notify 9301, audit 9401; n-th process +n-1

_print_lock = threading.Lock()
_colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ


def say(text: str) -> None:
    with _print_lock:
        print(text, flush=True)


@dataclass
class Child:
    name: str
    colour: str
    proc: subprocess.Popen[bytes]
    log_file: Path | None = None


def without_password(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def broker_answers(uri: str) -> bool:
    parts = urllib.parse.urlsplit(uri)
    port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=3):
            return True
    except OSError:
        return False


def migrate_all() -> None:
    """Bring every service's store to the latest migration (``make migrate``)."""
    from kit.migrate import upgrade

    settings = Settings()
    for name in SERVICES:
        upgrade(ROOT / "services" / name, settings.database_url(name))
        say(f"migrated {name}")


def pump(child: Child, width: int) -> None:
    """Copy a child's output to ours, each line prefixed with its padded, coloured name."""
    label = f"{child.name:<{width}} |"
    if _colour:
        label = f"\033[{child.colour}m{label}\033[0m"
    assert child.proc.stdout is not None
    kept = open(child.log_file, "ab") if child.log_file else None
    try:
        for raw in iter(child.proc.stdout.readline, b""):
            if kept is not None:
                kept.write(raw)
                kept.flush()
            for line in human(raw.decode("utf-8", "replace").rstrip()).splitlines():
                say(f"{label} {line}")
    finally:
        if kept is not None:
            kept.close()


def metrics_env(env: dict[str, str], service: str, n: int) -> dict[str, str]:
    """Each service process serves its own /metrics: METRICS_PORT (default 9101) is the first
    intake process's port; each next service is 100 above, each next process of a service 1
    above (ledger-2: 9202). METRICS_PORT=0 turns them off."""
    base = int(env.get("METRICS_PORT") or METRICS_BASE_PORT)
    if env.get("METRICS_PORT") == "0":
        base = 0
    port = base + 100 * SERVICES.index(service) + n - 1 if base else 0
    return dict(env, METRICS_PORT=str(port))


def start(name: str, colour: str, args: list[str], env: dict[str, str], width: int,
          log_dir: Path | None = None) -> Child:
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    child = Child(name, colour, proc, log_dir / f"{name}.log" if log_dir else None)
    threading.Thread(target=pump, args=(child, width), daemon=True).start()
    return child


def signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.proc.pid, signum)


def stop_all(children: list[Child]) -> None:
    for child in children:
        signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop within {STOP_GRACE_SECONDS:.0f} s: killing it")
            signal_group(child, signal.SIGKILL)
            child.proc.wait()
    time.sleep(0.2)  # let the output threads drain the last lines


def announce_when_ready(port: str, stop: threading.Event) -> None:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    say(f"\nReady.\n  web pages   {base}/\n  API docs    {base}/docs\n"
                        f"  health      {base}/healthz\n  readiness   {base}/readyz\n"
                        "Press Ctrl-C to stop everything.\n")
                    return
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.5)
    if not stop.is_set():
        say(f"The gateway did not answer 200 on {base}/readyz within "
            f"{READY_TIMEOUT_SECONDS:.0f} s; see the output above.")


def main() -> int:
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: names the setting
        say(f"refusing to start, a setting is wrong / 配置有误,拒绝启动: {exc}")
        return 2
    amqp_uri, port = settings.amqp_uri, settings.gateway_port
    say(f"== accountability campaign platform: {', '.join(SERVICES)} + gateway ==\n"
        f"   broker {without_password(amqp_uri)}, gateway on 127.0.0.1:{port}")
    if not broker_answers(amqp_uri):
        shown = without_password(amqp_uri)
        say(f"\nNo RabbitMQ answers at {shown}.\n没有 RabbitMQ 在 {shown} 应答。\n\n"
            "Get one / 获取方法:\n"
            "  apt-get install rabbitmq-server && rabbitmq-server -detached\n"
            "  docker compose up rabbitmq\n"
            "or set AMQP_URI to a running broker. / 或将 AMQP_URI 设置为可用的 RabbitMQ 地址。")
        return 1
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    commands = [(name if n == 1 else f"{name}-{n}", ["-m", "kit.run", name],
                 metrics_env(env, name, n))
                for name in SERVICES for n in range(1, settings.workers(name) + 1)]
    commands.append(("gateway", ["-m", "gateway.main"], env))
    width = max(len(name) for name, *_ in commands)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    say(f"   logs (JSON lines) in {log_dir}/<process>.log")
    children = [start(name, COLOURS[i % len(COLOURS)], args, child_env, width, log_dir)
                for i, (name, args, child_env) in enumerate(commands)]
    threading.Thread(target=announce_when_ready, args=(port, stop), daemon=True).start()
    died: Child | None = None
    while not stop.is_set() and died is None:
        died = next((c for c in children if c.proc.poll() is not None), None)
        stop.wait(0.5)
    stop.set()
    if died is not None:
        say(f"\n{died.name} exited unexpectedly (status {died.proc.returncode}); "
            "stopping the others.")
    else:
        say("\nStopping everything…")
    stop_all(children)
    say("Stopped.")
    return 1 if died is not None else 0


if __name__ == "__main__":
    sys.exit(main())
