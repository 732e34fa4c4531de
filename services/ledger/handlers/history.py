"""The history chain (留痕): verify it whole (against a head published earlier, if given),
and its head, signed as a checkpoint."""
from __future__ import annotations

from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import chain


def verify_chain(uow: LedgerUnitOfWork, between_batches=None, published: dict | None = None
                 ) -> dict:
    """Re-hash the whole chain, check each entry is filed under the problem it was hashed
    for and each problem's row against the state its history binds; with ``published``
    ({seq, hash}, a head published earlier) prove that today's chain extends it."""
    given = chain.Published(int(published["seq"]), str(published["hash"])) if published \
        else None
    with uow:
        uow.history.snapshot()
        verdict = chain.verify_stored(uow.history.chain(between_batches=between_batches), given)
        head = uow.history.head()
        rows = chain.verify_rows(
            uow.history.problem_states(between_batches=between_batches),
            deleted=uow.history.problems_without_rows(chain.NAMED_AT_MOST))
    at_head = verdict.head_hash == head["hash"] and verdict.checked == head["seq"]
    problem = verdict.problem
    if problem is None and not at_head:
        problem = "the chain's head does not match its last entry (entries removed at the end)"
    if problem is None and verdict.misfiled_count:
        first = verdict.misfiled[0]
        problem = f"entry {first['seq']}: {first['problem']}"
    if problem is None and rows.disagreeing_count:
        first = rows.disagreeing[0]
        problem = f"problem {first['problem_id']}: {first['problem']}"
    answer = {"ok": problem is None, "checked": verdict.checked, "head": head,
              "first_broken_seq": verdict.first_broken_seq, "problem": problem,
              "misfiled": verdict.misfiled, "misfiled_count": verdict.misfiled_count,
              "problems_checked": rows.checked, "disagreeing": rows.disagreeing,
              "disagreeing_count": rows.disagreeing_count}
    if given is not None:
        answer["published"] = {"seq": given.seq, "hash": given.hash,
                               "extended": bool(verdict.extends_published)}
    return answer


def chain_head(uow: LedgerUnitOfWork, signer=None) -> dict:
    """The chain's head, fit to publish; signed as a checkpoint when a signer is given."""
    with uow:
        head = uow.history.head()
    return signer.checkpoint(head["seq"], head["hash"]) if signer is not None else head
