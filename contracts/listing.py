"""How the ledger's problem list may be ordered (台账排序): one home for the names the
ledger's query, the API and the workbench's sortable columns share.

Each order is served by an index in the list it is meant for (``services/ledger/adapters/
orm.py``): newest and oldest by ``registered_at``; ``due`` (the running clock's deadline,
soonest first) by the open-clock index in the overdue list and by ``(state, due_on)`` under a
state filter; ``progress`` (least recent progress first) by the progress-clock index in the
stalled list. A unit's inbox is a handful of rows, sorted in memory whatever the order.
"""
from __future__ import annotations

from enum import StrEnum


class ProblemSort(StrEnum):
    NEWEST = "newest"      # registered most recently first (the default)
    OLDEST = "oldest"      # registered longest ago first
    DUE = "due"            # the deadline of the running clock, soonest (or longest past) first
    PROGRESS = "progress"  # the unit's last progress, longest ago first (停滞时间最长)


DEFAULT_SORT = ProblemSort.NEWEST
