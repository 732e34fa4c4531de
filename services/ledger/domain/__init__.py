"""The ledger's pure domain: lifecycle, plans, working days, timers, access, history chain."""
from zoneinfo import ZoneInfo

from services.ledger.domain.registration import problem_id_for

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # deadlines are counted in the county's own days

__all__ = ["LOCAL_TZ", "problem_id_for"]
