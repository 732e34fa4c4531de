"""A video's copy without its container metadata (视频脱敏副本), without ffmpeg.

MP4 and QuickTime files are trees of boxes (ISO/IEC 14496-12). Location, device and
creation notes live in:

* metadata boxes: ``udta`` (QuickTime's ``©xyz`` GPS, 3GPP's ``loci``, ``©mak``/``©mod``
  the device, GoPro's ``GPMF``), ``meta`` (Apple's ``com.apple.quicktime.location.ISO6709``
  keys), XMP's ``uuid`` box and any other ``uuid`` box a camera adds (Canon's and Sony's
  carry EXIF with GPS), a dash-cam's top-level ``gps `` index: each becomes a ``free`` box
  of the same size with its contents zeroed;
* ``free``/``skip`` boxes, unused by definition, where editors leave old metadata and some
  dash-cams their ``freeGPS`` blocks: their contents are zeroed;
* timed-metadata and text tracks, whose samples sit in ``mdat`` beside the video: GoPro's
  ``gpmd``, Google's ``camm``, Apple's ``mebx`` location track, Sony's ``rtmd``, generic
  ``mett``/``metx`` (handler ``meta``), and subtitle/text tracks (``tx3g``, ``wvtt``,
  ``stpp``, handlers ``text``/``sbtl``/``subt``: drones and dash-cams write their position
  as subtitles). Each such track's samples are found through its sample table (``stsz``
  or ``stz2``, ``stsc``, ``stco`` or ``co64``) and zeroed where they lie; the track itself
  stays, so a player sees an empty metadata or subtitle track.

No byte moves, so the sample tables' offsets still point at the right media data and the
video plays as before. The file is streamed (``CHUNK`` at a time), never held in memory;
only the sample tables of the tracks to blank are read.

What it does not do: removing a track outright, or anything inside the video and audio
samples themselves (SEI messages in an H.264/H.265 stream; a camera's own watermark),
needs a re-mux or a re-encode with a real media toolkit. A fragmented file (``moof``) with
such a track, and a file whose box tree or sample tables do not add up, raise
``Malformed``; the redacted copy is then withheld (``gateway.uploads.complete``).
"""
from __future__ import annotations

import bisect
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts", b"dinf", b"stbl", b"mvex",
              b"moof", b"traf"}
METADATA = {b"udta", b"meta", b"gps "}
PADDING = {b"free", b"skip"}
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
# ``uuid`` boxes a player needs (PIFF/Smooth Streaming: encryption and fragment timing);
# every other ``uuid`` box is a vendor's note and is blanked.
PLAYBACK_UUIDS = {bytes.fromhex(u) for u in (
    "A2394F525A9B4F14A2446C427C648DF4", "8974DBCE7BE74C5184F97148F9882554",
    "D08A4F1810F34A82B6C832D8ABA183D3", "6D1D9B0542D544E680E2141DAFF757B2",
    "D4807EF2CA3946958E5426CB9E46A79F")}
METADATA_HANDLERS = {b"meta", b"camm", b"text", b"sbtl", b"subt"}
METADATA_FORMATS = {b"gpmd", b"camm", b"mebx", b"mett", b"metx", b"rtmd", b"tx3g", b"text",
                    b"wvtt", b"stpp"}
MAX_TABLE_ENTRIES = 5_000_000  # samples or chunks in one track's table (20-40 MB read)


class Malformed(Exception):
    """The box tree does not add up (无法解析的视频结构), or cannot be blanked in place."""


@dataclass(frozen=True, order=True)
class Blank:
    """Bytes ``[start, stop)`` to zero, but for the first ``keep``; ``rename``: the box's
    type becomes ``free``."""

    start: int
    stop: int
    keep: int = 0
    rename: bool = False


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, int, bytes]]:
    """(start, end, header length, type) of each box between ``start`` and ``end``; a
    ``uuid`` box's type is ``xmp!`` for XMP, ``uuid`` for a vendor's, ``piff`` for one a
    player needs."""
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
            usertype = f.read(16)
            kind = b"xmp!" if usertype == XMP_UUID else (
                b"piff" if usertype in PLAYBACK_UUIDS else b"uuid")
        yield pos, pos + size, header, kind
        pos += size


