"""A video's redacted copy (视频脱敏副本, ``gateway.uploads.mp4meta``) on crafted MP4/MOV files
that carry a location every way cameras write one: QuickTime's ``©xyz`` and 3GPP's ``loci``
in ``udta`` (of the movie and of a track), Apple's ``meta`` keys, an XMP ``uuid`` box, a
vendor's ``uuid`` box with EXIF, a dash-cam's ``gps `` index and ``freeGPS`` padding, and
timed-metadata and subtitle tracks (GoPro ``gpmd``, Google ``camm``, ``tx3g`` subtitles)
whose samples lie in ``mdat`` beside the video. The copy keeps every byte in place but
those; the video's samples and sample tables are untouched."""
from __future__ import annotations

import io
import struct

import pytest

from gateway.uploads import mp4meta

LAT = b"+39.9042+116.4074/"
VIDEO = bytes(range(256)) * 4                 # the video's two samples, 512 bytes each
GPMD = [b"GPS5" + LAT + b"\x01" * 10, b"GPS5" + LAT + b"\x02" * 10]
SUBTITLE = b"\x00\x1cN 39.9042 E 116.4074 H 120m"
CAMM = b"\x00\x00\x05\x00" + struct.pack(">ddd", 39.9042, 116.4074, 120.0)


