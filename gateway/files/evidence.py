"""Files named by an action's evidence or a work plan's document must exist (佐证材料核验).

An action body may name files by digest (``evidence[i].sha256``, ``document_sha256``). Each
must be a file in the blob store that the caller may see, or the request is refused (422)
before the ledger hears of it; once the ledger accepted the step, the files are tied to the
problem, so whoever may see the problem may see its evidence (the redacted copy).
"""
from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool

from gateway.auth.principal import Principal
from gateway.errors import problem
from gateway.files import access


def evidence_digests(args) -> list[tuple[str, str]]:
    """(field, sha256) of each evidence item of an action's input that names a file."""
    items = getattr(args, "evidence", None) or ()
    return [(f"evidence[{i}].sha256", item.sha256) for i, item in enumerate(items)
            if item.sha256]


async def require_files(request, principal: Principal,
                        digests: Iterable[tuple[str, str]]) -> list[str]:
    """The originals of the named files; 422 ``unknown_file`` naming the first missing."""
    files = request.app.state.files
    originals: list[str] = []
    for field, sha256 in digests:
        record = await access.visible(request, principal, files.index, sha256)
        if record is None or not await run_in_threadpool(files.store.exists, sha256):
            raise problem(422, "unknown_file",
                          f"No uploaded file has the SHA-256 {sha256}; upload it first "
                          f"(POST /api/v1/files).",
                          f"未找到摘要为 {sha256} 的已上传文件,请先上传文件。", field)
        originals.append(record.sha256)
    return originals


async def tie_files(request, originals: list[str], kind: str, ref: str) -> None:
    """Record that these files belong to a problem (or a unit's work plan)."""
    if originals:
        await run_in_threadpool(request.app.state.files.index.link, originals, kind, ref)
