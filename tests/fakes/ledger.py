"""A fake ledger unit of work: the interface of ``services.ledger.adapters.uow.
LedgerUnitOfWork`` (its repositories, inbox, outbox, nesting and commit) over plain Python
objects, so the ledger's handlers are tested in milliseconds (cosmicpython's
``FakeUnitOfWork``).

One ``FakeLedgerStore`` is the database: units of work made on it share it. As in the
real store, what a transaction did is kept only if it commits: leaving the outermost
``with uow`` without a commit restores the store as it was when the transaction opened."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from contracts.events import Event
from kit.uow import AlreadyProcessed
from services.ledger.adapters.problems import count_key
from services.ledger.adapters.repository import WorkPlan
from services.ledger.domain import chain
from services.ledger.domain.duplicates import Candidate
from services.ledger.domain.lifecycle import Problem, State
from services.ledger.domain.timers import STALL_STATES, due_on

EPOCH = datetime(2017, 1, 1, tzinfo=timezone.utc)


def row_digest(problem: Problem, supervisor: str | None) -> str:
    """The fake store's digest of a problem's row (the real one: ``adapters.history``)."""
    return hashlib.sha256(chain.canonical(
        {**dataclasses.asdict(problem), "supervisor": supervisor})).hexdigest()


class FakeProblems:
    def __init__(self):
        self.rows: dict[str, Problem] = {}
        self.supervisor: dict[str, str | None] = {}
        self.links: list[dict] = []          # problem_id, clue_id, channel, via, linked_at
        self.counts: Counter = Counter()     # the maintained counts, by count key
        self.saved: list[str] = []  # every save(), kept when its transaction rolls back
        self._clock = itertools.count()

    def add(self, problem: Problem, supervisor: str | None) -> str:
        self.rows[problem.id] = copy.deepcopy(problem)
        self.supervisor[problem.id] = supervisor
        self.link_clue(problem.id, problem.clue_id, problem.channel, "registered")
        for part in count_key(problem, supervisor):
            self.counts[part] += 1
        return row_digest(problem, supervisor)

    def get(self, problem_id: str) -> Problem | None:
        found = self.rows.get(problem_id)
        return copy.deepcopy(found) if found is not None else None

    get_for_update = get

    @staticmethod
    def count_key(problem: Problem, supervisor: str | None) -> tuple[tuple, tuple]:
        return count_key(problem, supervisor)

    def save(self, problem: Problem, supervisor: str | None, counted_as: tuple) -> None:
        assert problem.id in self.rows, "save() of a problem never added"
        self.rows[problem.id] = copy.deepcopy(problem)
        self.supervisor[problem.id] = supervisor
        self.saved.append(problem.id)
        for before, after in zip(counted_as, count_key(problem, supervisor)):
            if before != after:
                self.counts[before] -= 1
                self.counts[after] += 1
        return row_digest(problem, supervisor)

    def count_satisfaction(self, unit: str | None, supervisor: str | None,
                           satisfaction: str) -> None:
        self.counts[(unit or "", supervisor or "", satisfaction)] += 1

    def link_clue(self, problem_id: str, clue_id: str, channel: str, via: str) -> None:
        self.links.append({"problem_id": problem_id, "clue_id": clue_id, "channel": channel,
                           "via": via,
                           "linked_at": EPOCH + timedelta(seconds=next(self._clock))})

    def unlink_clue(self, problem_id: str, clue_id: str) -> None:
        self.links = [link for link in self.links
                      if (link["problem_id"], link["clue_id"]) != (problem_id, clue_id)]

    def move_clues(self, from_problem: str, to_problem: str, via: str) -> list[str]:
        moving = [link for link in self.links if link["problem_id"] == from_problem]
        for link in moving:
            self.unlink_clue(from_problem, link["clue_id"])
            self.link_clue(to_problem, link["clue_id"], link["channel"], via)
        return [link["clue_id"] for link in moving]

    def clues_of(self, problem_id: str) -> list[dict]:
        return [{"clue_id": link["clue_id"], "channel": link["channel"], "via": link["via"],
                 "linked_at": link["linked_at"].isoformat()}
                for link in sorted(self.links, key=lambda link: link["linked_at"])
                if link["problem_id"] == problem_id]

    def duplicate_candidates(self, *, unit: str, category: str | None, since: datetime,
                             exclude: str) -> list[Candidate]:
        found = [p for p in self.rows.values()
                 if p.unit == unit and p.registered_at >= since and p.state is not State.CLOSED
                 and p.id != exclude and (category is None or p.category == category)]
        found.sort(key=lambda p: p.registered_at, reverse=True)
        return [Candidate(p.id, p.unit, p.category, p.title, p.description, p.registered_at)
                for p in found[:100]]

    def count(self) -> int:
        return len(self.rows)


class FakeHistory:
    def __init__(self, problems: FakeProblems):
        self.problems = problems  # the rows verification checks against their entries
        self.entries: list[chain.Entry] = []

    def append(self, *, problem_id: str | None, action: str, actor: str, at: datetime,
               data: dict, state: str | None = None) -> int:
        seq = len(self.entries) + 1
        prev = self.entries[-1].hash if self.entries else chain.GENESIS
        content = chain.entry_content(seq=seq, problem_id=problem_id, action=action,
                                      actor=actor, at=at, data=data, state=state)
        self.entries.append(chain.Entry(seq=seq, prev_hash=prev,
                                        hash=chain.entry_hash(prev, content),
                                        content=copy.deepcopy(content),
                                        filed=(problem_id, state)))
        return seq

    def timeline(self, problem_id: str) -> list[dict]:
        return [{"seq": e.seq, "hash": e.hash, **copy.deepcopy(e.content)}
                for e in self.entries if e.content["problem_id"] == problem_id]

    def chain(self, between_batches=None):
        """The entries as a store keeps them (``chain.verify_stored``)."""
        if between_batches is not None:
            between_batches()
        return iter([(e.seq, e.prev_hash, e.hash, chain.canonical(e.content).decode(),
                      *e.filed) for e in self.entries])

    def snapshot(self) -> None:
        pass

    def problem_states(self, between_batches=None):
        latest = {e.filed[0]: e.filed[1] or "" for e in self.entries if e.filed[0]}
        rows = self.problems.rows
        return iter([(pid, row_digest(rows[pid], self.problems.supervisor[pid]),
                      latest.get(pid)) for pid in sorted(rows)])

    def problems_without_rows(self, limit: int) -> list[str]:
        told = sorted({e.filed[0] for e in self.entries if e.filed[0]})
        return [pid for pid in told if pid not in self.problems.rows][:limit]

    def head(self) -> dict:
        last = self.entries[-1] if self.entries else None
        return {"seq": last.seq if last else 0, "hash": last.hash if last else chain.GENESIS}

    def actions(self) -> list[str]:
        """Test helper: every entry's action, in order."""
        return [e.content["action"] for e in self.entries]