def box(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full(kind: bytes, body: bytes) -> bytes:
    return box(kind, b"\0\0\0\0" + body)


def track(handler: bytes, fmt: bytes, sizes: list[int], chunks: list[int],
          per_chunk: int = 1, co64: bool = False, stz2: bool = False, udta: bytes = b"") -> bytes:
    if stz2:
        stsz = full(b"stz2", b"\0\0\0\x10" + struct.pack(">I", len(sizes))
                    + b"".join(struct.pack(">H", s) for s in sizes))
    elif len(set(sizes)) == 1:
        stsz = full(b"stsz", struct.pack(">II", sizes[0], len(sizes)))
    else:
        stsz = full(b"stsz", struct.pack(">II", 0, len(sizes))
                    + b"".join(struct.pack(">I", s) for s in sizes))
    offsets = (full(b"co64", struct.pack(">I", len(chunks))
                    + b"".join(struct.pack(">Q", c) for c in chunks)) if co64 else
               full(b"stco", struct.pack(">I", len(chunks))
                    + b"".join(struct.pack(">I", c) for c in chunks)))
    stbl = box(b"stbl", full(b"stsd", struct.pack(">I", 1) + box(fmt, bytes(8)))
               + full(b"stsc", struct.pack(">I", 1) + struct.pack(">III", 1, per_chunk, 1))
               + stsz + offsets)
    hdlr = full(b"hdlr", bytes(4) + handler + bytes(12) + b"\0")
    return box(b"trak", full(b"tkhd", bytes(80))
               + box(b"mdia", full(b"mdhd", bytes(20)) + hdlr + box(b"minf", stbl)) + udta)


def crafted(co64: bool = False) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """An MP4 with mdat first (so offsets are known), then moov; where each part lies."""
    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
    media = VIDEO + GPMD[0] + GPMD[1] + SUBTITLE + CAMM
    base = len(ftyp) + 8
    at = {"video": (base, base + len(VIDEO))}
    g0 = base + len(VIDEO)
    at["gpmd"] = (g0, g0 + len(GPMD[0]) * 2)
    at["subtitle"] = (at["gpmd"][1], at["gpmd"][1] + len(SUBTITLE))
    at["camm"] = (at["subtitle"][1], at["subtitle"][1] + len(CAMM))
    xyz = box(b"\xa9xyz", struct.pack(">HH", len(LAT), 0x15c7) + LAT)
    loci = full(b"loci", b"\x15\xc7" + b"Beijing\0" + b"\0" + struct.pack(">iii", 7, 8, 9)
                + b"earth\0\0")
    keys = full(b"keys", struct.pack(">I", 1) + box(b"mdta",
                                                   b"com.apple.quicktime.location.ISO6709"))
    ilst = box(b"ilst", box(struct.pack(">I", 1), box(b"data", bytes(8) + LAT)))
    moov = box(b"moov", full(b"mvhd", bytes(96))
               + track(b"vide", b"avc1", [512, 512], [base], per_chunk=2, co64=co64)
               + track(b"meta", b"gpmd", [len(GPMD[0])] * 2, [g0, g0 + len(GPMD[0])],
                       co64=co64, udta=box(b"udta", xyz))
               + track(b"sbtl", b"tx3g", [len(SUBTITLE)], [at["subtitle"][0]], stz2=True)
               + track(b"camm", b"camm", [len(CAMM)], [at["camm"][0]])
               + box(b"udta", xyz + loci + box(b"\xa9mak", struct.pack(">HH", 5, 0) + b"GoPro"))
               + full(b"meta", full(b"hdlr", bytes(4) + b"mdta" + bytes(13)) + keys + ilst))
    xmp = box(b"uuid", mp4meta.XMP_UUID + b"<exif:GPSLatitude>39,54.25N</exif:GPSLatitude>")
    vendor = box(b"uuid", bytes.fromhex("85C0B687820F11E08111F4CE462B6A48")
                 + b"CMT3 GPSLatitudeRef N")
    novatek = box(b"gps ", struct.pack(">II", 0x1000, 0x2000) + b"GPS index")
    padding = box(b"free", b"freeGPS " + LAT)
    return ftyp + box(b"mdat", media) + moov + xmp + vendor + novatek + padding, at


def redact(data: bytes) -> bytes:
    return b"".join(mp4meta.blanked(io.BytesIO(data), len(data)))


@pytest.mark.parametrize("co64", [False, True])
def test_every_location_a_camera_writes_is_gone_and_the_video_is_untouched(co64):
    original, at = crafted(co64)
    for clue in (LAT, b"ISO6709", b"GPSLatitude", b"GPS5", b"N 39.9042", b"freeGPS",
                 b"GPS index", b"GoPro", b"Beijing", struct.pack(">d", 39.9042)):
        assert clue in original
    redacted = redact(original)
    assert len(redacted) == len(original)
    for clue in (LAT, b"ISO6709", b"GPSLatitude", b"GPS5", b"N 39.9042", b"freeGPS",
                 b"GPS index", b"GoPro", b"Beijing", struct.pack(">d", 39.9042)):
        assert clue not in redacted, clue
    start, stop = at["video"]
    assert redacted[start:stop] == VIDEO  # the video's samples, in place
    for part in ("gpmd", "subtitle", "camm"):  # the metadata samples, zeroed in place
        start, stop = at[part]
        assert redacted[start:stop] == bytes(stop - start)
    # the tree is whole: the same boxes at the same places, metadata ones renamed ``free``
    tops = [(s, e, kind) for s, e, _, kind in mp4meta._boxes(io.BytesIO(redacted), 0,
                                                               len(redacted))]
    assert [k for _, _, k in tops] == [b"ftyp", b"mdat", b"moov", b"free", b"free", b"free",
                                       b"free"]
    assert redact(redacted) == redacted  # nothing left to find


def test_the_tracks_and_sample_tables_stay_so_the_file_still_plays():
    original, _ = crafted()
    redacted = redact(original)
    moov_at = original.index(b"moov") - 4
    for table in (b"stsd", b"stsc", b"stsz", b"stco", b"stz2", b"avc1", b"gpmd", b"tx3g"):
        assert original.count(table) == redacted.count(table), table
    assert redacted[moov_at:moov_at + 8] == original[moov_at:moov_at + 8]


def test_a_fragmented_file_with_a_metadata_track_is_withheld():
    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
    moov = box(b"moov", full(b"mvhd", bytes(96)) + track(b"meta", b"gpmd", [4], [0])
               + box(b"mvex", full(b"trex", bytes(20))))
    data = ftyp + moov + box(b"moof", full(b"mfhd", bytes(4))) + box(b"mdat", b"GPS5")
    with pytest.raises(mp4meta.Malformed, match="re-mux"):
        redact(data)


@pytest.mark.parametrize("offsets, sizes", [
    ([10_000_000], [16]),          # a chunk past the end of the file
    ([40, 60], [16, 16, 16]),      # three samples, two chunks of one
])
def test_a_metadata_track_whose_tables_do_not_add_up_is_withheld(offsets, sizes):
    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
    moov = box(b"moov", track(b"meta", b"gpmd", sizes, offsets))
    data = ftyp + box(b"mdat", bytes(64)) + moov
    with pytest.raises(mp4meta.Malformed):
        redact(data)


def test_a_playback_uuid_box_stays_and_a_video_without_metadata_is_copied_byte_for_byte():
    piff = box(b"uuid", bytes.fromhex("A2394F525A9B4F14A2446C427C648DF4") + bytes(8))
    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
    data = ftyp + box(b"mdat", VIDEO) + box(b"moov", full(b"mvhd", bytes(96)) + track(
        b"vide", b"avc1", [512, 512], [len(ftyp) + 8], per_chunk=2)) + piff
    assert redact(data) == data