def _children(f: BinaryIO, span: tuple[int, int]) -> dict[bytes, tuple[int, int]]:
    """The first child box of each type in a box's body ``span``: type → its body span."""
    found: dict[bytes, tuple[int, int]] = {}
    for child_start, child_end, child_header, kind in _boxes(f, *span):
        found.setdefault(kind, (child_start + child_header, child_end))
    return found


def _body(f: BinaryIO, span: tuple[int, int], at_most: int) -> bytes:
    start, end = span
    if end - start > at_most:
        raise Malformed(f"a sample table of {end - start} bytes")
    f.seek(start)
    return f.read(end - start)


def _u32s(data: bytes, at: int, count: int) -> tuple[int, ...]:
    if at + 4 * count > len(data):
        raise Malformed("a sample table is shorter than it says")
    return struct.unpack_from(f">{count}I", data, at)


def _track_kind(f: BinaryIO, start: int, end: int, header: int):
    """(handler type, first sample entry's format, the sample table's boxes) of a ``trak``."""
    mdia = _children(f, (start + header, end)).get(b"mdia")
    if mdia is None:
        return None, None, {}
    boxes = _children(f, mdia)
    handler = None
    if b"hdlr" in boxes:
        handler = _body(f, boxes[b"hdlr"], 1 << 16)[8:12]
    minf = boxes.get(b"minf")
    stbl = _children(f, minf).get(b"stbl") if minf else None
    if stbl is None:
        return handler, None, {}
    table = _children(f, stbl)
    fmt = None
    if b"stsd" in table:
        stsd = _body(f, table[b"stsd"], 1 << 20)
        fmt = stsd[12:16] if len(stsd) >= 16 else None
    return handler, fmt, table


