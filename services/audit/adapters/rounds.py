"""The spot-check rounds' tables (抽查轮次) and their queries, on the audit store's metadata.

* ``population``: every item a round may draw from (查否、零报告、已销号), by unit, period and
  stratum, kept from the ledger's events (``services.audit.rounds.after_*``);
* ``rechecker_accounts``: the account directory's spot-check people and their units (回避);
* ``rounds``: one row per round: its frozen manifest and parameters, chain entries, seed;
* ``round_items``: the sampled items, their assignment and verdict;
* ``round_results``: per unit and stratum, the figures a closed round publishes."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON, Boolean, Column, DateTime, Integer, LargeBinary, String, Table, Text, and_, insert,
    select, update,
)

from contracts.vocabulary import Stratum
from services.audit.adapters.orm import metadata
from services.audit.rounds import PopulationItem

population = Table(
    "population", metadata,
    Column("item_id", String(64), primary_key=True),
    Column("unit", String(64), nullable=False, index=True),
    Column("stratum", String(32), nullable=False),
    Column("period", String(7), nullable=False, index=True),
    Column("problem_id", String(64)),
    Column("category", String(64)),
    Column("outcome", String(32)),
    Column("week", String(16)),
    Column("seq", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rechecker_accounts = Table(
    "rechecker_accounts", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("org_code", String(64)),
    Column("active", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

rounds = Table(
    "rounds", metadata,
    Column("round_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("period", String(7), nullable=False, index=True),
    Column("unit", String(64)),
    Column("stratum", String(32)),
    Column("status", String(16), nullable=False),
    Column("manifest", LargeBinary, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("params", LargeBinary, nullable=False),
    Column("sampler_version", String(200), nullable=False),
    Column("population", Integer, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("manifest_entry", JSON),
    Column("seed", String(200)),
    Column("seed_by", String(64)),
    Column("seed_at", DateTime(timezone=True)),
    Column("seed_entry", JSON),
    Column("closed_by", String(64)),
    Column("closed_at", DateTime(timezone=True)),
    Column("close_reason", Text),
    Column("closed_entry", JSON),
)

round_items = Table(
    "round_items", metadata,
    Column("round_id", String(64), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("unit", String(64), nullable=False, index=True),
    Column("stratum", String(32), nullable=False),
    Column("problem_id", String(64)),
    Column("rank", Integer, nullable=False),
    Column("assigned_to", String(64), index=True),
    Column("assigned_by", String(64)),
    Column("assigned_at", DateTime(timezone=True)),
    Column("material_requested_at", DateTime(timezone=True)),
    Column("verdict", String(32)),
    Column("findings", Text),
    Column("evidence", JSON),
    Column("recorded_by", String(64)),
    Column("recorded_at", DateTime(timezone=True)),
)

round_results = Table(
    "round_results", metadata,
    Column("round_id", String(64), primary_key=True),
    Column("unit", String(64), primary_key=True),
    Column("stratum", String(32), primary_key=True),
    Column("period", String(7), nullable=False, index=True),
    Column("population", Integer, nullable=False),
    Column("sampled", Integer, nullable=False),
    Column("checked", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("upper_bound", String(64), nullable=False),
    Column("decision", String(32), nullable=False),
    Column("full_review", Boolean, nullable=False),
)


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- population -----------------------------------------------------------------------------

def _item(row) -> PopulationItem:
    return PopulationItem(row.item_id, row.unit, Stratum(row.stratum), row.period,
                          row.problem_id, row.category, row.outcome, row.seq, row.active,
                          row.week)


def get_item(session, item_id: str, lock: bool = False) -> PopulationItem | None:
    query = select(population).where(population.c.item_id == item_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).first()
    return _item(row) if row else None


def put_item(session, item: PopulationItem) -> None:
    values = {"unit": item.unit, "stratum": item.stratum.value, "period": item.period,
              "problem_id": item.problem_id, "category": item.category,
              "outcome": item.outcome, "week": item.week, "seq": item.seq,
              "active": item.active, "updated_at": now()}
    done = session.execute(update(population).where(population.c.item_id == item.item_id)
                           .values(**values))
    if not done.rowcount:
        session.execute(insert(population).values(item_id=item.item_id, **values))


def items_of_period(session, period: str) -> list[PopulationItem]:
    rows = session.execute(select(population).where(and_(population.c.period == period,
                                                         population.c.active.is_(True))))
    return [_item(r) for r in rows]


def population_counts(session, period: str) -> list[dict]:
    rows = session.execute(select(population.c.unit, population.c.stratum, population.c.active)
                           .where(population.c.period == period))
    counts: dict[tuple[str, str], int] = {}
    for unit, stratum, active in rows:
        if active:
            counts[(unit, stratum)] = counts.get((unit, stratum), 0) + 1
    return [{"unit": u, "stratum": s, "items": n} for (u, s), n in sorted(counts.items())]


# --- re-checkers ----------------------------------------------------------------------------

def put_account(session, *, account_id: str, username: str, role: str, org_code: str | None,
                active: bool, changed_at: datetime) -> None:
    """The directory's newest word about an account; an older message changes nothing."""
    row = session.execute(select(rechecker_accounts.c.changed_at)
                          .where(rechecker_accounts.c.account_id == account_id)
                          .with_for_update()).first()
    values = {"username": username, "role": role, "org_code": org_code, "active": active,
              "changed_at": changed_at}
    if row is None:
        session.execute(insert(rechecker_accounts).values(account_id=account_id, **values))
        return
    held = row.changed_at if row.changed_at.tzinfo else row.changed_at.replace(
        tzinfo=timezone.utc)
    if changed_at >= held:
        session.execute(update(rechecker_accounts)
                        .where(rechecker_accounts.c.account_id == account_id).values(**values))


