"""The ledger's rules (台账), plain Python.

Every clue becomes one problem, registered one by one (逐一进行登记). The full lifecycle
(交办, 查实/查否, 整改, 销号) builds on this module.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

REGISTERED = "registered"


@dataclass(frozen=True)
class NewProblem:
    id: str
    clue_id: str
    channel: str
    title: str
    description: str
    unit: str | None
    category: str | None
    kind: str | None
    status: str
    registered_at: datetime


def problem_id_for(clue_id: str) -> str:
    """Deterministic: the same clue always maps to the same problem id."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"clue:{clue_id}").hex


def register(*, clue_id: str, channel: str, title: str, description: str, unit: str | None,
             category: str | None, kind: str | None, now: datetime) -> NewProblem:
    """Register a clue as a problem (登记)."""
    return NewProblem(id=problem_id_for(clue_id), clue_id=clue_id, channel=channel,
                      title=title, description=description, unit=unit, category=category,
                      kind=kind, status=REGISTERED, registered_at=now)
