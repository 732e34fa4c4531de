"""How the ledger's problem list may be ordered (台账排序): one home for the names the
ledger's query, the API and the workbench's sortable columns share.

The orders and the indexes that serve them (``services/ledger/adapters/orm.py``): newest and
oldest by ``registered_at``; ``due`` (the running clock's deadline, soonest or longest past
first) by ``(unit, due_on)``, ``(supervisor, due_on)`` and ``due_on``, whoever lists;
``progress`` (the unit's last progress, longest ago first) by the progress-clock index in
the stalled list, where it is meant to be used (elsewhere it sorts the ids in scope).
"""
from __future__ import annotations

from enum import StrEnum


class ProblemSort(StrEnum):
    NEWEST = "newest"      # registered most recently first (the default)
    OLDEST = "oldest"      # registered longest ago first
    DUE = "due"            # the deadline of the running clock, soonest (or longest past) first
    PROGRESS = "progress"  # the unit's last progress, longest ago first (停滞时间最长)


DEFAULT_SORT = ProblemSort.NEWEST
