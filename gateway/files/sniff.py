"""What a file is, read from its first bytes, never from its name (按内容识别文件类型).

``filetype`` reads the magic numbers; only the allow-list below passes. HEIC is known to
the sniffer but refused: without a HEIC decoder the gateway cannot make the copy without
location metadata that everyone but the custodian sees.
"""
from __future__ import annotations

from dataclasses import dataclass

import filetype

HEAD_BYTES = 64 * 1024  # enough for every matcher below (office files look ~6 KB in)


@dataclass(frozen=True)
class FileType:
    extension: str
    media_type: str
    kind: str  # image | document | video

    @property
    def is_image(self) -> bool:
        return self.kind == "image"


ALLOWED: dict[str, FileType] = {t.extension: t for t in (
    FileType("jpg", "image/jpeg", "image"),
    FileType("png", "image/png", "image"),
    FileType("webp", "image/webp", "image"),
    FileType("pdf", "application/pdf", "document"),
    FileType("doc", "application/msword", "document"),
    FileType("xls", "application/vnd.ms-excel", "document"),
    FileType("ppt", "application/vnd.ms-powerpoint", "document"),
    FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "document"),
    FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "document"),
    FileType("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
             "document"),
    FileType("mp4", "video/mp4", "video"),
    FileType("mov", "video/quicktime", "video"),
)}
ALLOWED_NAMES = "JPEG, PNG, WebP, PDF, Word, Excel, PowerPoint, MP4, MOV"


def sniff(head: bytes) -> FileType | None:
    """The allowed type these first bytes are, or None (anything else, executables too)."""
    guess = filetype.guess(head)
    return ALLOWED.get(guess.extension) if guess is not None else None
