"""Taking a file in (文件上传): sniffed, limited, hashed and stored as it streams.

``Incoming`` is one file arriving in chunks: its first bytes are held until the type can be
sniffed (415 before anything is stored), then every chunk goes straight to a blob writer
under the type's size limit (413 the moment it is crossed, the partial file removed). An
image is then re-encoded without its metadata into a second blob, the redacted copy.
``parts`` reads a request body, raw or ``multipart/form-data`` (python-multipart's streaming
parser), as a series of (filename, chunks) without holding a file in memory.
"""
from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from gateway.files.index import FileRecord
from gateway.files.redact import Unreadable, redact_image
from gateway.files.sniff import HEAD_BYTES, FileType, sniff
from gateway.files.store import BlobStore, BlobWriter, TooLarge

MAX_FILENAME = 255
MAX_PART_HEADERS = 16 * 1024
MAX_FIELD_BYTES = 16 * 1024   # a plain form field beside the files (a receipt code, a text)
MAX_FIELDS = 10
FLUSH_BYTES = 1 << 20


class Refused(Exception):
    """An upload refused for the caller's reason: status, code and both languages."""

    def __init__(self, status: int, code: str, message: str, message_zh: str):
        super().__init__(message)
        self.status, self.code, self.message, self.message_zh = status, code, message, message_zh


@dataclass(frozen=True)
class Limits:
    max_bytes: int        # any file
    max_image_bytes: int  # images (decoded in memory to be re-encoded)
    max_files: int        # files in one request
    kinds: frozenset[str] | None = None  # the kinds taken (image, document, video); None: all

    def for_type(self, kind: FileType) -> int:
        return min(self.max_bytes, self.max_image_bytes) if kind.is_image else self.max_bytes


def too_large(limit: int) -> Refused:
    return Refused(413, "file_too_large", f"The file exceeds the limit of {limit} bytes.",
                   f"文件超过 {limit} 字节的上限。")


def clean_filename(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:MAX_FILENAME] or "upload"


class Incoming:
    """One file arriving in chunks. Chunks are gathered up to ``FLUSH_BYTES`` and written
    (and hashed) on a worker thread, so a slow disk never stalls the event loop."""

    def __init__(self, store: BlobStore, limits: Limits, filename: str):
        self.store, self.limits, self.filename = store, limits, filename
        self.pending = bytearray()
        self.received = 0
        self.type: FileType | None = None
        self.limit = limits.max_bytes
        self.writer: BlobWriter | None = None

    async def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.pending += chunk
        self.received += len(chunk)
        if self.writer is None:
            if len(self.pending) < HEAD_BYTES:
                return
            self._open()
        if self.received > self.limit:
            self.abort()
            raise too_large(self.limit)
        if len(self.pending) >= FLUSH_BYTES:
            await self._flush()

    def _open(self) -> None:
        self.type = sniff(bytes(self.pending[:HEAD_BYTES]))
        if self.type is None:
            raise Refused(415, "unsupported_file_type",
                          "The file's content is not an accepted type (JPEG, PNG, WebP, PDF, "
                          "Word, Excel, PowerPoint, MP4, MOV), whatever its name says.",
                          "文件内容不属于允许的类型(JPEG、PNG、WebP、PDF、Word、Excel、"
                          "PowerPoint、MP4、MOV),与文件名无关。")
        if self.limits.kinds is not None and self.type.kind not in self.limits.kinds:
            raise Refused(415, "unsupported_file_type",
                          "Only photos are taken here (JPEG, PNG, WebP).",
                          "此处只接受照片(JPEG、PNG、WebP 格式)。")
        self.limit = self.limits.for_type(self.type)
        self.writer = self.store.writer(max_bytes=self.limit)

    async def _flush(self) -> None:
        data, self.pending = bytes(self.pending), bytearray()
        try:
            await run_in_threadpool(self.writer.write, data)
        except TooLarge as exc:
            self.writer = None  # the writer removed its partial file
            raise too_large(exc.max_bytes) from None

    async def finish(self) -> FileRecord:
        """Store the original and, for an image, its redacted copy; the record of both."""
        if self.writer is None:
            if not self.pending:
                raise Refused(422, "empty_file", "The file is empty.", "文件内容为空。")
            self._open()
            if self.received > self.limit:
                self.abort()
                raise too_large(self.limit)
        await self._flush()
        original = await run_in_threadpool(self.writer.commit)
        self.writer = None
        redacted = original
        if self.type.is_image:
            redacted = await run_in_threadpool(self._redact, original.sha256)
        return FileRecord(sha256=original.sha256, media_type=self.type.media_type,
                          kind=self.type.kind, size=original.size,
                          redacted_sha256=redacted.sha256, redacted_size=redacted.size,
                          filename=self.filename)

    def _redact(self, sha256: str):
        try:
            clean = redact_image(b"".join(self.store.read(sha256)), self.type.extension)
        except Unreadable:
            raise Refused(422, "unreadable_file", "The image cannot be read.",
                          "无法读取该图片。") from None
        writer = self.store.writer()
        try:
            writer.write(clean)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


