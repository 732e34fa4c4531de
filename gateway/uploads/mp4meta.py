"""A video's copy without its container metadata (视频脱敏副本), without ffmpeg.

MP4 and QuickTime files are trees of boxes (ISO/IEC 14496-12). Location, device and
creation notes live in metadata boxes: ``udta`` (QuickTime's ``©xyz`` GPS, ``©mak``/``©mod``
the device), ``meta`` (Apple's ``com.apple.quicktime.location.ISO6709`` keys) and XMP's
``uuid`` box. The copy turns each such box into a ``free`` box of the same size with its
contents zeroed: no other byte moves, so the sample tables' offsets (``stco``/``co64``)
still point at the right media data and the video plays as before. The file is streamed
(``CHUNK`` at a time), never held in memory.

What it does not do: metadata written *inside* the media samples (some cameras put GPS in
a subtitle or ``gpmd`` track, or SEI messages in the H.264 stream) stays; only re-encoding
with a real media toolkit would remove it. A file whose box tree cannot be walked raises
``Malformed``; its redacted copy is then withheld (``gateway.uploads.complete``).
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 1 << 20
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts", b"dinf", b"stbl", b"mvex",
              b"moof", b"traf"}
METADATA = {b"udta", b"meta"}
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")


class Malformed(Exception):
    """The box tree does not add up (无法解析的视频结构)."""


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, int, bytes]]:
    """(start, end, header length, type) of each box between ``start`` and ``end``."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise Malformed(f"{end - pos} stray bytes at {pos}")
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            raw = f.read(8)
            if len(raw) < 8:
                raise Malformed(f"truncated box header at {pos}")
            size, header = struct.unpack(">Q", raw)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Malformed(f"box {kind!r} at {pos} claims {size} bytes")
        if kind == b"uuid":
            f.seek(pos + header)
            if f.read(16) == XMP_UUID:
                kind = b"xmp!"
        yield pos, pos + size, header, kind
        pos += size


def metadata_boxes(f: BinaryIO, length: int) -> list[tuple[int, int, int]]:
    """(start, end, header length) of every metadata box, walking the container boxes."""
    found: list[tuple[int, int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        if depth > 8:
            raise Malformed("boxes nested too deep")
        for box_start, box_end, header, kind in _boxes(f, start, end):
            if kind in METADATA or kind == b"xmp!":
                found.append((box_start, box_end, header))
            elif kind in CONTAINERS:
                walk(box_start + header, box_end, depth + 1)

    walk(0, length, 0)
    return found


def blanked(f: BinaryIO, length: int) -> Iterator[bytes]:
    """The file's bytes with every metadata box turned into a zeroed ``free`` box."""
    ranges = metadata_boxes(f, length)
    f.seek(0)
    pos = 0
    while pos < length:
        chunk = bytearray(f.read(min(CHUNK, length - pos)))
        if not chunk:
            raise Malformed("the file is shorter than it was")
        end = pos + len(chunk)
        for start, stop, header in ranges:
            if stop <= pos or start >= end:
                continue
            # the type field: "free"
            for i, byte in enumerate(b"free"):
                at = start + 4 + i
                if pos <= at < end:
                    chunk[at - pos] = byte
            # the contents: zeros
            lo, hi = max(start + header, pos), min(stop, end)
            if lo < hi:
                chunk[lo - pos:hi - pos] = bytes(hi - lo)
        yield bytes(chunk)
        pos = end
