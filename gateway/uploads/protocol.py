"""The tus 1.0 resumable-upload protocol's rules (断点续传协议), as plain functions.

https://tus.io/protocols/resumable-upload (1.0.0): core (HEAD, PATCH, OPTIONS), creation
(POST with ``Upload-Length``), termination (DELETE), expiration (``Upload-Expires``) and
checksum (``Upload-Checksum: sha1 <base64>``, 460 on a mismatch). Each check answers a
``TusRefusal`` (status, code, English, Chinese) or the parsed value; the routes only
translate (``gateway.uploads.routes``).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1}
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA = 4096  # bytes of the Upload-Metadata header
BASE_HEADERS = {"Tus-Resumable": VERSION}


class TusRefusal(Exception):
    """A request the protocol refuses: status, code and both languages."""

    def __init__(self, status: int, code: str, message: str, message_zh: str,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code = status, code
        self.message, self.message_zh = message, message_zh
        self.headers = headers or {}


def check_version(headers) -> None:
    """412 unless the client speaks 1.0.0 (every request but OPTIONS)."""
    if headers.get("tus-resumable") != VERSION:
        raise TusRefusal(412, "tus_version_unsupported",
                         f"Tus-Resumable must be {VERSION}.",
                         f"仅支持断点续传协议 {VERSION} 版本。",
                         {"Tus-Version": VERSION})


def _non_negative(raw: str | None, name: str, zh: str) -> int:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise TusRefusal(400, "invalid_upload_header", f"{name} must be a non-negative "
                         "integer.", f"{zh}须为非负整数。")
    return int(raw)


def upload_length(headers, max_size: int) -> int:
    """The declared length (creation): 400 without it (deferred length is not offered),
    413 over ``max_size`` before a byte is stored."""
    if headers.get("upload-defer-length") is not None:
        raise TusRefusal(400, "invalid_upload_header", "Upload-Defer-Length is not supported: "
                         "declare Upload-Length.", "请声明文件长度,不支持延后声明长度。")
    length = _non_negative(headers.get("upload-length"), "Upload-Length", "文件长度")
    if length > max_size:
        raise too_large(max_size)
    return length


def too_large(limit: int) -> TusRefusal:
    return TusRefusal(413, "file_too_large", f"The file exceeds the limit of {limit} bytes.",
                      f"文件超过 {limit} 字节的上限。")


def upload_offset(headers, current: int) -> int:
    """PATCH's ``Upload-Offset``: 409 unless it is the server's offset."""
    offset = _non_negative(headers.get("upload-offset"), "Upload-Offset", "上传偏移量")
    if offset != current:
        raise TusRefusal(409, "upload_offset_mismatch",
                         f"Upload-Offset {offset} is not the server's offset {current}; "
                         "ask with HEAD and resume from there.",
                         f"上传偏移量 {offset} 与服务器已收到的 {current} 字节不符,"
                         "请先查询再续传。", {"Upload-Offset": str(current)})
    return offset


def check_patch_content_type(headers) -> None:
    """415 unless the body is ``application/offset+octet-stream``."""
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != OFFSET_CONTENT_TYPE:
        raise TusRefusal(415, "unsupported_media_type",
                         f"PATCH takes Content-Type: {OFFSET_CONTENT_TYPE}.",
                         "续传内容类型不正确,须为偏移量字节流。")


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self):
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def checksum(headers) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``, or None. 400 for an algorithm we do
    not offer or a malformed value."""
    raw = headers.get("upload-checksum")
    if raw is None:
        return None
    parts = raw.strip().split(" ")
    if len(parts) != 2 or parts[0].lower() not in CHECKSUM_ALGORITHMS:
        raise TusRefusal(400, "invalid_upload_header",
                         "Upload-Checksum must be 'sha1 <base64 digest>'.",
                         "校验值格式不正确,仅支持安全散列算法一(sha1)。")
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise TusRefusal(400, "invalid_upload_header", "Upload-Checksum's digest is not "
                         "base64.", "校验值不是有效的编码。") from None
    return Checksum(parts[0].lower(), digest)


def checksum_mismatch() -> TusRefusal:
    return TusRefusal(460, "checksum_mismatch",
                      "The chunk does not match its Upload-Checksum; it was discarded, send "
                      "it again.", "数据块与校验值不符,已丢弃,请重新发送。")


def metadata(raw: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional)."""
    if not raw:
        return {}
    if len(raw) > MAX_METADATA:
        raise TusRefusal(400, "invalid_upload_header", "Upload-Metadata is too long.",
                         "上传元数据过长。")
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        key, _, value = item.strip().partition(" ")
        if not key or not key.isascii() or " " in value.strip():
            raise TusRefusal(400, "invalid_upload_header", "Upload-Metadata is malformed.",
                             "上传元数据格式不正确。")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise TusRefusal(400, "invalid_upload_header",
                             f"Upload-Metadata's {key} is not base64 of UTF-8.",
                             "上传元数据的值不是有效编码。") from None
    return pairs


def encode_metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def expires_header(expires_at: int) -> str:
    """RFC 9110 date of a Unix time (``Upload-Expires``)."""
    return format_datetime(datetime.fromtimestamp(expires_at, timezone.utc), usegmt=True)


def options_headers(max_size: int) -> dict[str, str]:
    return {**BASE_HEADERS, "Tus-Version": VERSION, "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(max_size),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)}