def _sample_sizes(f: BinaryIO, table: dict) -> list[int] | tuple[int, int]:
    """Each sample's size, or (the one size, how many) when they are all the same."""
    if b"stsz" in table:
        data = _body(f, table[b"stsz"], 12 + 4 * MAX_TABLE_ENTRIES)
        fixed, count = struct.unpack_from(">II", data, 4)
        if count > MAX_TABLE_ENTRIES:
            raise Malformed(f"{count} samples in one track")
        return (fixed, count) if fixed else list(_u32s(data, 12, count))
    if b"stz2" in table:
        data = _body(f, table[b"stz2"], 12 + 2 * MAX_TABLE_ENTRIES)
        bits, count = data[7], struct.unpack_from(">I", data, 8)[0]
        if bits not in (4, 8, 16) or count > MAX_TABLE_ENTRIES:
            raise Malformed("a compact sample size table that does not add up")
        raw = data[12:]
        if len(raw) * 8 < bits * count:
            raise Malformed("a sample table is shorter than it says")
        if bits == 16:
            return list(struct.unpack_from(f">{count}H", raw))
        if bits == 8:
            return list(raw[:count])
        return [(raw[i // 2] >> (0 if i % 2 else 4)) & 0xF for i in range(count)]
    raise Malformed("a track without a sample size table")


def _chunk_offsets(f: BinaryIO, table: dict) -> tuple[int, ...]:
    if b"stco" in table:
        data = _body(f, table[b"stco"], 8 + 4 * MAX_TABLE_ENTRIES)
        return _u32s(data, 8, struct.unpack_from(">I", data, 4)[0])
    if b"co64" in table:
        data = _body(f, table[b"co64"], 8 + 8 * MAX_TABLE_ENTRIES)
        count = struct.unpack_from(">I", data, 4)[0]
        if 8 + 8 * count > len(data):
            raise Malformed("a sample table is shorter than it says")
        return struct.unpack_from(f">{count}Q", data, 8)
    raise Malformed("a track without a chunk offset table")


def _chunk_runs(f: BinaryIO, table: dict) -> list[tuple[int, int]]:
    """(first chunk, samples per chunk) runs of ``stsc``, 1-based as the table has them."""
    if b"stsc" not in table:
        raise Malformed("a track without a sample-to-chunk table")
    data = _body(f, table[b"stsc"], 8 + 12 * MAX_TABLE_ENTRIES)
    count = struct.unpack_from(">I", data, 4)[0]
    values = _u32s(data, 8, 3 * count)
    return [(values[3 * i], values[3 * i + 1]) for i in range(count)]


def sample_spans(f: BinaryIO, table: dict, length: int) -> list[Blank]:
    """Where a track's samples lie, one span per chunk (a chunk's samples are contiguous)."""
    sizes = _sample_sizes(f, table)
    offsets = _chunk_offsets(f, table)
    runs = _chunk_runs(f, table)
    total = sizes[1] if isinstance(sizes, tuple) else len(sizes)
    spans, sample, run = [], 0, 0
    for chunk, offset in enumerate(offsets, start=1):
        while run + 1 < len(runs) and runs[run + 1][0] <= chunk:
            run += 1
        if not runs or runs[run][0] > chunk:
            raise Malformed("a sample-to-chunk table that does not start at chunk 1")
        n = min(runs[run][1], total - sample)
        if n <= 0:
            break
        size = sizes[0] * n if isinstance(sizes, tuple) else sum(sizes[sample:sample + n])
        if offset + size > length:
            raise Malformed(f"a chunk at {offset} runs past the end of the file")
        if size:
            spans.append(Blank(offset, offset + size))
        sample += n
    if sample < total:
        raise Malformed("a track's samples do not fit its chunks")
    return spans


def blanks(f: BinaryIO, length: int) -> list[Blank]:
    """Everything to blank, in file order: metadata boxes, padding, timed-metadata and
    text tracks' samples (see the module's docstring)."""
    found: list[Blank] = []
    state = {"fragmented": False, "metadata_track": False}

    def walk(start: int, end: int, depth: int) -> None:
        if depth > 8:
            raise Malformed("boxes nested too deep")
        for box_start, box_end, header, kind in _boxes(f, start, end):
            if kind in METADATA or kind in (b"xmp!", b"uuid"):
                found.append(Blank(box_start, box_end, header, rename=True))
            elif kind in PADDING:
                found.append(Blank(box_start, box_end, header))
            elif kind in CONTAINERS:
                if kind == b"moof":
                    state["fragmented"] = True
                if kind == b"trak":
                    _track(box_start, box_end, header)
                walk(box_start + header, box_end, depth + 1)

    def _track(start: int, end: int, header: int) -> None:
        handler, fmt, table = _track_kind(f, start, end, header)
        if handler in METADATA_HANDLERS or fmt in METADATA_FORMATS:
            state["metadata_track"] = True
            found.extend(sample_spans(f, table, length))

    walk(0, length, 0)
    if state["fragmented"] and state["metadata_track"]:
        raise Malformed("a timed-metadata track in a fragmented file: its samples cannot be "
                        "blanked without re-muxing")
    return sorted(found)


def metadata_boxes(f: BinaryIO, length: int) -> list[tuple[int, int, int]]:
    """(start, end, header length) of every metadata box (renamed ``free`` in the copy)."""
    return [(b.start, b.stop, b.keep) for b in blanks(f, length) if b.rename]


def blanked(f: BinaryIO, length: int) -> Iterator[bytes]:
    """The file's bytes with every metadata box turned into a zeroed ``free`` box, padding
    zeroed and timed-metadata samples zeroed in place."""
    ranges = blanks(f, length)
    starts = [b.start for b in ranges]
    # how far the ranges up to each one reach (ranges may nest: a chunk of samples inside
    # a ``free`` box): the first range that can touch a position is found by bisection
    reach, furthest = [], 0
    for b in ranges:
        furthest = max(furthest, b.stop)
        reach.append(furthest)
    f.seek(0)
    pos = 0
    while pos < length:
        chunk = bytearray(f.read(min(CHUNK, length - pos)))
        if not chunk:
            raise Malformed("the file is shorter than it was")
        end = pos + len(chunk)
        first = bisect.bisect_right(reach, pos)
        last = bisect.bisect_left(starts, end)
        for b in ranges[first:last]:
            if b.stop <= pos or b.start >= end:
                continue
            if b.rename:  # the type field: "free"
                for i, byte in enumerate(b"free"):
                    at = b.start + 4 + i
                    if pos <= at < end:
                        chunk[at - pos] = byte
            lo, hi = max(b.start + b.keep, pos), min(b.stop, end)
            if lo < hi:
                chunk[lo - pos:hi - pos] = bytes(hi - lo)
        yield bytes(chunk)
        pos = end