async def receive(headers, body: AsyncIterator[bytes], store: BlobStore, limits: Limits, *,
                  fields: dict[str, str] | None = None, before_files=None,
                  require_file: bool = True) -> list[FileRecord]:
    """Every file of a request body, stored. A raw body is one file named by the
    ``X-Filename`` header (percent-encoded UTF-8); ``multipart/form-data`` gives one file per
    part with a filename (other fields are skipped, or, given ``fields``, kept there: at most
    ``MAX_FIELDS`` of ``MAX_FIELD_BYTES`` each). ``before_files(fields)``, awaited before
    the first file is stored, may refuse the request on the fields that came before.
    Whatever fails, no partial file stays."""
    content_type, options = parse_options_header(headers.get("content-type"))
    if content_type != b"multipart/form-data":
        name = urllib.parse.unquote(headers.get("x-filename", ""), errors="replace")
        incoming = Incoming(store, limits, clean_filename(name))
        try:
            async for chunk in body:
                await incoming.feed(chunk)
            return [await incoming.finish()]
        finally:
            incoming.abort()
    boundary = options.get(b"boundary")
    if not boundary:
        raise Refused(422, "invalid_request", "The multipart body has no boundary.",
                      "多部分表单缺少分隔符(boundary)。")
    return await _multipart(boundary, body, store, limits, fields, before_files, require_file)


def _part_parser(boundary: bytes):
    """python-multipart's streaming parser whose callbacks queue (kind, data) events: each
    part's begin, content-disposition header, headers' end, data and end."""
    events: list[tuple[str, bytes]] = []
    header = {"field": b"", "value": b"", "size": 0}

    def on_header_field(data, start, end):
        header["field"] += data[start:end]
        header["size"] += end - start

    def on_header_value(data, start, end):
        header["value"] += data[start:end]
        header["size"] += end - start

    def on_header_end():
        events.append(("header", header["field"].lower() + b"\0" + header["value"]))
        header["field"], header["value"] = b"", b""

    parser = MultipartParser(boundary, callbacks={
        "on_part_begin": lambda: events.append(("begin", b"")),
        "on_part_data": lambda data, start, end: events.append(("data", bytes(data[start:end]))),
        "on_part_end": lambda: events.append(("end", b"")),
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": lambda: events.append(("headers", b"")),
    })
    return parser, events, header


async def _multipart(boundary: bytes, body: AsyncIterator[bytes], store: BlobStore,
                     limits: Limits, fields: dict[str, str] | None = None, before_files=None,
                     require_file: bool = True) -> list[FileRecord]:
    parser, events, header = _part_parser(boundary)
    records: list[FileRecord] = []
    current: Incoming | None = None
    disposition = b""
    field: str | None = None
    value = bytearray()
    files_started = False
    try:
        async for chunk in body:
            try:
                parser.write(chunk)
            except Exception:
                raise Refused(422, "invalid_request", "The multipart body cannot be read.",
                              "无法解析多部分表单内容。") from None
            if header["size"] > MAX_PART_HEADERS:
                raise Refused(422, "invalid_request", "A part's headers are too long.",
                              "表单分段的头部过长。")
            for kind, data in events:
                if kind == "begin":
                    disposition, header["size"] = b"", 0
                elif kind == "header" and data.startswith(b"content-disposition\0"):
                    disposition = data.split(b"\0", 1)[1]
                elif kind == "headers":
                    if _is_file(disposition) and not files_started:
                        files_started = True
                        if before_files is not None:
                            await before_files(dict(fields or {}))
                    current = _open_part(disposition, store, limits, len(records))
                    field = _field_name(disposition, fields) if current is None else None
                    value.clear()
                elif kind == "data" and current is not None:
                    await current.feed(data)
                elif kind == "data" and field is not None:
                    value += data
                    if len(value) > MAX_FIELD_BYTES:
                        raise Refused(413, "body_too_large",
                                      f"A form field exceeds {MAX_FIELD_BYTES} bytes.",
                                      f"表单字段超过 {MAX_FIELD_BYTES} 字节上限。")
                elif kind == "end" and current is not None:
                    records.append(await current.finish())
                    current = None
                elif kind == "end" and field is not None:
                    fields[field] = value.decode("utf-8", "replace")
                    field = None
            events.clear()
        if current is not None:
            raise Refused(422, "invalid_request", "The body ended in the middle of a file.",
                          "请求内容在文件中途结束。")
    finally:
        if current is not None:
            current.abort()
    if not records and require_file:
        raise Refused(422, "invalid_request", "The form holds no file.", "表单中没有文件。")
    return records


@dataclass
class FormParts:
    """A form posted with its files (``multipart/form-data``), read by ``receive_form``:
    the plain fields, the files stored (by the name of their input) and the files refused
    (input name, file name, refusal): a refused file does not stop the rest of the form."""

    fields: list[tuple[str, str]]
    files: list[tuple[str, FileRecord]]
    refused: list[tuple[str, str, Refused]]


