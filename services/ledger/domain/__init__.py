"""The ledger's pure domain: lifecycle, plans, working days, timers, access, history chain."""

from kit.periods import COUNTY_TZ as LOCAL_TZ  # deadlines are counted in the county's days
from services.ledger.domain.registration import problem_id_for

__all__ = ["LOCAL_TZ", "problem_id_for"]
