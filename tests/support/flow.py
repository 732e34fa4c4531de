"""Work flowing through the platform while a fault strikes, and what came of it.

``Flow`` offers clues through the gateway (``POST /api/v1/clues``) from a few concurrent
reporters, each retrying what was not answered 202 with the same ``Idempotency-Key`` as a
real client would, while a staff member dispatches (交办) every few of them as they
register. ``Effects`` reads the services' stores to count what became of each accepted clue;
``tally`` turns both into one row of the fault report: offered, accepted, registered,
duplicated, lost, seconds to recover.
"""
from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

COUNTY = ("county", "dev-county-2017!")


def slug(label: str) -> str:
    """A label as Idempotency-Key characters (printable ASCII, no spaces)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")


def clue_body(title: str) -> dict:
    return {"channel": "public_report_platform", "title": title,
            "description": "故障测试期间提交的线索:学校违规收取资料费",
            "subject_unit": "org_sch_yanshan_high", "category": "c7_livelihood_services",
            "kind": "misconduct"}


class Flow:
    """``clues`` clues offered by ``reporters`` concurrent clients at about ``rate`` per
    second in all, in a thread of its own; every ``dispatch_every``-th accepted clue is
    dispatched by the county office once registered."""

    def __init__(self, base_url: str, effects: "Effects", label: str, *, clues: int = 150,
                 reporters: int = 6, rate: float = 40.0, dispatch_every: int = 5):
        self.base_url, self.effects, self.label = base_url, effects, label
        self.keys = [f"fault-{slug(label)}-{uuid.uuid4().hex[:12]}" for _ in range(clues)]
        self.reporters, self.pause = reporters, reporters / rate
        self.dispatch_every = dispatch_every
        self.accepted: dict[str, str] = {}   # idempotency key -> clue id
        self.to_dispatch: list[str] = []     # clue ids
        self.dispatched: dict[str, str] = {}  # clue id -> problem id
        self.dispatch_answers: dict[int, int] = {}
        self._token = httpx.post(f"{base_url}/api/v1/auth/token", timeout=30, json={
            "username": COUNTY[0], "password": COUNTY[1]}).json()["access_token"]
        self._submitting = True
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    @property
    def offered(self) -> int:
        return len(self.keys)

    def start(self) -> "Flow":
        self._thread.start()
        return self

    def wait_accepted(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.accepted)} of {count} clues accepted")
            time.sleep(0.05)

    def join(self, timeout: float = 240) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the flow did not finish: {len(self.accepted)} accepted, "
                               f"{len(self.dispatched)}/{len(self.to_dispatch)} dispatched")

    async def _run(self) -> None:
        pending: asyncio.Queue[str] = asyncio.Queue()
        for key in self.keys:
            pending.put_nowait(key)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            reporters = [self._reporter(client, pending) for _ in range(self.reporters)]
            dispatcher = asyncio.create_task(self._dispatcher(client))
            await asyncio.gather(*reporters)
            self._submitting = False
            await dispatcher

    async def _reporter(self, client: httpx.AsyncClient, pending: asyncio.Queue) -> None:
        while not pending.empty():
            key = pending.get_nowait()
            while True:
                try:
                    reply = await client.post("/api/v1/clues", headers={"Idempotency-Key": key},
                                              json=clue_body(key))
                    if reply.status_code == 202:
                        clue_id = reply.json()["clue_id"]
                        self.accepted[key] = clue_id
                        if len(self.accepted) % self.dispatch_every == 0:
                            self.to_dispatch.append(clue_id)
                        break
                    assert reply.status_code >= 500, reply.text  # refused: a test bug
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.3)
            await asyncio.sleep(self.pause)

    async def _dispatcher(self, client: httpx.AsyncClient, patience: float = 180) -> None:
        """Dispatch each chosen clue's problem once it is registered; a step whose answer was
        lost is tried again, and a 409 then says it was done (the problem is dispatched)."""
        headers = {"Authorization": f"Bearer {self._token}"}
        deadline = None
        while self._submitting or len(self.dispatched) < len(self.to_dispatch):
            if not self._submitting:
                deadline = deadline or time.monotonic() + patience
                if time.monotonic() > deadline:
                    return  # tally() reports what was never dispatched
            waiting = [c for c in self.to_dispatch if c not in self.dispatched]
            try:
                found = await asyncio.to_thread(self.effects.problem_ids, waiting)
            except Exception:  # noqa: BLE001 - the store may be the fault; ask again
                found = {}
            for clue_id, problem_id in found.items():
                try:
                    reply = await client.post(f"/api/v1/problems/{problem_id}/dispatch",
                                              headers=headers, json={"respond_days": 5})
                except httpx.TransportError:
                    continue
                self.dispatch_answers[reply.status_code] = \
                    self.dispatch_answers.get(reply.status_code, 0) + 1
                if reply.status_code == 200 or (reply.status_code == 409
                                                 and "illegal_transition" in reply.text):
                    self.dispatched[clue_id] = problem_id
            await asyncio.sleep(0.3)


class Effects:
    """Counts read straight from the services' stores (PostgreSQL), by clue id."""

    def __init__(self, database_urls: dict[str, str]):
        self.engines = {name: create_engine(url, pool_pre_ping=True,
                                            connect_args={"connect_timeout": 5})
                        for name, url in database_urls.items()}

    def _rows(self, service: str, sql: str, **params) -> list:
        with self.engines[service].connect() as conn:
            return conn.execute(text(sql), params).fetchall()

    def problem_ids(self, clue_ids: list[str]) -> dict[str, str]:
        if not clue_ids:
            return {}
        return dict(self._rows("ledger", "SELECT clue_id, id FROM problems "
                                         "WHERE clue_id = ANY(:ids)", ids=list(clue_ids)))

    def registered(self, clue_ids: list[str]) -> dict[str, int]:
        """Problems per clue (more than one would be a clue registered twice)."""
        return dict(self._rows("ledger", "SELECT clue_id, count(*) FROM problems "
                                         "WHERE clue_id = ANY(:ids) GROUP BY clue_id",
                               ids=list(clue_ids)))

    def linked(self, clue_ids: list[str]) -> dict[str, int]:
        """Problems each clue is linked to (its provenance; one each)."""
        return dict(self._rows("ledger", "SELECT clue_id, count(*) FROM problem_clues "
                                         "WHERE clue_id = ANY(:ids) GROUP BY clue_id",
                               ids=list(clue_ids)))

    def settled(self, flow: Flow) -> bool:
        """Everything the flow's accepted clues should cause is there: a problem each, intake's
        clue marked registered, the county office's notice, a dispatch notice each."""
        ids = list(flow.accepted.values())
        problems = self.problem_ids(ids)
        if len(problems) < len(ids):
            return False
        (registered_in_intake,) = self._rows(
            "intake", "SELECT count(*) FROM clues WHERE id = ANY(:ids) AND status <> "
                      "'received'", ids=ids)[0]  # registered, or moved on since
        notified = dict(self._rows(
            "notify", "SELECT name, count(DISTINCT problem_id) FROM notices WHERE "
                      "problem_id = ANY(:ids) GROUP BY name", ids=list(problems.values())))
        return (registered_in_intake == len(ids)
                and notified.get("problem_registered", 0) == len(ids)
                and notified.get("dispatched", 0) == len(flow.dispatched))

    def doubled(self, flow: Flow) -> dict[str, int]:
        """Effects that exist more than once, by kind (each should be 0)."""
        ids = list(flow.accepted.values())
        problems = list(self.problem_ids(ids).values())
        titles = list(flow.accepted)  # each clue's title is its idempotency key

        def excess(service, sql, **params) -> int:
            return sum(n - 1 for (n,) in self._rows(service, sql, **params))
        return {
            "problems": excess("ledger", "SELECT count(*) FROM problem_clues WHERE "
                                         "clue_id = ANY(:ids) GROUP BY clue_id", ids=ids),
            "clues": excess("intake", "SELECT count(*) FROM clues WHERE title = ANY(:t) "
                                      "GROUP BY title", t=titles),
            "history": excess("ledger", "SELECT count(*) FROM history WHERE problem_id = "
                                        "ANY(:p) AND action IN ('register', 'dispatch') "
                                        "GROUP BY problem_id, action", p=problems),
            "notices": excess("notify", "SELECT count(*) FROM notices WHERE problem_id = "
                                        "ANY(:p) GROUP BY name, problem_id, account_id",
                              p=problems),
            "observations": excess("audit", "SELECT count(*) FROM observations WHERE "
                                            "subject_id = ANY(:s) GROUP BY event_type, "
                                            "subject_id", s=ids + problems),
        }

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


