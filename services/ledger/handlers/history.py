"""The history chain (留痕): verify it whole, and its head."""
from __future__ import annotations

from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import chain


def verify_chain(uow: LedgerUnitOfWork, between_batches=None) -> dict:
    with uow:
        verdict = chain.verify(uow.history.chain(between_batches=between_batches))
        head = uow.history.head()
    ok = verdict.ok and verdict.head_hash == head["hash"] and verdict.checked == head["seq"]
    problem = verdict.problem
    if verdict.ok and not ok:
        problem = "the chain's head does not match its last entry (entries removed at the end)"
    return {"ok": ok, "checked": verdict.checked, "head": head,
            "first_broken_seq": verdict.first_broken_seq, "problem": problem}


def chain_head(uow: LedgerUnitOfWork) -> dict:
    with uow:
        return uow.history.head()
