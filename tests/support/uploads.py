"""Helpers for the resumable-upload tests and benchmark: a large MP4-shaped file made fast,
the gateway's memory read from /proc, a TCP proxy that cuts connections, the upload tool
run as a process."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.stack import ROOT

BLOCK = 1 << 20


def make_video(path: Path, size: int, seed: bytes = b"") -> str:
    """An MP4-shaped file of ``size`` bytes (ftyp, moov with a ``©xyz`` location, mdat of
    pseudo-random data: one random MiB with each copy's number written in), written in
    about a second per 500 MB; answers its SHA-256."""
    gps = b"+38.0586+117.2301/"

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body
    moov = box(b"moov", box(b"mvhd", bytes(100)) + box(b"udta", box(
        b"\xa9xyz", struct.pack(">HH", len(gps), 0x15c7) + gps)))
    head = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + moov
    mdat_size = size - len(head)
    head += struct.pack(">I", mdat_size) + b"mdat"
    block = bytearray(os.urandom(BLOCK))
    digest = hashlib.sha256(head)
    with open(path, "wb") as f:
        f.write(head)
        remaining, n = size - len(head), 0
        while remaining:
            block[:16] = hashlib.md5(seed + n.to_bytes(8, "big")).digest()
            piece = bytes(block[:min(BLOCK, remaining)])
            f.write(piece)
            digest.update(piece)
            remaining -= len(piece)
            n += 1
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class RssSampler:
    """The process's resident memory sampled every ``every`` seconds: the baseline when
    started and the peak seen."""

    def __init__(self, pid: int, every: float = 0.05):
        self.pid, self.every = pid, every
        self.baseline = rss_kib(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1024


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 (its own thread and event loop) in front of ``port``: once
    ``cut_after`` bytes went upstream, every open connection is closed, once."""

    def __init__(self, port: int, cut_after: int):
        self.target, self.cut_after = port, cut_after
        self.upstream_bytes = 0
        self.cuts = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer, True),
                             self._pipe(up_reader, writer, False), return_exceptions=True)
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, reader, writer, upstream: bool):
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
                if upstream:
                    self.upstream_bytes += len(data)
                    if self.cuts == 0 and self.upstream_bytes >= self.cut_after:
                        self.cuts += 1
                        for w in list(self._writers):
                            w.transport.abort()
                        return
        finally:
            writer.close()


def tool_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "uploader", *args]


def tool_env(state_home: Path, password: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(state_home),
            "YANSHAN_PASSWORD": password}


def state_offset(state_home: Path) -> int:
    """The largest offset the tool's state files record (0 if none yet)."""
    best = 0
    for path in (state_home / "yanshan-upload").glob("*.json"):
        try:
            best = max(best, int(json.loads(path.read_text()).get("offset") or 0))
        except (ValueError, OSError):
            continue
    return best


def run_tool(args: list[str], env: dict[str, str], timeout: float = 180) -> dict:
    done = subprocess.run(tool_command(*args, "--json"), env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"the tool exited {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