class FakeWorkPlans:
    def __init__(self):
        self.plans: dict[str, WorkPlan] = {}

    def add(self, **values) -> None:
        self.plans[values["id"]] = WorkPlan(**values)

    def get_for_update(self, plan_id: str) -> WorkPlan | None:
        return self.plans.get(plan_id)

    def acknowledge(self, plan_id: str, by: str) -> None:
        self.plans[plan_id] = dataclasses.replace(
            self.plans[plan_id], acknowledged_by=by, acknowledged_at=datetime.now(timezone.utc))

    def list(self, *, units: list[str] | None) -> list[WorkPlan]:
        return sorted((p for p in self.plans.values() if units is None or p.unit in units),
                      key=lambda p: p.filed_at, reverse=True)

    def first_filings(self) -> dict[str, datetime]:
        first: dict[str, datetime] = {}
        for plan in self.plans.values():
            if plan.unit not in first or plan.filed_at < first[plan.unit]:
                first[plan.unit] = plan.filed_at
        return first


UNIT_KEY = ("unit", "supervisor", "state", "outcome", "self_found")
TOPIC_KEY = ("supervisor", "category", "kind", "channel")
SATISFACTION_KEY = ("unit", "supervisor", "satisfaction")


class FakeViews:
    """Lists from the problems, roll-ups from the maintained counts (as the real views)."""

    def __init__(self, problems: FakeProblems):
        self._problems = problems

    def _scoped(self, units, supervisor) -> list[Problem]:
        rows = self._problems.rows.values()
        if supervisor is not None:
            return [p for p in rows if self._problems.supervisor[p.id] == supervisor]
        return [p for p in rows if units is None or p.unit in units]

    @staticmethod
    def _overdue(p: Problem, today: date) -> bool:
        due = due_on(p)  # stored with the row by the real repository
        return p.state is not State.CLOSED and p.suspended_since is None and \
            due is not None and due < today

    @staticmethod
    def _stalled(p: Problem, stall_before: date) -> bool:
        return p.state in STALL_STATES and p.suspended_since is None and \
            p.last_progress_on is not None and p.last_progress_on <= stall_before

    def list_problems(self, *, units, supervisor, filters: dict, today: date,
                      stall_before: date, limit: int, offset: int) -> tuple[int, list[Problem]]:
        found = self._scoped(units, supervisor)
        for name in ("state", "unit", "category", "kind", "channel", "outcome"):
            if filters.get(name):
                found = [p for p in found if _plain(getattr(p, name)) == filters[name]]
        if filters.get("overdue"):
            found = [p for p in found if self._overdue(p, today)]
        if filters.get("stalled"):
            found = [p for p in found if self._stalled(p, stall_before)]
        found.sort(key=lambda p: p.id)
        sort = "newest" if filters.get("after") else (filters.get("sort") or "newest")
        if sort in ("newest", "oldest"):
            found.sort(key=lambda p: p.registered_at, reverse=sort == "newest")
        else:  # due / progress: soonest (longest ago) first, none last
            day = due_on if sort == "due" else (lambda p: p.last_progress_on)
            found.sort(key=lambda p: (day(p) is None, day(p) or date.min))
        return len(found), [copy.deepcopy(p) for p in found[offset:offset + limit]]

    def _tallies(self, names: tuple, supervisor):
        for key, n in self._problems.counts.items():
            row = dict(zip(names, key))
            if len(key) == len(names) and n and supervisor in (None, row["supervisor"]):
                yield row, n

    def states_by_clue(self, clue_ids: list[str], *, with_text: bool = False) -> list[tuple]:
        """As the real one's narrow columns; the fake keeps no updated_at, so registered_at."""
        by_clue = {p.clue_id: p for p in self._problems.rows.values()}
        return [(p.clue_id, p.state.value, _plain(p.outcome), p.unit, p.category,
                 p.registered_at) + ((p.description,) if with_text else ())
                for p in (by_clue.get(c) for c in clue_ids) if p is not None]

    def counts_by(self, column: str, *, supervisor: str | None) -> dict:
        names = UNIT_KEY if column in ("state", "unit", "outcome") else TOPIC_KEY
        found: Counter = Counter()
        for row, n in self._tallies(names, supervisor):
            found[row[column] or "none"] += n
        return {k: v for k, v in found.items() if v}

    def counts_by_state_and_outcome(self, *, supervisor: str | None) -> dict:
        return {"state": self.counts_by("state", supervisor=supervisor),
                "outcome": self.counts_by("outcome", supervisor=supervisor)}

    def unit_totals(self, *, supervisor: str | None) -> list:
        per: dict[str, Counter] = {}
        for row, n in self._tallies(UNIT_KEY, supervisor):
            tally = per.setdefault(row["unit"], Counter())
            closed = row["state"] == State.CLOSED.value
            tally["total"] += n
            tally["open"] += 0 if closed else n
            tally["closed"] += n if closed else 0
            tally["struck_off"] += n if closed and row["outcome"] == "rectified" else 0
            tally["unfounded"] += n if closed and row["outcome"] == "unfounded" else 0
            tally["self_found"] += n if row["self_found"] else 0
        return [SimpleNamespace(unit=unit, **{k: tally[k] for k in (
            "total", "open", "closed", "struck_off", "unfounded", "self_found")})
            for unit, tally in per.items() if tally["total"]]

    def satisfaction_counts(self, *, supervisor: str | None) -> dict:
        found: dict = {}
        for row, n in self._tallies(SATISFACTION_KEY, supervisor):
            counts = found.setdefault(row["unit"] or None, {})
            counts[row["satisfaction"]] = counts.get(row["satisfaction"], 0) + n
        return found

    def late_per_unit(self, *, units, supervisor, today: date,
                      stall_before: date) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for p in self._scoped(units, supervisor):
            for name, late in (("overdue", self._overdue(p, today)),
                               ("stalled", self._stalled(p, stall_before))):
                if late:
                    found.setdefault(p.unit, {"overdue": 0, "stalled": 0})[name] += 1
        return found

    def attention_list(self, *, units, supervisor, today: date, stall_before: date) -> dict:
        scoped = self._scoped(units, supervisor)
        brief = lambda p: SimpleNamespace(  # noqa: E731
            id=p.id, unit=p.unit, title=p.title, state=p.state.value, due_on=due_on(p),
            last_progress_on=p.last_progress_on)
        overdue = sorted((p for p in scoped if self._overdue(p, today)), key=due_on)
        stalled = sorted((p for p in scoped if self._stalled(p, stall_before)),
                         key=lambda p: p.last_progress_on)
        return {"overdue": [brief(p) for p in overdue[:50]],
                "stalled": [brief(p) for p in stalled[:50]]}


