"""A RabbitMQ node and a PostgreSQL server of the fault suite's own.

The machine's broker and PostgreSQL are shared with every other test run: the fault suite
may not kill or freeze them. It starts its own on free ports instead (the same binaries,
a data folder of its own), so that it can kill -9 the broker and SIGSTOP the database.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.infra import answers
from tests.support.stack import free_port


def _owned_folder(prefix: str, user: str) -> Path:
    """A folder under /tmp the server's own account may write (pytest's tmp is root's 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    entry = pwd.getpwnam(user)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


def _wait_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(f"tcp://127.0.0.1:{port}", port):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not answer on port {port} within {timeout:.0f} s")


class OwnedRabbit:
    """``rabbitmq-server`` as a node of its own (name, AMQP and distribution ports, data
    folder; no plugins), run as the ``rabbitmq`` account as the packaged one is."""

    def __init__(self):
        self.node = f"faults-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.folder = _owned_folder("faults-rabbit-", "rabbitmq")
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.folder / "enabled_plugins").write_text("[].\n")
        self.env = {**os.environ, "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
                    "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
                    "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.folder / "log"),
                    "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.folder / "expand"),
                    "RABBITMQ_PID_FILE": str(self.folder / "pid"),
                    "RABBITMQ_CONF_ENV_FILE": "/dev/null"}
        self.proc: subprocess.Popen | None = None
        self.vhost = "faults"

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{self.vhost}"

    def ctl(self, *args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", "-n", self.node, *args], check=True,
                       capture_output=True, timeout=60)

    def start(self, timeout: float = 60) -> None:
        (self.folder / "pid").unlink(missing_ok=True)
        log = open(self.folder / "server.out", "ab")
        self.proc = subprocess.Popen(["rabbitmq-server"], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        _wait_port(self.port, timeout, "the fault suite's RabbitMQ")

    def first_start(self) -> None:
        self.start()
        self.ctl("add_vhost", self.vhost)
        self.ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def kill9(self) -> None:
        """SIGKILL the Erlang VM (the pid file's), as a crash or the OOM killer would."""
        pid = int((self.folder / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=20)
        deadline = time.monotonic() + 20
        while answers(f"tcp://127.0.0.1:{self.port}", self.port):
            assert time.monotonic() < deadline, "the killed broker still answers"
            time.sleep(0.1)

    def stop(self) -> None:
        try:
            if (self.folder / "pid").exists():
                self.kill9()
        except (ProcessLookupError, ValueError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


class OwnedPostgres:
    """PostgreSQL 15 in a data folder of its own on a free port (trust auth, no fsync: it
    is thrown away), run as the ``postgres`` account; ``freeze()`` SIGSTOPs the postmaster
    and every backend, ``thaw()`` lets them go on."""

    def __init__(self):
        self.port = free_port()
        self.folder = _owned_folder("faults-pg-", "postgres")
        self.data = self.folder / "data"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command]

    def start(self) -> None:
        subprocess.run(self._as_postgres(shutil.which("initdb") or "initdb", "-D",
                                         str(self.data), "-A", "trust", "-U", "postgres",
                                         "-E", "UTF8", "--no-sync"),
                       check=True, capture_output=True, timeout=120)
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen(self._as_postgres(
            shutil.which("postgres") or "postgres", "-D", str(self.data), "-p", str(self.port),
            "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "max_connections=300"), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        _wait_port(self.port, 60, "the fault suite's PostgreSQL")

    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, walwriter, ...)."""
        master = self.postmaster()
        found = [master]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(stat.parent.name))
        return found

    def freeze(self) -> None:
        for pid in self.processes():  # the postmaster first: it forks no new backend then
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.thaw()
                os.kill(self.postmaster(), signal.SIGQUIT)  # immediate shutdown
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)
