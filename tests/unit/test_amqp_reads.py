"""kit.amqp_reads: py-amqp's exact-size reads, served from fewer socket reads."""
from __future__ import annotations

import socket
import struct

import pytest

from kit import amqp_reads


class FakeTransport:
    """What ``_read`` uses of py-amqp's TCPTransport: a buffer and a recv."""

    raise_on_initial_eintr = True

    def __init__(self, chunks):
        self._read_buffer = b""
        self.chunks = list(chunks)
        self.asked = []

    def _quick_recv(self, size):
        self.asked.append(size)
        item = self.chunks.pop(0)
        if isinstance(item, Exception):
            raise item
        if len(item) > size:  # the rest stays in the socket for the next read
            self.chunks.insert(0, item[size:])
        return item[:size]


def frame(payload: bytes) -> bytes:
    return struct.pack(">BHI", 1, 1, len(payload)) + payload + b"\xce"


def read_frame(t) -> bytes:
    header = amqp_reads._read(t, 7, True)
    size = struct.unpack(">BHI", header)[2]
    payload = amqp_reads._read(t, size)
    assert amqp_reads._read(t, 1) == b"\xce"
    return payload


def test_many_frames_come_out_of_one_socket_read():
    stream = b"".join(frame(f"message {i}".encode()) for i in range(20))
    t = FakeTransport([stream])
    assert [read_frame(t) for _ in range(20)] == [f"message {i}".encode() for i in range(20)]
    assert len(t.asked) == 1  # py-amqp alone would have read 60 times


def test_frames_cut_anywhere_by_the_network_are_put_together():
    stream = b"".join(frame(bytes([i]) * (i * 37 % 900)) for i in range(30))
    chunks = [stream[i:i + 13] for i in range(0, len(stream), 13)]
    t = FakeTransport(chunks)
    assert [read_frame(t) for _ in range(30)] == [bytes([i]) * (i * 37 % 900) for i in range(30)]


def test_a_large_payload_is_read_whole():
    payload = b"x" * 100_000
    t = FakeTransport([frame(payload)])
    assert read_frame(t) == payload
    assert t.asked[0] >= amqp_reads.CHUNK


def test_a_timeout_mid_read_keeps_what_arrived():
    t = FakeTransport([b"abc", socket.timeout(), b"defg"])
    with pytest.raises(socket.timeout):
        amqp_reads._read(t, 7)
    assert t._read_buffer == b"abc"
    assert amqp_reads._read(t, 7) == b"abcdefg"


def test_a_closed_connection_is_an_error():
    t = FakeTransport([b""])
    with pytest.raises(OSError, match="closed"):
        amqp_reads._read(t, 7)


def test_install_swaps_py_amqp_read_and_uninstall_restores_it():
    from amqp import transport

    before = transport.TCPTransport._read
    amqp_reads.install()
    try:
        assert transport.TCPTransport._read is amqp_reads._read
    finally:
        amqp_reads.uninstall()
    assert transport.TCPTransport._read is before
