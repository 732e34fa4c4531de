"""Registration (登记): every clue becomes one problem, registered one by one (逐一进行登记)."""
from __future__ import annotations

from datetime import datetime

from contracts.events import problem_id_for
from services.ledger.domain.lifecycle import Problem


def register(*, clue_id: str, channel: str, title: str, description: str, unit: str | None,
             category: str | None, kind: str | None, self_found: bool,
             now: datetime, requested_by: str | None = None) -> Problem:
    """``requested_by``: the partner platform whose own request the clue was (协作平台)."""
    return Problem(id=problem_id_for(clue_id), clue_id=clue_id, channel=channel, title=title,
                   description=description, unit=unit, category=category, kind=kind,
                   registered_at=now, self_found=self_found, requested_by=requested_by)
