"""Fewer socket reads for py-amqp: read what has arrived, up to a few KiB, in one call.

py-amqp's ``TCPTransport._read(n)`` asks the socket for exactly the bytes it still needs:
three reads per frame (header, payload, end octet), three frames per delivered message.
Under eventlet each read is a green-socket call costing several microseconds, so a
consumer spent more on reading frames than on the rest of a message. This version asks
for at least ``CHUNK`` bytes and keeps what follows in py-amqp's own read buffer, where
its frame reader already looks first (and puts back a frame cut short by a timeout).

Installed by the service runner and the gateway (``install()``); the behaviour is
py-amqp's own otherwise, checked by ``tests/unit/test_amqp_reads.py``.
"""
from __future__ import annotations

import errno

from amqp import transport

CHUNK = 4096  # a dozen small deliveries; small enough that keeping the rest costs nothing


def _read(self, n, initial=False, _errnos=(errno.EAGAIN, errno.EINTR)):
    """Return exactly ``n`` bytes: from the buffer, topped up from the socket."""
    rbuf = self._read_buffer
    if len(rbuf) < n:
        recv = self._quick_recv
        try:
            while len(rbuf) < n:
                try:
                    s = recv(max(n - len(rbuf), CHUNK))
                except OSError as exc:
                    if exc.errno in _errnos:
                        if initial and self.raise_on_initial_eintr:
                            raise transport.socket.timeout()
                        continue
                    raise
                if not s:
                    raise OSError('Server unexpectedly closed connection')
                rbuf += s
        except:  # noqa: E722 - as py-amqp: keep what was read, whatever stopped us
            self._read_buffer = rbuf
            raise
    result, self._read_buffer = rbuf[:n], rbuf[n:]
    return result


_original = transport.TCPTransport._read


def install() -> None:
    transport.TCPTransport._read = _read


def uninstall() -> None:
    transport.TCPTransport._read = _original
