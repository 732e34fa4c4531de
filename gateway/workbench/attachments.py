"""Evidence files on the workbench's forms (佐证材料文件), without script.

A form whose action takes files (an input the spec describes as a file's digest, ``Sha256``:
each item of ``evidence``, a work plan's ``document_sha256``) is ``multipart/form-data``:
beside each digest a file input (``file:evidence[0].sha256``), and for a list of evidence a
chooser of several files at once (``file:evidence``), each file a new item described by its
name. ``read`` streams every file through the upload pipeline (``gateway.files``: sniffed by
content, size and count limits, an image's copy without location) and puts the stored
files' digests into the posted fields, so the action's input names them exactly as an API
caller's would; the ledger checks and ties them as it does for the API (``act_on_problem``).
A refused file comes back as a bilingual error beside its input, the rest of the form as it
was typed, and nothing reaches the ledger.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from starlette.datastructures import FormData

from gateway.auth.principal import Principal
from gateway.errors import problem
from gateway.files import access
from gateway.files.index import FileRecord
from gateway.files.intake import Limits, Refused, receive_form
from gateway.files import routes as file_routes
from gateway.files.routes import Files, remember
from gateway.workbench import forms
from gateway.workbench.guards import allow
from gateway.workbench.pages import PREFIX, PageRoute, principal_in
from gateway.workbench.texts import text

FILE_PREFIX = "file:"
# What the file chooser offers; the gateway still decides by content (gateway.files.sniff).
ACCEPT = ("image/jpeg,image/png,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,"
          "video/mp4,video/quicktime,.jpg,.jpeg,.png,.webp,.pdf,.mp4,.mov")
_INDEX = re.compile(r"^\[(\d{1,2})\]")
router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)


@router.get("/files/{sha256}", dependencies=[allow(*file_routes.READERS)])
async def download(sha256: str, request: Request, copy: str | None = None):
    """A file named by a problem's evidence, from the problem's page: the API's download
    (digest-checked, the redacted copy for anyone but the county office and the custodian,
    404 to whoever may not see it), with the workbench's session."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise problem(404, "not_found", "No such file, or not visible to you.",
                      "未找到该文件或无权查看。")
    return await file_routes.download(sha256, request, principal_in(request),
                                      copy if copy in ("original", "redacted") else None)


def takes_files(inputs: list[forms.Input]) -> bool:
    return any(i.kind == "file" or takes_files(i.children) for i in inputs)


def file_lists(inputs: list[forms.Input], prefix: str = "") -> dict[str, tuple[str, str]]:
    """``{list name: (its file input, its description input)}`` for each list whose items
    are a described file (``evidence``): those get a chooser of several files at once."""
    found = {}
    for item in inputs:
        if item.kind == "list":
            kinds = {c.kind: c.name for c in item.children}
            text_child = next((c.name for c in item.children if c.kind in ("text", "textarea")),
                              None)
            if "file" in kinds and text_child:
                found[prefix + item.name] = (kinds["file"], text_child)
        elif item.kind == "group":
            found.update(file_lists(item.children, f"{prefix}{item.name}."))
    return found


def _file_input(inputs: list[forms.Input], name: str) -> bool:
    """Whether ``name`` (``evidence[0].sha256``, ``document_sha256``) is a file input's."""
    level, found = inputs, None
    for step in forms.path_of(name) or [None]:
        if isinstance(step, int):
            continue
        found = next((i for i in level if i.name == step), None)
        if found is None:
            return False
        level = found.children
    return found is not None and found.kind == "file"


@dataclass
class Posted:
    """A posted form: its fields (files' digests put in), and the files it refused."""

    form: FormData
    pairs: list[tuple[str, str]]
    errors: list[forms.FieldError] = field(default_factory=list)
    status: int = 422