def _plain(value):
    return getattr(value, "value", value)


class FakeLedgerStore:
    """The fake database: repositories' contents, the inbox and the committed outbox."""

    def __init__(self):
        self.problems = FakeProblems()
        self.history = FakeHistory(self.problems)
        self.work_plans = FakeWorkPlans()
        self.inbox: set[tuple[str, str]] = set()
        self.outbox: list[Event] = []
        self.commits = 0

    def snapshot(self) -> dict:
        return copy.deepcopy(vars(self))

    def restore(self, state: dict) -> None:
        """Back to ``state``; the log of saves stays (a refusal must refuse before it
        writes, which the real store's rollback would hide)."""
        saved = self.problems.saved
        vars(self).update(state)
        self.problems.saved = saved


class FakeLedgerUnitOfWork:
    """What ``LedgerUnitOfWork`` offers a handler, in memory."""

    def __init__(self, store: FakeLedgerStore | None = None,
                 consumer: str | None = "tests.fake"):
        self.store = store if store is not None else FakeLedgerStore()
        self.consumer = consumer
        self._depth = 0
        self._events: list[Event] = []
        self._consumed: set[tuple[str, str]] = set()
        self._opened: dict | None = None

    # the repositories, as the real unit of work builds them on its session
    @property
    def problems(self) -> FakeProblems:
        return self.store.problems

    @property
    def history(self) -> FakeHistory:
        return self.store.history

    @property
    def work_plans(self) -> FakeWorkPlans:
        return self.store.work_plans

    @property
    def views(self) -> FakeViews:
        return FakeViews(self.store.problems)

    def __enter__(self) -> "FakeLedgerUnitOfWork":
        self._depth += 1
        if self._depth == 1:
            self._opened = self.store.snapshot()
            self._events, self._consumed = [], set()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._depth -= 1
        if not self._depth and self._opened is not None:  # not committed: nothing was
            self.store.restore(self._opened)
            self._opened = None

    def claim(self, message_ids: list[str]) -> None:
        pass  # consume_once asks the inbox itself

    def consume_once(self, message_id: str) -> None:
        if self.consumer is None:
            raise RuntimeError("this unit of work serves no event handler")
        key = (self.consumer, message_id)
        if key in self._consumed or key in self.store.inbox:
            raise AlreadyProcessed(message_id)
        self._consumed.add(key)

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def commit(self) -> None:
        if self._depth > 1:
            return
        self.store.inbox |= self._consumed
        self.store.outbox.extend(self._events)
        self.store.commits += 1
        self._events, self._consumed = [], set()
        self._opened = self.store.snapshot()

    def rollback(self) -> None:
        if self._opened is not None:
            self.store.restore(self._opened)
        self._events, self._consumed = [], set()
