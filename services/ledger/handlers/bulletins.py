"""The monthly bulletin (月通报) in the ledger: its figures, and publishing it.

Where a published bulletin is kept: as one entry of the ledger's hash chain (留痕), action
``publish_bulletin``, ``problem_id`` none, holding the month, the figures (JSON, as the
bulletin printed them), the PDF's SHA-256 and size, the chain head printed on it and who
published it when. The PDF's bytes are kept by the gateway in its blob store
(``gateway/files``, content-addressed by that SHA-256). A chain entry is never changed, so a
published bulletin is immutable; a second publication of the same month is refused under the
chain head's lock. No table of its own: the chain is the record.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from contracts.events import ReportCycleEvent
from contracts.vocabulary import CycleEvent, ReopenSource
from services.ledger.adapters.orm import utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import LOCAL_TZ
from kit import bulletin as rules
from services.ledger.domain import reports as report_rules
from services.ledger.domain.access import NotPermitted
from services.ledger.domain.actions import Actor
from kit.bulletin import BulletinRefused
from services.ledger.handlers import views
from services.ledger.handlers.common import rules_of

ACTION = "publish_bulletin"
READERS = ("county_office", "supervisor", "spot_check")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _county_office(actor: Actor) -> None:
    if actor.role != "county_office":
        raise NotPermitted("only the county office drafts and publishes the bulletin",
                           "仅县委办公室可起草和发布月通报")


def figures(uow: LedgerUnitOfWork, campaign, *, actor: Actor, month: str,
            today: date | None = None) -> dict:
    """The month's per-unit figures for a draft: the month's snapshot (taken by the monthly
    cycle once the month's figures are all known, ``take_snapshots``) where there is one, else
    the figures now (a month still running, or not yet snapshotted)."""
    _county_office(actor)
    rules.check_month(month)
    with uow:
        snapshot = _snapshot(uow, month)
    if snapshot is not None:
        return snapshot
    return compute(uow, campaign, month=month, today=today)


def compute(uow: LedgerUnitOfWork, campaign, *, month: str, today: date | None = None) -> dict:
    """The month's per-unit figures at this moment: the roll-up's rows, each reporting unit's
    missing weekly reports and contradicted zero reports in the month's weeks (a week counts
    once its report is due), the problems rectified by their plan's deadline (按期整改), and
    the chain head."""
    today = today or datetime.now(LOCAL_TZ).date()
    rollup = views.rollup(uow, campaign, actor=SYSTEM, today=today)
    weeks = [w for w in _month_weeks(campaign, month)
             if _week_due(campaign, w) < today]
    expected = [o.code for o in report_rules.reporting_units(campaign)]
    missing: dict[str, int] = {}
    contradicted: dict[str, int] = {}
    with uow:
        for week in weeks:
            filed = {r.unit: r for r in uow.reports.latest(units=None, period=week)}
            for code in expected:
                if code not in filed:
                    missing[code] = missing.get(code, 0) + 1
                elif filed[code].contradiction is not None:
                    contradicted[code] = contradicted.get(code, 0) + 1
        new = uow.views.registered_between(*_month_bounds(month))
        on_time = rules.on_time_counts(uow.views.rectification_reports(), LOCAL_TZ)
        overturned = uow.views.reopened_between(*_month_bounds(month), OVERTURNED_BY)
        head = uow.history.head()
    names = {o.code: o.name_zh for o in campaign.organizations}
    return {"month": month, "as_of": today.isoformat(), "weeks": weeks,
            "units": rollup["units"], "missing": missing, "contradicted": contradicted,
            "new": {unit: n for unit, n in new.items() if unit}, "on_time": on_time,
            "overturned": overturned, "expected": expected, "names": names, "head": head}


SYSTEM = Actor("system", "county_office", None)
# closures reopened because a re-check found them wrong (查否被推翻): spot checks and look-backs
OVERTURNED_BY = (ReopenSource.SPOT_CHECK.value, ReopenSource.LOOK_BACK.value)
SNAPSHOT = "bulletin_snapshot"
# A month's figures are frozen within this many days of its end (its last week's report is
# due a working day or so later, 国庆 a week); a store started or restored later leaves the
# month to drafts of the figures now, dated as such, rather than stamp today on it.
SNAPSHOT_WITHIN_DAYS = 31


def _month_weeks(campaign, month: str) -> list[str]:
    calendar = rules_of(campaign).calendar
    return rules.month_weeks(report_rules.reporting_weeks(campaign, calendar), month)


def _week_due(campaign, week: str) -> date:
    calendar = rules_of(campaign).calendar
    return report_rules.weekly_deadline(calendar, week, report_rules.Rules.of(campaign)).due_on


def _snapshot(uow: LedgerUnitOfWork, month: str) -> dict | None:
    for entry in uow.history.entries(SNAPSHOT):
        data = entry.get("data") or {}
        if data.get("month") == month:
            return {**data["figures"], "snapshot": {"seq": entry["seq"], "hash": entry["hash"],
                                                    "at": entry.get("at")}}
    return None


def snapshot_months(campaign, day: date) -> list[str]:
    """The campaign's months whose figures are all known on ``day`` and still fresh: the month
    ended at most ``SNAPSHOT_WITHIN_DAYS`` ago and every reporting week counted in it is past
    its report's deadline (so its missing reports are final). Oldest first."""
    first, last = campaign.campaign.start, campaign.campaign.end
    months, year, number = [], first.year, first.month
    while (year, number) <= (last.year, last.month):
        month = f"{year:04d}-{number:02d}"
        after = date(year + number // 12, number % 12 + 1, 1)   # the month's next day
        fresh = after <= day <= after + timedelta(days=SNAPSHOT_WITHIN_DAYS)
        if fresh and all(_week_due(campaign, w) < day for w in _month_weeks(campaign, month)):
            months.append(month)
        year, number = year + number // 12, number % 12 + 1
    return months


def take_snapshots(uow: LedgerUnitOfWork, campaign, day: date,
                   now: datetime | None = None) -> int:
    """The monthly cycle (``ledger.report_cycle``'s companion job, once per working day): the
    latest month whose figures are all known gets, if it has none yet, a snapshot: a chain
    entry holding its figures as of ``day``; the county office hears that the month's draft is
    ready (``cycle.bulletin_drafted``). Only the latest: a store started (or restored) late
    does not stamp today's figures on months long past; those drafts read the figures now,
    dated as such. Inside the caller's transaction (it commits)."""
    taken = 0
    for month in snapshot_months(campaign, day)[-1:]:
        if _snapshot(uow, month) is not None:
            continue
        figures = compute(uow, campaign, month=month, today=day)
        uow.history.append(problem_id=None, action=SNAPSHOT, actor="system", at=now or utcnow(),
                           data={"month": month, "figures": figures})
        uow.emit(ReportCycleEvent(event_id=f"cycle-bulletin-{month}",
                                  name=CycleEvent.BULLETIN_DRAFTED, what="bulletin",
                                  period=month, unit=None, due_on=day,
                                  details={"as_of": day.isoformat()}))
        taken += 1
    return taken


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month in the county's time, as [first instant, first instant of the next)."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=LOCAL_TZ)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=LOCAL_TZ)
    return start, end


def _entries(uow: LedgerUnitOfWork, month: str | None = None) -> list[dict]:
    out = []
    for entry in uow.history.entries(ACTION):
        data = entry.get("data") or {}
        if month is None or data.get("month") == month:
            out.append({"seq": entry["seq"], "hash": entry["hash"], "at": entry.get("at"),
                        "actor": entry.get("actor"), **data})
    return out


def publish(uow: LedgerUnitOfWork, campaign, *, actor: Actor, month: str, pdf_sha256: str,
            pdf_size: int, figures: dict, head: dict, now: datetime | None = None) -> dict:
    """Publish the month's bulletin: one chain entry carrying its PDF's SHA-256. A month is
    published once; a second time is refused and nothing changes."""
    _county_office(actor)
    rules.check_month(month)
    if not isinstance(pdf_sha256, str) or not SHA256.match(pdf_sha256):
        raise BulletinRefused("invalid_bulletin", "pdf_sha256", "a SHA-256 in hex",
                              "PDF 摘要应为十六进制 SHA-256")
    now = now or utcnow()
    with uow:
        uow.history.lock_head()   # serializes publishers: a month is published once
        if _entries(uow, month):
            raise BulletinRefused("bulletin_published", "month",
                                  f"the bulletin of {month} is published already",
                                  f"{month} 月通报已发布,不能再次发布或更改", status="conflict")
        data = {"month": month, "pdf_sha256": pdf_sha256, "pdf_size": int(pdf_size),
                "printed_head": {"seq": int(head["seq"]), "hash": str(head["hash"])},
                "published_by": actor.username, "figures": figures}
        seq = uow.history.append(problem_id=None, action=ACTION, actor=actor.username, at=now,
                                 data=data)
        uow.commit()
    return {"month": month, "history_seq": seq, "pdf_sha256": pdf_sha256,
            "published_by": actor.username, "published_at": now.isoformat()}


def listing(uow: LedgerUnitOfWork, campaign, *, actor: Actor) -> dict:
    """The published bulletins, latest first, with their totals (for the trend) but not
    their rows."""
    if actor.role not in READERS:
        raise NotPermitted("bulletins are for the county office, supervising bodies and the "
                           "spot-check team", "月通报仅供县委办公室、系统分管部门和抽查组查看")
    with uow:
        items = [{**{k: v for k, v in e.items() if k != "figures"},
                  "totals": (e.get("figures") or {}).get("totals")} for e in _entries(uow)]
    return {"items": items, "total": len(items)}


def get(uow: LedgerUnitOfWork, campaign, *, actor: Actor, month: str) -> dict:
    """One published bulletin with its figures."""
    listing(uow, campaign, actor=actor)   # the same readers
    rules.check_month(month)
    with uow:
        found = _entries(uow, month)
    if not found:
        raise BulletinRefused("not_found", "month", f"no bulletin published for {month}",
                              f"{month} 月通报尚未发布", status="not_found")
    return found[0]