async def read(request: Request, principal: Principal, inputs: list[forms.Input]) -> Posted:
    """The posted form; a multipart one's files stored and named by their digests."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        posted = await request.form()
        return Posted(posted, [(k, v) for k, v in posted.multi_items() if isinstance(v, str)])
    files: Files = request.app.state.files
    try:
        parts = await receive_form(request.headers, request.stream(), files.store, files.limits,
                                   takes_files=takes_files(inputs))
    except Refused as exc:
        return Posted(FormData(), [], [forms.FieldError("_form", exc.message_zh, exc.message)],
                      exc.status)
    await remember(request, principal, [record for _, record in parts.files])
    pairs = with_files(parts.fields, parts.files, inputs)
    errors = [forms.FieldError(
        name if name.startswith(FILE_PREFIX) else "_form",
        text("files.refused", "zh", name=filename or text("files.label", "zh"),
             message=exc.message_zh),
        text("files.refused", "en", name=filename or text("files.label", "en"),
             message=exc.message)) for name, filename, exc in parts.refused]
    status = parts.refused[0][2].status if parts.refused else 422
    return Posted(FormData(pairs), pairs, errors, status)


def with_files(fields: list[tuple[str, str]], stored: list[tuple[str, FileRecord]],
               inputs: list[forms.Input]) -> list[tuple[str, str]]:
    """The posted fields with each stored file's digest put where its input says: a file
    chosen beside an item's digest fills that digest (and the item's description, if left
    empty, with the file's name); each file of a chooser of several is a new item."""
    pairs = list(fields)
    lists = file_lists(inputs)
    for name, record in stored:
        target = name[len(FILE_PREFIX):] if name.startswith(FILE_PREFIX) else ""
        if target in lists:  # several files: a new item each, described by its name
            file_child, text_child = lists[target]
            row = _next_row(pairs, target)
            pairs += [(f"{target}[{row}].{text_child}", record.filename),
                      (f"{target}[{row}].{file_child}", record.sha256)]
        elif _file_input(inputs, target):  # one file beside its digest
            pairs.append((target, record.sha256))
            parent, _, _ = target.rpartition(".")
            described = [f"{parent}.{lists[k][1]}" for k in lists
                         if parent and re.fullmatch(re.escape(k) + r"\[\d{1,2}\]", parent)]
            if described and not any(k == described[0] and v.strip() for k, v in pairs):
                pairs.append((described[0], record.filename))
    return pairs


def _next_row(pairs: list[tuple[str, str]], list_name: str) -> int:
    rows = [int(m.group(1)) for k, _ in pairs if k.startswith(list_name + "[")
            for m in [_INDEX.match(k[len(list_name):])] if m]
    return max(rows, default=-1) + 1


@dataclass
class FilesView:
    """What a form's template needs about files: whether it takes them, its choosers of
    several files, what the chooser accepts, the limits in words, and the names of files
    already attached (by digest)."""

    takes: bool
    lists: dict[str, tuple[str, str]]
    accept: str
    limits: dict[str, str]
    names: dict[str, str]


def _size(n: int) -> str:
    """A limit in words: 1 GB for 1 GiB, 30 MB for 30,000,000 bytes."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{round(n / 1e6, 1):g} MB" if n >= 100_000 else f"{n} B"


async def names_of(request: Request, principal: Principal, values: dict) -> dict[str, str]:
    """``{digest: file name}`` of the files ``values`` names that the caller may see (a
    digest the caller may not see stays a bare digest)."""
    files: Files = request.app.state.files
    names = {}
    for sha in sorted(set(re.findall(r"\b[0-9a-f]{64}\b", repr(values))))[:50]:
        record = await access.visible(request, principal, files.index, sha)
        if record is not None:
            names[sha] = record.filename
    return names


def view(request: Request, inputs: list[forms.Input], names: dict[str, str]) -> FilesView:
    return view_of(inputs, request.app.state.files.limits, names)


def view_of(inputs: list[forms.Input], limits: Limits, names: dict[str, str]) -> FilesView:
    return FilesView(takes=takes_files(inputs), lists=file_lists(inputs), accept=ACCEPT,
                     limits={"image": _size(min(limits.max_image_bytes, limits.max_bytes)),
                             "other": _size(limits.max_bytes), "count": str(limits.max_files)},
                     names=names)