FORM_MAX_FIELDS = 1000
FORM_MAX_FIELD_BYTES = 64 * 1024      # one field
FORM_MAX_FIELDS_BYTES = 1_000_000     # all of a form's fields together (as MAX_BODY_BYTES)


async def receive_form(headers, body: AsyncIterator[bytes], store: BlobStore, limits: Limits,
                       *, takes_files: bool = True) -> FormParts:
    """A ``multipart/form-data`` form: its fields (at most ``FORM_MAX_FIELDS``, each at most
    ``FORM_MAX_FIELD_BYTES``) and its files, each streamed through ``Incoming`` as an upload is
    (sniffed, limited, hashed, an image's copy redacted); all fields together at most
    ``FORM_MAX_FIELDS_BYTES``. An input left without a file (an
    empty part) is skipped; with ``takes_files`` false every file is skipped unread."""
    content_type, options = parse_options_header(headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Refused(422, "invalid_request", "The form is not multipart/form-data.",
                      "表单不是 multipart/form-data 格式。")
    form = FormParts([], [], [])
    await _form_parts(boundary, body, store, limits, form, takes_files)
    return form


async def _form_parts(boundary: bytes, body: AsyncIterator[bytes], store: BlobStore,
                      limits: Limits, form: FormParts, takes_files: bool) -> None:
    parser, events, header = _part_parser(boundary)
    current: Incoming | None = None
    value: bytearray | None = None  # a plain field's value
    field_bytes = 0
    disposition, name = b"", ""

    def refuse(exc: Refused) -> None:
        nonlocal current
        form.refused.append((name, current.filename if current else "", exc))
        if current is not None:
            current.abort()
        current = None

    try:
        async for chunk in body:
            try:
                parser.write(chunk)
            except Exception:
                raise Refused(422, "invalid_request", "The multipart body cannot be read.",
                              "无法解析多部分表单内容。") from None
            if header["size"] > MAX_PART_HEADERS:
                raise Refused(422, "invalid_request", "A part's headers are too long.",
                              "表单分段的头部过长。")
            for kind, data in events:
                if kind == "begin":
                    disposition, header["size"] = b"", 0
                elif kind == "header" and data.startswith(b"content-disposition\0"):
                    disposition = data.split(b"\0", 1)[1]
                elif kind == "headers":
                    current, value, name = None, None, _part_name(disposition)
                    filename = parse_options_header(disposition)[1].get(b"filename")
                    if filename is None:
                        if len(form.fields) >= FORM_MAX_FIELDS:
                            raise Refused(413, "too_large", "The form has too many fields.",
                                          "表单字段过多。")
                        value = bytearray()
                    elif filename and takes_files:
                        try:
                            current = _open_part(disposition, store, limits,
                                                 len(form.files) + len(form.refused))
                        except Refused as exc:
                            form.refused.append((name, clean_filename(
                                filename.decode("utf-8", "replace")), exc))
                elif kind == "data" and current is not None:
                    try:
                        await current.feed(data)
                    except Refused as exc:
                        refuse(exc)
                elif kind == "data" and value is not None:
                    value += data
                    field_bytes += len(data)
                    if len(value) > FORM_MAX_FIELD_BYTES or field_bytes > FORM_MAX_FIELDS_BYTES:
                        raise Refused(413, "too_large", "A form field is too long.",
                                      "表单字段内容过长。")
                elif kind == "end" and current is not None:
                    try:
                        record = await current.finish()
                    except Refused as exc:
                        refuse(exc)
                    else:
                        form.files.append((name, record))
                        current = None
                elif kind == "end" and value is not None:
                    form.fields.append((name, value.decode("utf-8", "replace")))
                    value = None
            events.clear()
        if current is not None:
            raise Refused(422, "invalid_request", "The body ended in the middle of a file.",
                          "请求内容在文件中途结束。")
    finally:
        if current is not None:
            current.abort()


def _part_name(disposition: bytes) -> str:
    return parse_options_header(disposition)[1].get(b"name", b"").decode("utf-8", "replace")


def _is_file(disposition: bytes) -> bool:
    return parse_options_header(disposition)[1].get(b"filename") is not None


def _field_name(disposition: bytes, fields: dict[str, str] | None) -> str | None:
    """The name of a plain field to keep, when fields are kept."""
    if fields is None:
        return None
    name = parse_options_header(disposition)[1].get(b"name")
    if name is None:
        return None
    if len(fields) >= MAX_FIELDS:
        raise Refused(422, "invalid_request", f"At most {MAX_FIELDS} form fields.",
                      f"表单字段最多 {MAX_FIELDS} 个。")
    return name.decode("utf-8", "replace")[:64]


def _open_part(disposition: bytes, store: BlobStore, limits: Limits, done: int
               ) -> Incoming | None:
    filename = parse_options_header(disposition)[1].get(b"filename")
    if filename is None:
        return None  # a plain form field
    if done >= limits.max_files:
        raise Refused(422, "too_many_files", f"At most {limits.max_files} files per upload.",
                      f"每次最多上传 {limits.max_files} 个文件。")
    return Incoming(store, limits, clean_filename(filename.decode("utf-8", "replace")))
