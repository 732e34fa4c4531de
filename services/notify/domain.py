"""Who hears of what (通知). Plain rules: a newly registered problem is announced to the
county office (县委办公室), which dispatches it; later issues add units and deadlines."""
from __future__ import annotations

from dataclasses import dataclass

COUNTY_OFFICE = "county_office"


@dataclass(frozen=True)
class Notice:
    recipient: str
    subject_zh: str
    subject_en: str
    ref: str


def on_problem_registered(problem_id: str, title: str) -> list[Notice]:
    return [Notice(recipient=COUNTY_OFFICE,
                   subject_zh=f"新问题已登记入台账,待交办:{title}",
                   subject_en=f"New problem registered, awaiting dispatch: {title}",
                   ref=problem_id)]
