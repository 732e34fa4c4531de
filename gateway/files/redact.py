"""The copy everyone but the custodian sees (脱敏副本): an image re-encoded from its pixels,
with no EXIF (so no GPS position, no camera serial), no XMP, no comments.

The orientation EXIF gave is applied to the pixels first, so the picture still stands the
right way up once the tag is gone. Only the colour profile, transparency and resolution
survive. Images larger than ``MAX_PIXELS`` are refused rather than decoded (a small file can
unpack to gigabytes of pixels), and at most ``SLOTS`` images are decoded at once (a 50 MP
photo takes ~150 MB while it is re-encoded), so the gateway's memory stays bounded.
"""
from __future__ import annotations

import io
import threading

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 64_000_000
SLOTS = threading.BoundedSemaphore(2)
KEEP = ("icc_profile", "transparency", "dpi")
FORMATS = {"jpg": ("JPEG", {"quality": 90}), "png": ("PNG", {"optimize": False}),
           "webp": ("WEBP", {"quality": 90})}


class Unreadable(Exception):
    """The bytes say image but do not decode as one (无法读取的图片)."""


def redact_image(data: bytes, extension: str) -> bytes:
    """The image re-encoded in its own format without its metadata."""
    with SLOTS:
        return _reencode(data, extension)


def _reencode(data: bytes, extension: str) -> bytes:
    fmt, options = FORMATS[extension]
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Unreadable(f"more than {MAX_PIXELS} pixels")
            upright = ImageOps.exif_transpose(image)
            upright.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise Unreadable(str(exc)) from exc
    upright.info = {k: v for k, v in upright.info.items() if k in KEEP}
    if fmt == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGB")
    out = io.BytesIO()
    upright.save(out, fmt, exif=b"", **options)
    return out.getvalue()