@dataclass
class Row:
    fault: str
    offered: int
    accepted: int
    registered: int
    duplicated: int
    lost: int
    recover_s: float
    dispatched: str = ""
    doubled: dict = field(default_factory=dict)


def wait_settled(effects: Effects, flow: Flow, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if effects.settled(flow):
                return
        except Exception:  # noqa: BLE001 - a store coming back; ask again
            pass
        time.sleep(0.5)


def tally(fault: str, flow: Flow, effects: Effects, recover_s: float) -> Row:
    """Wait (bounded) for the accepted clues' effects, then count them."""
    wait_settled(effects, flow)
    ids = list(flow.accepted.values())
    per_clue = effects.registered(ids)
    doubled = effects.doubled(flow)
    return Row(fault=fault, offered=flow.offered, accepted=len(flow.accepted),
               registered=sum(1 for c in ids if per_clue.get(c)),
               duplicated=sum(doubled.values()),
               lost=sum(1 for c in ids if not per_clue.get(c)), recover_s=recover_s,
               dispatched=f"{len(flow.dispatched)}/{len(flow.to_dispatch)}", doubled=doubled)


def time_to_recover(base_url: str, effects: Effects, since: float, label: str,
                    timeout: float = 180) -> tuple[float, str, str]:
    """Seconds from ``since`` (the fault healed) until a new clue goes all the way through:
    answered 202 by the gateway and registered by the ledger. Answers (seconds, its
    idempotency key, its clue id)."""
    key = f"fault-{slug(label)}-probe-{uuid.uuid4().hex[:8]}"
    deadline = since + timeout
    clue_id = None
    while clue_id is None:
        assert time.monotonic() < deadline, "no clue was accepted after the fault"
        try:
            reply = httpx.post(f"{base_url}/api/v1/clues", headers={"Idempotency-Key": key},
                               json=clue_body(key), timeout=10)
            if reply.status_code == 202:
                clue_id = reply.json()["clue_id"]
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    while True:
        assert time.monotonic() < deadline, "the probe clue was never registered"
        try:
            if effects.problem_ids([clue_id]):
                return time.monotonic() - since, key, clue_id
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.1)


def report_table(rows: list[Row]) -> str:
    head = ("fault", "offered", "accepted", "registered", "duplicated", "lost",
            "recover s", "dispatched")
    lines = [head] + [(r.fault, r.offered, r.accepted, r.registered, r.duplicated, r.lost,
                       f"{r.recover_s:.1f}", r.dispatched) for r in rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    out = ["| " + " | ".join(str(v).ljust(w) for v, w in zip(line, widths)) + " |"
           for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)
