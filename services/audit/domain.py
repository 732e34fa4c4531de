"""Audit's observations (查否复查): each clue accepted and each problem registered or moved,
with the unit it concerns, and the outcome and category a stratum needs. The spot-check
rounds' rules are in ``services/audit/rounds.py``."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    event_id: str
    event_type: str
    subject_id: str
    unit: str | None
    outcome: str | None = None
    category: str | None = None


def observe(event_id: str, event_type: str, subject_id: str, unit: str | None,
            outcome: str | None = None, category: str | None = None) -> Observation:
    return Observation(event_id, event_type, subject_id, unit, outcome, category)
