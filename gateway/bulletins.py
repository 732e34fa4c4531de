"""The monthly bulletin (月通报) in the gateway: draft, publish, read, for the JSON API
(``gateway/routes/bulletins.py``) and the workbench (``gateway/workbench/bulletins.py``).

The ledger gives the figures and keeps the published record as a chain entry
(``services/ledger/handlers/bulletins.py``); the gateway composes and prints the bulletin
(``gateway/workbench/bulletin_doc.py``) and keeps the PDF's bytes in its blob store
(``gateway/files``), content-addressed by the SHA-256 the chain entry carries. The PDF is
written to the blob store before the ledger is asked to publish: a refusal leaves at worst an
unreferenced blob, never a chain entry without its PDF.
"""
from __future__ import annotations

import hashlib

from starlette.concurrency import run_in_threadpool

from gateway.routes.problems import actor
from gateway.workbench import bulletin_doc
from kit import bulletin as rules


async def draft(request, principal, month: str, *, min_problems: int = rules.MIN_PROBLEMS,
                cases: list[str] | None = None) -> bulletin_doc.Document:
    """The month's draft from the ledger's figures now (the county office only: the ledger
    refuses anyone else)."""
    rules.check_month(month)
    answer = await request.app.state.broker.call("ledger", "bulletin_figures",
                                                 actor=actor(principal), month=month)
    # the month's closed spot-check rounds (抽查复查), as the audit service published them
    checks = await request.app.state.broker.call("audit", "spot_check_results",
                                                 actor=actor(principal), period=month)
    answer = {**answer, "spot_checks": checks["items"]}
    b = bulletin_doc.compose(answer, min_problems=min_problems, cases=cases)
    earlier = await listing(request, principal)
    return bulletin_doc.document(b, head=answer["head"], as_of=answer["as_of"],
                                 weeks=answer["weeks"],
                                 trend=bulletin_doc.trend_of(earlier["items"], b))


def _store_pdf(store, pdf: bytes) -> str:
    writer = store.writer()
    try:
        writer.write(pdf)
        blob = writer.commit()
    except BaseException:
        writer.abort()
        raise
    if blob.sha256 != hashlib.sha256(pdf).hexdigest():
        raise RuntimeError("the blob store's digest differs from the PDF's")
    return blob.sha256


async def publish(request, principal, month: str, *, min_problems: int = rules.MIN_PROBLEMS,
                  cases: list[str] | None = None, reviewed: str | None = None) -> dict:
    """Draft, print, store the PDF, and publish: the ledger appends the chain entry holding
    the PDF's SHA-256, or refuses (a month is published once). ``reviewed``: the digest of
    the draft the county office reviewed; if the figures changed since, nothing is published
    (review the new draft)."""
    doc = await draft(request, principal, month, min_problems=min_problems, cases=cases)
    if reviewed is not None and reviewed != doc.bulletin.digest():
        raise rules.BulletinRefused(
            "bulletin_changed", "reviewed", "the figures changed since the draft was reviewed; "
            "review the new draft", "审阅草稿后数据已有变化,请重新审阅后再发布", status="conflict")
    doc.status = "published"
    pdf = await run_in_threadpool(bulletin_doc.pdf, doc)
    digest = await run_in_threadpool(_store_pdf, request.app.state.files.store, pdf)
    figures = {**doc.bulletin.to_dict(), "as_of": doc.as_of, "weeks": doc.weeks}
    return await request.app.state.broker.call(
        "ledger", "publish_bulletin", actor=actor(principal), month=month, pdf_sha256=digest,
        pdf_size=len(pdf), figures=figures, head=doc.head)


async def listing(request, principal) -> dict:
    return await request.app.state.broker.call("ledger", "list_bulletins",
                                               actor=actor(principal))


async def published(request, principal, month: str) -> dict:
    rules.check_month(month)
    return await request.app.state.broker.call("ledger", "get_bulletin",
                                               actor=actor(principal), month=month)


def as_document(entry: dict, published: list[dict] | None = None) -> bulletin_doc.Document:
    """A published bulletin's document, from the figures its chain entry holds."""
    f = entry["figures"]
    rows = [rules.BulletinRow(**r) for r in f["rows"]]
    by_unit = {r.unit: r for r in rows}
    b = rules.Bulletin(
        month=f["month"], min_problems=f["min_problems"], rows=rows,
        rankings=[rules.Ranking(**k) for k in f["rankings"]],
        small_units=[by_unit[r["unit"]] for r in f["small_units"]], totals=f["totals"],
        cases=list(f["cases"]), spot_checks=list(f.get("spot_checks") or []))
    return bulletin_doc.document(b, head=entry["printed_head"], as_of=f.get("as_of", ""),
                                 weeks=list(f.get("weeks") or []),
                                 published={"published_by": entry.get("published_by"),
                                            "at": entry.get("at"),
                                            "pdf_sha256": entry.get("pdf_sha256")},
                                 trend=bulletin_doc.trend_of(published or [], b))


