"""Audit's rules (查否复查). For now it keeps the population every later spot-check draws
from: each clue accepted and each problem registered, with the unit it concerns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    event_id: str
    event_type: str
    subject_id: str
    unit: str | None


def observe(event_id: str, event_type: str, subject_id: str, unit: str | None) -> Observation:
    return Observation(event_id, event_type, subject_id, unit)