def recheckers(session) -> list[dict]:
    rows = session.execute(select(rechecker_accounts)
                           .where(and_(rechecker_accounts.c.role == "spot_check",
                                       rechecker_accounts.c.active.is_(True)))
                           .order_by(rechecker_accounts.c.username))
    return [{"username": r.username, "org_code": r.org_code} for r in rows]


# --- rounds ---------------------------------------------------------------------------------

def add_round(session, **values) -> None:
    session.execute(insert(rounds).values(**values))


def get_round(session, round_id: str, lock: bool = False):
    query = select(rounds).where(rounds.c.round_id == round_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query).first()


def set_round(session, round_id: str, **values) -> None:
    session.execute(update(rounds).where(rounds.c.round_id == round_id).values(**values))


def list_rounds(session, period: str | None = None) -> list:
    query = select(rounds.c.round_id, rounds.c.kind, rounds.c.period, rounds.c.unit,
                   rounds.c.stratum, rounds.c.status, rounds.c.population,
                   rounds.c.manifest_sha256, rounds.c.opened_by, rounds.c.opened_at,
                   rounds.c.closed_at).order_by(rounds.c.opened_at.desc())
    if period:
        query = query.where(rounds.c.period == period)
    return list(session.execute(query))


def pending_chain_rounds(session) -> list[str]:
    """Rounds with a step done here whose chain entry is not recorded yet (a crash between)."""
    rows = session.execute(select(rounds.c.round_id).where(
        (rounds.c.manifest_entry.is_(None)) |
        (rounds.c.seed.is_not(None) & rounds.c.seed_entry.is_(None)) |
        (rounds.c.closed_at.is_not(None) & rounds.c.closed_entry.is_(None))))
    return [r.round_id for r in rows]


def add_items(session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(round_items), rows)


def items_of_round(session, round_id: str) -> list:
    return list(session.execute(select(round_items).where(round_items.c.round_id == round_id)
                                .order_by(round_items.c.unit, round_items.c.stratum,
                                          round_items.c.rank)))


def get_round_item(session, round_id: str, item_id: str, lock: bool = False):
    query = select(round_items).where(and_(round_items.c.round_id == round_id,
                                           round_items.c.item_id == item_id))
    if lock:
        query = query.with_for_update()
    return session.execute(query).first()


def set_round_item(session, round_id: str, item_id: str, **values) -> None:
    session.execute(update(round_items).where(and_(round_items.c.round_id == round_id,
                                                   round_items.c.item_id == item_id))
                    .values(**values))


def assigned_to(session, username: str) -> list:
    query = (select(round_items, rounds.c.period, rounds.c.kind, rounds.c.status)
             .join(rounds, rounds.c.round_id == round_items.c.round_id)
             .where(round_items.c.assigned_to == username)
             .order_by(round_items.c.verdict.is_not(None), rounds.c.opened_at,
                       round_items.c.unit, round_items.c.rank))
    return list(session.execute(query))


def items_of_units(session, units: list[str]) -> list:
    query = (select(round_items, rounds.c.period, rounds.c.kind, rounds.c.status)
             .join(rounds, rounds.c.round_id == round_items.c.round_id)
             .where(round_items.c.unit.in_(units)).order_by(rounds.c.opened_at))
    return list(session.execute(query))


def add_results(session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(round_results), rows)


def results(session, *, period: str | None = None, round_id: str | None = None,
            units: list[str] | None = None) -> list:
    query = select(round_results).order_by(round_results.c.period, round_results.c.unit,
                                           round_results.c.stratum)
    if period:
        query = query.where(round_results.c.period == period)
    if round_id:
        query = query.where(round_results.c.round_id == round_id)
    if units is not None:
        query = query.where(round_results.c.unit.in_(units))
    return list(session.execute(query))
