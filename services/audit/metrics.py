"""The audit service's gauges for Prometheus, computed when it scrapes (``kit.metrics``):
sampling rounds by kind and status, and sampled items by re-check verdict ("pending" until
recorded). Both tables hold a few rows per unit and month: a grouped count is cheap."""
from __future__ import annotations

from sqlalchemy import func, select

from contracts.vocabulary import RecheckVerdict
from kit.metrics import family
from services.audit.adapters.rounds import round_items, rounds
from services.audit.rounds import RoundKind, RoundStatus


def round_counts(session) -> dict[tuple[str, str], int]:
    found = {(kind.value, status.value): 0 for kind in RoundKind for status in RoundStatus}
    for kind, status, n in session.execute(
            select(rounds.c.kind, rounds.c.status, func.count())
            .group_by(rounds.c.kind, rounds.c.status)):
        found[(kind, status)] = int(n)
    return found


def recheck_counts(session) -> dict[str, int]:
    found = {"pending": 0, **{verdict.value: 0 for verdict in RecheckVerdict}}
    for verdict, n in session.execute(select(round_items.c.verdict, func.count())
                                      .group_by(round_items.c.verdict)):
        found[verdict or "pending"] = int(n)
    return found


def gauges(session, config: dict):
    yield family("audit_rounds", "Sampling rounds (抽查轮次) by kind and status",
                 ["kind", "status"], round_counts(session).items())
    yield family("audit_rechecks", "Sampled items by re-check verdict (复查结论; pending: "
                 "not yet recorded)", ["verdict"],
                 (((v,), n) for v, n in recheck_counts(session).items()))
