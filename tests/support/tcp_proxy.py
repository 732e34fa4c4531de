"""A TCP proxy the fault suite puts between one service and its broker or database.

A small asyncio proxy (its own thread and event loop) rather than toxiproxy: the one
fault needed is "the connection is gone and does not come back for a while", which is
forty lines here and a separate server binary there.
"""
from __future__ import annotations

import asyncio
import threading
import time


class CutProxy:
    """Listens on 127.0.0.1:``port`` and forwards to 127.0.0.1:``target``. ``cut(seconds)``
    aborts every open connection (both sides see a reset) and refuses new ones for that
    long; then it forwards again."""

    def __init__(self, target: int):
        self.target = target
        self.port = 0
        self.cuts = 0
        self.refused = 0
        self._closed_until = 0.0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("the proxy did not start")
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self):
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def cut(self, seconds: float) -> None:
        def _cut():
            self.cuts += 1
            self._closed_until = time.monotonic() + seconds
            for writer in list(self._writers):
                writer.transport.abort()
        self._loop.call_soon_threadsafe(_cut)

    def _serve(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _client(self, reader, writer):
        if time.monotonic() < self._closed_until:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    @staticmethod
    async def _pipe(reader, writer):
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
