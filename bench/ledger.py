"""Ledger benchmark: ``python -m bench.ledger [--problems 100000] [--units 500]
[--entries-per-problem 10] [--backend postgresql|sqlite]``.

Does the ledger's read side stay fast as the ledger grows, and does the history chain stay
verifiable in reasonable time? At a tenth of the size and then at full size (a fresh
throw-away database each), we:

1. Write a generated campaign: ``config/campaign.yaml`` with its organizations replaced by the
   same non-unit bodies (county office, the four supervising bodies, publicity) plus ``--units``
   generated units over the five unit types and their reporting lines (``demo: true``). Unit
   sizes are Zipf-skewed (a few big units, many small), so rates differ from unit to unit.
   The campaign's dates (campaign, phases, report due) move by whole years so that today falls
   inside or just after the campaign: the handlers measure against the real today (overdue,
   stalled, lights), so the ledger must look like one in use now, not like one from 2017.
2. Load the ledger fast but faithfully. A time-ordered simulation replays the campaign from its
   start to now: clues arrive (Zipf units, weighted channels/categories), each is registered
   with ``registration.register`` and then moved through its life with the lifecycle's own
   ``actions.perform`` (dispatch, verify with a rectification plan, approve or send back,
   progress records, checks with flags, suspension, report rectified, strike-off or reject;
   unfounded and its acceptance or rejection; reassign, merge, transfer, reopen by spot-check;
   severity decisions), by the actor the access rules allow (sampled through
   ``access.check_permitted``). Whatever is due after now has not happened yet, so recent
   problems are early in their life and old ones mostly closed. Units file and supervisors
   acknowledge work plans. Rows are the repository's own (``repository._values``), history
   entries are hashed exactly like ``repository.append_history`` in global time order, and
   everything is written with PostgreSQL COPY (SQLite: Core executemany) in big batches;
   ``chain_head`` ends at the last entry. The counts the repository keeps in step with
   ``problems`` (``repository.COUNTED`` keyed by ``repository.count_key``) are bumped on every
   registration and action exactly as ``repository.add``/``save`` bump them (rows that went back
   to zero included) and written at the end. The number of progress records is calibrated by a
   dry run so the history averages ``--entries-per-problem`` entries per problem.
   Then ``VACUUM ANALYZE`` (PostgreSQL; a steady-state store has been autovacuumed, and this keeps
   autovacuum from running during the measurements) or ``ANALYZE`` (SQLite). A guard compares
   every roll-up (county office, each supervising body, six dimensions) with a direct GROUP BY
   over ``problems`` and stops the run if they differ: if the ledger starts keeping derived
   state this loader does not build, the benchmark fails instead of timing an empty table.
3. Measure through the real handlers (``services.ledger.handlers``) after a warm-up, N samples
   each: ``list_problems`` first page (limit 50) for a random unit handler, the largest unit's
   handler (info) and a random supervising body; the workbench's lists (info): the county
   office's and a supervising body's in deadline order, the county office's overdue and
   stalled lists; ``rollup`` for a random supervising body and
   for the county office; one ``act`` dispatch on a registered problem (p50 of 50); then
   ``verify_chain`` over the whole history once, every problem's row checked against the
   state its latest entry binds (it must say ok). The whole machine's busy
   cores are recorded while measuring; above 1.4 of them (this benchmark alone keeps about one
   busy) the run warns that something else competed and the figures are inflated.
4. Print both sizes side by side with the growth factor and the targets; write JSON to
   ``bench/results/ledger-<timestamp>.json``.
"""
from __future__ import annotations

import argparse
import csv
import heapq
import io
import json
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import chinese_calendar
import yaml
from sqlalchemy import JSON, create_engine, insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from contracts.campaign import load_campaign
from kit.db import make_engine
from kit.migrate import upgrade
from kit.settings import DEFAULT_CAMPAIGN_FILE, ROOT
from kit.store import Inbox, Outbox
from kit.uow import consumer_name
from services.ledger import handlers
from services.ledger.adapters import orm
from services.ledger.adapters import problems as repo
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import LOCAL_TZ, chain, severity, timers, workdays
from services.ledger.domain.access import check_permitted
from services.ledger.domain.actions import Actor, Context, perform
from services.ledger.domain.lifecycle import Action, Outcome, State
from services.ledger.domain.registration import register

A, S = Action, State
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
TARGETS_MS = {"list_unit": 100.0, "list_supervisor": 100.0, "rollup_supervisor": 100.0,
              "rollup_county": 100.0}
VERIFY_TARGET_S_PER_MILLION = 15.0
UNIT_TYPES = {  # type: (share of units, code prefix, Chinese suffix, English word)
    "township": (0.08, "tw", "镇", "Town"),
    "party_department": (0.06, "pd", "县委工作部门", "Party Department"),
    "government_department": (0.30, "gd", "县政府部门", "Government Department"),
    "school": (0.36, "sch", "学校", "School"),
    "enterprise": (0.20, "ent", "县管企业", "County Enterprise"),
}
ZIPF_S = 1.0
CHANNEL_WEIGHTS = {
    "self_inspection": 18, "online_survey": 6, "questionnaire": 4, "forum": 3, "field_visit": 5,
    "covert_experience": 3, "special_supervisor": 3, "letter": 12, "phone_call": 14,
    "public_report_platform": 14, "partner_conduct_platform": 5,
    "partner_discipline_platform": 5, "covert_patrol": 5, "media_exposure": 3,
}
CATEGORY_WEIGHTS = [8, 9, 6, 7, 16, 12, 22, 6, 14]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
TITLES = {
    "c1_information_disclosure": ["惠企政策未公开", "政务公开栏多年未更新", "门户网站政策发布滞后"],
    "c2_safety_oversight": ["建筑工地安全隐患无人过问", "农村枯井未封堵", "坑塘防汛措施不落实"],
    "c3_ecology_protection": ["河道被侵占无人处理", "水源地周边违规排污", "林地被毁失管"],
    "c4_counterfeit_food_drug": ["无证销售药品", "假冒食品流入市场", "虚假医疗广告未制止"],
    "c5_government_services": ["审批环节多时间长", "未履行一次性告知", "窗口受理推诿"],
    "c6_business_environment": ["涉企检查过多干扰经营", "要求企业购买指定商品", "企业诉求推诿扯皮"],
    "c7_livelihood_services": ["学校乱收费", "子女入学难反映无果", "拖欠农民工工资无人管"],
    "c8_petition_cases": ["信访案件久拖不决", "重点群体诉求无人回应", "信访答复敷衍了事"],
    "c9_public_security": ["报警后出警慢", "治安案件不立案", "超载车辆违规放行"],
}
PHRASES = [
    "群众多次反映无人处理", "相关负责人推诿扯皮", "办事群众往返多次", "问题长期得不到解决",
    "未按规定时限办结", "存在明显失职情形", "造成不良社会影响", "经走访核实情况基本属实",
    "涉及人员较多", "需要相关部门协调配合", "已有媒体关注", "群众意见较大", "材料齐全但迟迟不予办理",
]
NOTES = ["已召开专题会议研究部署", "已落实责任人,正在推进", "整改措施已完成过半", "已向群众反馈进展",
         "已建立长效机制", "已完成现场整改", "已整理整改台账", "正在协调有关部门"]
MEASURES = ["公开办事指南,设立一次性告知单", "建立首问负责制,明确办结时限", "开展专项排查,逐项销号",
            "完善内部审批流程,压缩办理时限", "落实属地管理责任,建立巡查制度"]
TARGET_TEXT = ["群众办事一次办结", "隐患全部消除", "问题按期整改到位", "形成长效机制", "群众满意度明显提升"]


# ---------------------------------------------------------------------------------------------
# 1. the campaign
def shifted_years(start: date, today: date) -> int:
    """Whole years to move the shipped campaign so it started at least 30 days before today."""
    year = today.year
    while date(year, start.month, start.day) > today - timedelta(days=30):
        year -= 1
    return year - start.year


def write_campaign(folder: Path, n_units: int, rng: random.Random) -> tuple[Path, int]:
    raw = yaml.safe_load(DEFAULT_CAMPAIGN_FILE.read_text(encoding="utf-8"))
    today = datetime.now(LOCAL_TZ).date()
    years = shifted_years(raw["campaign"]["start"], today)

    def move(day: date) -> date:
        return day.replace(year=day.year + years)

    for key in ("start", "end", "summary_report_due"):
        raw["campaign"][key] = move(raw["campaign"][key])
    for phase in raw["phases"]:
        phase["start"], phase["end"] = move(phase["start"]), move(phase["end"])
    bodies = [o for o in raw["organizations"] if o["type"] not in UNIT_TYPES]
    lines = raw["reporting_lines"]
    counts = {t: max(1, round(n_units * share)) for t, (share, *_) in UNIT_TYPES.items()}
    biggest = max(counts, key=counts.get)
    counts[biggest] += n_units - sum(counts.values())
    units = []
    for unit_type, count in counts.items():
        _, prefix, zh, en = UNIT_TYPES[unit_type]
        for i in range(1, count + 1):
            units.append({"code": f"org_{prefix}_{i:04d}", "name_zh": f"演示{zh}{i:04d}",
                          "name_en": f"Demo {en} {i:04d}", "type": unit_type,
                          "reports_to": lines[unit_type], "demo": True})
    raw["organizations"] = bodies + units
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, years


# ---------------------------------------------------------------------------------------------
# 2. loading
@dataclass
class Spec:
    at: datetime
    unit: str | None
    channel: str
    category: str
    kind: str
    merge: bool
    transfer: bool


class Task:
    __slots__ = ("gen", "problem")

    def __init__(self, gen):
        self.gen = gen
        self.problem = None


class Writer:
    """Buffers rows per table and writes them in big batches."""

    LIMITS = {"history": 20_000, "problems": 5_000, "problem_clues": 10_000, "inbox": 10_000,
              "work_plans": 1_000}

    def __init__(self, engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.tables = {t.name: t for t in (orm.history, orm.problems, orm.problem_clues,
                                           orm.inbox_table, orm.work_plans)}
        self.buffers = {name: [] for name in self.tables}
        self.raw = engine.raw_connection() if self.postgres else None
        self.rows = {name: 0 for name in self.tables}

    def add(self, table: str, row: dict) -> None:
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= self.LIMITS[table]:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in ([table] if table else list(self.buffers)):
            rows = self.buffers[name]
            if not rows:
                continue
            if self.postgres:
                self._copy(self.tables[name], rows)
            else:
                with self.engine.begin() as conn:
                    conn.execute(insert(self.tables[name]), rows)
            self.rows[name] += len(rows)
            self.buffers[name] = []

    def _copy(self, table, rows: list[dict]) -> None:
        columns = [c.name for c in table.columns]
        # JSON columns as SQLAlchemy's JSON type sends them: json.dumps with its defaults, and
        # None as JSON 'null' (not SQL NULL), exactly as repository.add/save store it.
        as_json = [isinstance(c.type, JSON) for c in table.columns]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in rows:
            writer.writerow([json.dumps(row.get(c)) if j else _pg_text(row.get(c))
                             for c, j in zip(columns, as_json)])
        out.seek(0)
        with self.raw.cursor() as cur:
            cur.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN "
                            "WITH (FORMAT csv, NULL '\\N')", out)
        self.raw.commit()

    def write(self, table, rows: list[dict]) -> None:
        """Rows of a table outside the buffered ones (the maintained counts)."""
        if not rows:
            return
        if self.postgres:
            self._copy(table, rows)
        else:
            with self.engine.begin() as conn:
                conn.execute(insert(table), rows)
        self.rows[table.name] = self.rows.get(table.name, 0) + len(rows)

    def set_head(self, seq: int, digest: str) -> None:
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(update(orm.chain_head).where(orm.chain_head.c.id == 1)
                         .values(seq=seq, hash=digest))

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


def _pg_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


class NullWriter:
    """For the calibration dry run: counts, writes nothing."""

    def __init__(self):
        self.rows = {"history": 0}

    def add(self, table: str, row: dict) -> None:
        pass


@lru_cache(maxsize=None)
def _is_workday_cached(day: date) -> bool:
    return _ORIGINAL_IS_WORKDAY(day)


_ORIGINAL_IS_WORKDAY = chinese_calendar.is_workday


class fast_calendar:
    """While loading only: memoize chinese_calendar.is_workday (pure, same answers).
    Restored before anything is measured."""

    def __enter__(self):
        chinese_calendar.is_workday = _is_workday_cached

    def __exit__(self, *exc):
        chinese_calendar.is_workday = _ORIGINAL_IS_WORKDAY


class Simulation:
    """Replays the campaign from its start to now, in time order, through the domain."""

    def __init__(self, campaign, units: list[str], weights: list[float], writer, rng,
                 *, now: datetime, progress_mean: float, hash_entries: bool = True):
        self.campaign = campaign
        self.units = units
        self.cum_weights = list(_accumulate(weights))
        self.writer = writer
        self.rng = rng
        self.now = now
        self.progress_mean = progress_mean
        self.hash_entries = hash_entries
        self.org_codes = {o.code for o in campaign.organizations}
        self.supervisor = {u: handlers.supervisor_code(campaign, u) for u in units}
        self.system = {}
        for u in units:
            self.system.setdefault(self.supervisor[u], []).append(u)
        self.self_found = {  # each clue comes from whoever may use its channel: 自查 from the unit
            c.code: severity.is_self_found(c.code, campaign, subject_unit="u",
                                           submitter_role="unit_handler", submitter_org="u")
            for c in campaign.channels}
        self.channels = list(CHANNEL_WEIGHTS)
        self.channel_cum = list(_accumulate(CHANNEL_WEIGHTS.values()))
        self.categories = [c.code for c in campaign.categories]
        self.category_cum = list(_accumulate(CATEGORY_WEIGHTS))
        self.kinds = [k.code for k in campaign.kinds]
        self.county = Actor("county", "county_office", "org_county_office")
        self.spot_check = Actor("spotcheck", "spot_check", None)
        self.seq = 0
        self.prev = chain.GENESIS
        self.alive: dict[str, object] = {}
        self.recent: dict[tuple, deque] = {}   # merge targets: recent, same unit and category
        # The counts the repository keeps in step with ``problems`` (repository.COUNTED, keyed
        # by repository.count_key), bumped exactly as repository.add/save bump them.
        self.counts: list[dict[tuple, int]] = [{} for _ in repo.COUNTED]
        self.links: dict[str, list[dict]] = {}
        self.updated: dict[str, datetime] = {}
        self.work_plans: list[dict] = []
        self.heap: list = []
        self.counter = 0
        self.actions = 0
        self.problems_written = 0

    # helpers ------------------------------------------------------------------------------
    def pick_unit(self) -> str:
        return self.rng.choices(self.units, cum_weights=self.cum_weights)[0]

    def boss(self, unit: str | None) -> Actor:
        """Who acts for the unit's supervising body: the county office for townships."""
        code = self.supervisor.get(unit) if unit else None
        if code is None or code == "org_county_office":
            return self.county
        return Actor(f"supervisor-{code[4:]}", "supervisor", code)

    @staticmethod
    def handler(unit: str) -> Actor:
        return Actor(f"handler-{unit[4:]}", "unit_handler", unit)

    def work_time(self, day: date) -> datetime:
        minutes = self.rng.randint(8 * 60 + 30, 17 * 60 + 30)
        local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60,
                         self.rng.randint(0, 59), self.rng.randint(0, 999_999), tzinfo=LOCAL_TZ)
        return local.astimezone(timezone.utc)

    def after(self, at: datetime, days: int) -> datetime:
        """``days`` working days after ``at`` at a working hour; 0 means later the same day."""
        if days <= 0:
            return at + timedelta(minutes=self.rng.randint(5, 180),
                                  seconds=self.rng.random() * 60)
        later = self.work_time(workdays.add_workdays(local_day(at), days))
        return later if later > at else at + timedelta(minutes=5)

    def text(self, n: int = 2) -> str:
        return ",".join(self.rng.sample(PHRASES, n)) + "。"

    # the ledger's writes ----------------------------------------------------------------
    def record(self, problem, action: str, actor: str, at: datetime, data: dict) -> None:
        """Exactly history.append_history, with the head kept in memory: an entry about a
        problem binds its row as repository.add/save write it after the change."""
        self.seq += 1
        if not self.hash_entries:
            self.writer.rows["history"] += 1
            return
        problem_id = problem.id if problem is not None else None
        state = repo.state_digest(problem, self.supervisor.get(problem.unit)
                                  if problem.unit else None) if problem is not None else None
        raw = chain.canonical(chain.entry_content(
            seq=self.seq, problem_id=problem_id, action=action, actor=actor, at=at, data=data,
            state=state))
        digest = chain.hash_bytes(self.prev, raw)
        self.writer.add("history", {"seq": self.seq, "problem_id": problem_id, "action": action,
                                    "actor": actor, "at": at, "content": raw.decode(),
                                    "prev_hash": self.prev, "hash": digest,
                                    "state_digest": state})
        self.prev = digest

    def register(self, task: Task, spec: Spec, at: datetime):
        clue_id = uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
        title = self.rng.choice(TITLES[spec.category])
        problem = register(clue_id=clue_id, channel=spec.channel, title=title,
                           description=f"{title}:{self.text(3)}", unit=spec.unit,
                           category=spec.category, kind=spec.kind,
                           self_found=self.self_found[spec.channel], now=at)
        clock = timers.start_clock(problem, None, local_day(at), handlers.rules_of(self.campaign))
        suggestions = []
        if spec.merge and spec.unit:
            target = self.merge_target(problem)
            if target is not None:
                suggestions = [{"problem_id": target.id,
                                "score": round(self.rng.uniform(0.5, 0.95), 3)}]
                problem.details["duplicate_suggestions"] = suggestions
        task.problem = problem
        self.alive[problem.id] = problem
        if problem.unit:
            self.recent.setdefault((problem.unit, problem.category),
                                   deque(maxlen=20)).append(problem.id)
        self.bump(self.count_key(problem), 1)
        self.links[problem.id] = [{"problem_id": problem.id, "clue_id": clue_id,
                                   "channel": spec.channel, "via": "registered", "linked_at": at}]
        self.updated[problem.id] = at
        self.writer.add("inbox", {"consumer": consumer_name("ledger", "on_clue_accepted"),
                                  "message_id": f"accepted-{clue_id}", "processed_at": at})
        self.record(problem, "register", "system", at,
                    {"clue_id": clue_id, "channel": spec.channel, "unit": problem.unit,
                     "duplicate_suggestions": suggestions, **clock})
        return problem

    def merge_target(self, problem):
        for pid in reversed(self.recent.get((problem.unit, problem.category), ())):
            other = self.alive.get(pid)
            if (other is not None and other.id != problem.id and other.is_open
                    and other.unit == problem.unit and other.category == problem.category):
                return other
        return None

    def act(self, problem, action: Action, actor: Actor, args: dict, at: datetime,
            target=None) -> None:
        """What handlers.act does, at simulated time ``at``."""
        self.actions += 1
        ctx = Context(today=local_day(at), now=at, unit_exists=self.org_codes.__contains__,
                      phase_on=self.campaign.phase_on,
                      advise=lambda p: severity.advise_level(p, self.campaign),
                      rules=handlers.rules_of(self.campaign))
        if self.actions % 50 == 1:   # the access rules are slow with 500 units; sample them
            check_permitted(self.campaign, actor, action, problem, args)
        counted_as = self.count_key(problem)
        change = perform(problem, action, actor, args, ctx)
        after = self.count_key(problem)
        self.bump(counted_as, -1, only_changed_from=after)
        self.bump(after, 1, only_changed_from=counted_as)
        if action is A.MERGE:
            moved = self.links.pop(problem.id)
            for link in moved:
                link.update(problem_id=target.id, via="merged", linked_at=at)
            self.links[target.id].extend(moved)
            self.links[problem.id] = []
            change.data["clues"] = [m["clue_id"] for m in moved]
        self.updated[problem.id] = at
        self.record(problem, action.value, actor.username, at,
                    {"role": actor.role, "from": change.from_state.value,
                     "to": change.to_state.value, **change.data})

    def count_key(self, problem) -> tuple:
        return repo.count_key(problem, self.supervisor.get(problem.unit)
                              if problem.unit else None)

    def bump(self, key: tuple, delta: int, only_changed_from: tuple | None = None) -> None:
        """repository._bump: per counted table, only where the problem's key changed."""
        for counts, part, other in zip(self.counts, key, only_changed_from or (None,) * len(key)):
            if part != other:
                counts[part] = counts.get(part, 0) + delta

    def count_rows(self):
        """(table, rows) for every counted table, zero rows included (upserts leave them)."""
        for (table, columns), counts in zip(repo.COUNTED.items(), self.counts):
            yield table, [{**dict(zip(columns, key)), "n": n} for key, n in counts.items()]

    def finish(self, problem) -> None:
        """The problem's row as repository.add/save would leave it."""
        self.alive.pop(problem.id, None)
        self.problems_written += 1
        links = self.links.pop(problem.id)
        updated = self.updated.pop(problem.id)
        if not self.hash_entries:
            return
        values = repo._values(problem, self.supervisor.get(problem.unit)
                              if problem.unit else None)
        values["updated_at"] = updated
        self.writer.add("problems", values)
        for link in links:
            self.writer.add("problem_clues", link)

    # the clock ----------------------------------------------------------------------------
    def run(self, arrivals: list[datetime], specs) -> None:
        """Wake every script in time order until now; whatever is due later has not happened."""
        arrivals = iter(arrivals)
        next_arrival = next(arrivals, None)
        for unit in self.units:
            self._start(self.work_plan_script(unit))
        while True:
            if next_arrival is not None and (not self.heap or next_arrival <= self.heap[0][0]):
                self._start(self.problem_script(specs(next_arrival)))
                next_arrival = next(arrivals, None)
                continue
            if not self.heap or self.heap[0][0] > self.now:
                break
            _, _, task = heapq.heappop(self.heap)
            self._step(task)
        for problem in list(self.alive.values()):
            self.finish(problem)

    def _start(self, gen) -> None:
        task = Task(gen)
        self._step(task)

    def _step(self, task: Task) -> None:
        self._current = task
        try:
            at = next(task.gen)
        except StopIteration:
            if task.problem is not None:
                self.finish(task.problem)
            return
        self.counter += 1
        heapq.heappush(self.heap, (at, self.counter, task))

    # scripts ------------------------------------------------------------------------------
    def work_plan_script(self, unit: str):
        rng = self.rng
        r = rng.random()
        if r < 0.05:
            return   # never filed
        start = self.campaign.campaign.start
        if r < 0.15:   # late: after the mobilization phase
            day = workdays.add_workdays(self.campaign.phases[0].end, rng.randint(1, 25))
        else:
            day = workdays.add_workdays(start, rng.randint(0, 15))
        at = self.work_time(day)
        yield at
        handler = self.handler(unit)
        plan_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        title = f"{self.campaign.organization(unit).name_zh}清理工作方案"
        row = {"id": plan_id, "unit": unit, "supervisor": self.supervisor[unit], "title": title,
               "summary": "成立领导小组,开展自查自纠,建立问题台账,逐项整改销号。",
               "document_sha256": uuid.UUID(int=rng.getrandbits(128)).hex * 2,
               "filed_by": handler.username, "filed_at": at, "acknowledged_by": None,
               "acknowledged_at": None}
        self.record(None, "file_work_plan", handler.username, at,
                    {"plan_id": plan_id, "unit": unit, "title": title})
        self.work_plans.append(row)
        if rng.random() < 0.85:
            at = self.after(at, rng.randint(1, 5))
            yield at
            boss = self.boss(unit)
            row.update(acknowledged_by=boss.username, acknowledged_at=at)
            self.record(None, "acknowledge_work_plan", boss.username, at, {"plan_id": plan_id})

    def problem_script(self, spec: Spec):
        rng = self.rng
        at = spec.at
        yield at
        p = self.register(self._current, spec, at)
        if spec.merge and p.details.get("duplicate_suggestions"):
            at = self.after(at, rng.randint(0, 2))
            yield at
            target = self.alive.get(p.details["duplicate_suggestions"][0]["problem_id"])
            if target is not None and target.is_open:
                self.act(p, A.MERGE, self.boss(p.unit), {"into": target.id,
                                                         "note": "同一问题多渠道反映,合并办理"},
                         at, target=target)
                return
        if spec.transfer:
            at = self.after(at, rng.randint(1, 4))
            yield at
            self.act(p, A.TRANSFER_OUT, self.boss(p.unit), {
                "to": "县纪委", "reason": "涉嫌违纪,移交纪检监察机关处理"}, at)
            return
        reopened = rejected_unfounded = False
        while True:
            state = p.state
            if state is S.REGISTERED:
                r = rng.random()
                at = self.after(at, 0 if r < 0.3 else rng.randint(1, 3) if r < 0.95
                                else rng.randint(5, 15))
                yield at
                args = {"respond_days": 5 if rng.random() < 0.8 else 10}
                if rng.random() < 0.3:
                    args["note"] = "请按时限查实并报送整改计划"
                if p.unit is None:
                    args["unit"] = self.pick_unit()
                    actor = self.county
                else:
                    actor = self.boss(p.unit)
                self.act(p, A.DISPATCH, actor, args, at)
            elif state is S.DISPATCHED:
                if rng.random() < 0.02:
                    at = self.after(at, rng.randint(1, 3))
                    yield at
                    others = [u for u in self.system[self.supervisor[p.unit]] if u != p.unit]
                    if others:
                        self.act(p, A.REASSIGN, self.boss(p.unit), {
                            "unit": rng.choice(others), "reason": "职责归属调整,改由对口单位办理"}, at)
                r = rng.random()
                delay = (rng.randint(15, 60) if r < 0.05 else rng.randint(6, 14) if r < 0.2
                         else rng.randint(1, 5))
                at = self.after(at, delay)
                yield at
                if rng.random() < 0.18 and not rejected_unfounded:
                    self.act(p, A.REPORT_UNFOUNDED, self.handler(p.unit), {
                        "findings": "经核查,反映问题不属实。" + self.text(1),
                        "evidence": self.evidence()}, at)
                else:
                    self.act(p, A.VERIFY, self.handler(p.unit), {
                        "plan": self.plan(p, local_day(at)),
                        "seriousness": "serious" if rng.random() < 0.1 else "ordinary",
                        "note": "情况属实,制定整改计划" if rng.random() < 0.5 else None}, at)
            elif state is S.UNFOUNDED:
                at = self.after(at, rng.randint(1, 5))
                yield at
                if rng.random() < 0.85:
                    self.act(p, A.ACCEPT_UNFOUNDED, self.boss(p.unit),
                             {"note": "核查属实,同意查否"}, at)
                else:
                    rejected_unfounded = True
                    self.act(p, A.REJECT_UNFOUNDED, self.boss(p.unit), {
                        "reason": "核查不深入,证据不足,请重新核查"}, at)
            elif state is S.VERIFIED:
                at = self.after(at, rng.randint(1, 5))
                yield at
                if rng.random() < 0.3:
                    self.act(p, A.DECIDE_SEVERITY, self.boss(p.unit), {
                        "decision": p.severity_advice or "standard",
                        "note": "经研究,按建议处理"}, at)
                    at = self.after(at, 0)
                if rng.random() < 0.87:
                    self.act(p, A.APPROVE_PLAN, self.boss(p.unit), {}, at)
                else:
                    self.act(p, A.REJECT_PLAN, self.boss(p.unit), {
                        "reason": "整改措施不具体,请完善后重新报送"}, at)
            elif state is S.RECTIFYING:
                at = yield from self.rectify(p, at)
            elif state is S.RECTIFIED:
                at = self.after(at, rng.randint(1, 7))
                yield at
                if rng.random() < 0.9:
                    self.act(p, A.STRIKE_OFF, self.boss(p.unit), {
                        "note": "核查整改到位,准予销号"}, at)
                else:
                    new = workdays.add_workdays(local_day(at), rng.randint(10, 30))
                    self.act(p, A.REJECT_RECTIFICATION, self.boss(p.unit), {
                        "reason": "整改不到位,请继续整改", "new_deadline": new.isoformat()}, at)
            elif state is S.CLOSED:
                if reopened or p.outcome not in (Outcome.RECTIFIED, Outcome.UNFOUNDED) \
                        or rng.random() >= 0.03:
                    return
                reopened = True
                at = self.after(at, rng.randint(20, 60))
                yield at
                source = rng.choice(["spot_check", "look_back"])
                self.act(p, A.REOPEN, self.spot_check, {
                    "source": source, "reason": "抽查发现问题反弹"}, at)
            else:
                return

    def rectify(self, p, at: datetime):
        """Progress records, a check now and then, a suspension now and then, the report."""
        rng = self.rng
        start = local_day(at)
        deadline = p.rectify_by or p.plan.deadline
        r = rng.random()
        if r < 0.08:     # stalls: progress stops early, the report comes much later
            report = workdays.add_workdays(deadline, rng.randint(15, 40))
            active_until = start + (deadline - start) * 0.3
        elif r < 0.33:   # late
            report = workdays.add_workdays(deadline, rng.randint(1, 20))
            active_until = report
        else:
            report = max(start + timedelta(days=1),
                         deadline - timedelta(days=rng.randint(0, 7)))
            active_until = report
        span = max((active_until - start).days, 1)
        n = _geometric(rng, self.progress_mean)
        plan_events = sorted((start + timedelta(days=rng.randint(1, span)), "progress")
                             for _ in range(n))
        if rng.random() < 0.3:
            plan_events.append((start + timedelta(days=rng.randint(1, span)), "check"))
        if rng.random() < 0.03:
            plan_events.append((start + timedelta(days=rng.randint(1, span)), "suspend"))
        plan_events.sort()
        for day, kind in plan_events:
            at = max(self.work_time(day), self.after(at, 0))
            yield at
            if kind == "progress":
                args = {"note": rng.choice(NOTES)}
                for i, m in enumerate(p.plan.milestones):
                    if m.done_on is None:
                        if local_day(at) >= m.due_on - timedelta(days=5):
                            args["milestone_done"] = i
                        break
                self.act(p, A.RECORD_PROGRESS, self.handler(p.unit), args, at)
            elif kind == "check":
                if rng.random() < 0.5:
                    new = workdays.add_workdays(local_day(at), rng.randint(5, 20))
                    args = {"flags": [{"flag": rng.choice(["slow_progress", "inadequate",
                                                           "poor_effect"]),
                                       "reason": "整改进度滞后于计划"}],
                            "new_deadline": new.isoformat(), "note": "请加快整改进度"}
                else:
                    args = {"note": "整改按计划推进"}
                self.act(p, A.CHECK_PROGRESS, self.boss(p.unit), args, at)
            else:
                self.act(p, A.SUSPEND, self.boss(p.unit), {"reason": "涉及司法程序,暂停计时"}, at)
                at = self.after(at, rng.randint(5, 20))
                yield at
                self.act(p, A.RESUME, self.boss(p.unit), {"note": "司法程序结束,恢复办理"}, at)
        at = max(self.work_time(report), self.after(at, 0))
        yield at
        self.act(p, A.REPORT_RECTIFIED, self.handler(p.unit), {
            "evidence": self.evidence(), "note": "已按计划完成整改"}, at)
        return at

    def evidence(self) -> list[dict]:
        return [{"description": self.rng.choice(["整改前后对比照片", "会议纪要", "收费台账",
                                                 "群众回访记录", "制度文件"]),
                 "sha256": uuid.UUID(int=self.rng.getrandbits(128)).hex * 2}
                for _ in range(self.rng.randint(1, 3))]

    def plan(self, p, today: date) -> dict:
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            handling, days = "immediate", rng.randint(3, 10)
        elif r < 0.85:
            handling, days = "time_limited", rng.randint(20, 60)
        else:
            handling, days = "long_term", rng.randint(60, 150)
        deadline = today + timedelta(days=days)
        plan = {"measures": rng.choice(MEASURES), "target": rng.choice(TARGET_TEXT),
                "deadline": deadline.isoformat(), "lead_official": rng.choice(SURNAMES) + "局长",
                "responsible_unit": p.unit,
                "responsible_person": rng.choice(SURNAMES) + rng.choice(SURNAMES) + "同志",
                "handling": handling}
        if handling == "long_term":
            k = rng.randint(2, 4)
            plan["milestones"] = [{"title": f"第{i + 1}阶段整改",
                                   "due_on": (today + timedelta(days=days * (i + 1) // (k + 1)))
                                   .isoformat()} for i in range(k)]
        return plan


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def _geometric(rng: random.Random, mean: float) -> int:
    """0, 1, 2, ... with the given mean."""
    if mean <= 0:
        return 0
    p = 1.0 / (1.0 + mean)
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - p))


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def zipf_weights(n: int, rng: random.Random) -> list[float]:
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return [1.0 / r ** ZIPF_S for r in ranks]


def arrivals(n: int, start: date, now: datetime, rng: random.Random) -> list[datetime]:
    """n registration times between the campaign's start and now, on working hours, busier in
    the self-inspection months."""
    days, weights = [], []
    day = start
    while day < local_day(now):
        if workdays.is_workday(day):
            days.append(day)
            weights.append(1.6 if day.month in (6, 7) else 1.0)
        day += timedelta(days=1)
    cum = list(_accumulate(weights))
    picked = rng.choices(days, cum_weights=cum, k=n)
    times = []
    for d in picked:
        minutes = rng.randint(8 * 60 + 30, 17 * 60 + 30)
        times.append(datetime(d.year, d.month, d.day, minutes // 60, minutes % 60,
                              rng.randint(0, 59), rng.randint(0, 999_999), tzinfo=LOCAL_TZ)
                     .astimezone(timezone.utc))
    times.sort()
    return times


def spec_maker(sim: Simulation, rng: random.Random):
    kinds = sim.kinds

    def make(at: datetime) -> Spec:
        unit = sim.pick_unit() if rng.random() >= 0.05 else None
        return Spec(at=at, unit=unit,
                    channel=rng.choices(sim.channels, cum_weights=sim.channel_cum)[0],
                    category=rng.choices(sim.categories, cum_weights=sim.category_cum)[0],
                    kind=rng.choice(kinds), merge=rng.random() < 0.03,
                    transfer=rng.random() < 0.015)
    return make


def simulate(campaign, units, weights, writer, *, n: int, seed: int, progress_mean: float,
             hash_entries: bool) -> Simulation:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    sim = Simulation(campaign, units, weights, writer, rng, now=now,
                     progress_mean=progress_mean, hash_entries=hash_entries)
    times = arrivals(n, campaign.campaign.start, now, rng)
    sim.run(times, spec_maker(sim, rng))
    return sim


def calibrate(campaign, units, weights, *, n: int, entries_per_problem: float,
              seed: int) -> float:
    """The mean number of progress records per rectification that gives the wanted history size
    (entries from work plans included), from two dry runs (linear in the mean)."""
    sample = min(n, 5_000)
    fixed = []
    for mean in (0.0, 8.0):
        sim = simulate(campaign, units, weights, NullWriter(), n=sample, seed=seed + 1,
                       progress_mean=mean, hash_entries=False)
        fixed.append(sim.seq)
    work_plans = 2 * len(units) * 0.9   # roughly; only for the history's total
    per_problem = [(s - work_plans) / sample for s in fixed]
    slope = (per_problem[1] - per_problem[0]) / 8.0
    wanted = entries_per_problem - work_plans / n
    return max(0.0, (wanted - per_problem[0]) / slope) if slope > 0 else 0.0


def load(url: str, campaign, units, weights, *, n: int, entries_per_problem: float,
         seed: int) -> dict:
    started = time.perf_counter()
    with fast_calendar():
        progress_mean = calibrate(campaign, units, weights, n=n,
                                  entries_per_problem=entries_per_problem, seed=seed)
        calibrated = time.perf_counter()
        engine = make_engine(url)
        writer = Writer(engine)
        try:
            sim = simulate(campaign, units, weights, writer, n=n, seed=seed,
                           progress_mean=progress_mean, hash_entries=True)
            for row in sim.work_plans:
                writer.add("work_plans", row)
            for table, rows in sim.count_rows():
                writer.write(table, rows)
            writer.set_head(sim.seq, sim.prev)
        finally:
            writer.close()
    loaded = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    analyzed = time.perf_counter()
    engine.dispose()
    return {"seconds": round(analyzed - started, 2),
            "calibrate_s": round(calibrated - started, 2),
            "generate_and_write_s": round(loaded - calibrated, 2),
            "analyze_s": round(analyzed - loaded, 2),
            "progress_mean": round(progress_mean, 3), "rows": dict(writer.rows),
            "problems": sim.problems_written, "entries": sim.seq, "actions": sim.actions}


def describe(url: str) -> dict:
    """What the loaded ledger looks like (so the reader can judge how realistic it is)."""
    today = datetime.now(LOCAL_TZ).date()
    engine = make_engine(url)
    with engine.connect() as conn:
        states = dict(conn.execute(text(
            "SELECT state, count(*) FROM problems GROUP BY state ORDER BY 2 DESC")).all())
        outcomes = dict(conn.execute(text(
            "SELECT coalesce(outcome, 'open'), count(*) FROM problems GROUP BY 1")).all())
        open_, overdue = conn.execute(text(
            "SELECT sum(CASE WHEN state != 'closed' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN state != 'closed' AND due_on < :t AND suspended_since IS NULL "
            "THEN 1 ELSE 0 END) FROM problems"), {"t": today}).one()
        sizes = [r[0] for r in conn.execute(text(
            "SELECT count(*) FROM problems WHERE unit IS NOT NULL GROUP BY unit ORDER BY 1 DESC"))]
        biggest = conn.execute(text(
            "SELECT unit FROM problems WHERE unit IS NOT NULL GROUP BY unit "
            "ORDER BY count(*) DESC LIMIT 1")).scalar()
    engine.dispose()
    return {"states": states, "outcomes": outcomes, "open": int(open_ or 0),
            "overdue_open": int(overdue or 0),
            "unit_sizes": {"largest": sizes[0] if sizes else 0,
                           "median": statistics.median(sizes) if sizes else 0,
                           "smallest": sizes[-1] if sizes else 0, "units": len(sizes)},
            "largest_unit": biggest}


def check_rollups(url: str, campaign) -> int:
    """The loaded store must be what the ledger itself would have written, derived tables
    included: every roll-up (county office, each supervising body) must count exactly what a
    direct GROUP BY over ``problems`` counts. Fails loudly otherwise (e.g. the ledger started
    keeping some other derived state that this loader does not build yet)."""
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    bodies = [o.code for o in campaign.organizations if o.type == "supervisor"]
    actors = [(None, Actor("county", "county_office", "org_county_office"))] + [
        (code, Actor(f"supervisor-{code[4:]}", "supervisor", code)) for code in bodies]
    checked = 0
    try:
        for supervisor, actor in actors:
            got = handlers.rollup(LedgerUnitOfWork(factory, Outbox(orm.outbox_table),
                                                   Inbox(orm.inbox_table)), campaign,
                                  actor=actor)
            where = "WHERE supervisor = :s" if supervisor else ""
            with engine.connect() as conn:
                for name in ("state", "category", "kind", "unit", "channel", "outcome"):
                    want = dict(conn.execute(text(
                        f"SELECT coalesce(nullif({name}, ''), 'none'), count(*) FROM problems "
                        f"{where} GROUP BY 1"), {"s": supervisor}).all())
                    have = {k: v for k, v in got["by"][name].items() if v}
                    if have != want:
                        raise SystemExit(
                            f"the loaded store is not what the ledger would have written: "
                            f"rollup for {actor.org_code} by {name} counts "
                            f"{sum(have.values())}, problems hold {sum(want.values())} "
                            f"(first differences: {_differences(have, want)}). The ledger keeps "
                            "derived state that bench/ledger.py does not build; teach the "
                            "loader to build it.")
                    checked += 1
    finally:
        engine.dispose()
    return checked


def _differences(have: dict, want: dict, n: int = 3) -> list:
    keys = sorted(set(have) | set(want), key=str)
    return [(k, have.get(k, 0), want.get(k, 0)) for k in keys if have.get(k) != want.get(k)][:n]


# ---------------------------------------------------------------------------------------------
# 3. measuring
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, samples: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return {"p50_ms": round(percentile(seconds, 0.5) * 1000, 2),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
            "max_ms": round(max(seconds) * 1000, 2), "n": samples}


def measure(url: str, campaign, units: list[str], largest_unit: str | None, *, samples: int,
            seed: int) -> dict:
    rng = random.Random(seed + 7)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)

    def uow() -> LedgerUnitOfWork:
        return LedgerUnitOfWork(factory, Outbox(orm.outbox_table), Inbox(orm.inbox_table))

    bodies = [o.code for o in campaign.organizations if o.type == "supervisor"]
    county = Actor("county", "county_office", "org_county_office")

    def unit_actor(unit):
        return Actor(f"handler-{unit[4:]}", "unit_handler", unit)

    def body_actor():
        code = rng.choice(bodies)
        return Actor(f"supervisor-{code[4:]}", "supervisor", code)

    def listing(actor_fn, **filters):
        return lambda: handlers.list_problems(uow(), campaign, actor=actor_fn(),
                                              filters=filters, limit=50, offset=0)

    warm = max(5, min(20, samples // 10))
    figures = {
        "list_unit": timed(listing(lambda: unit_actor(rng.choice(units))), samples, warm),
        "list_largest_unit": timed(listing(lambda: unit_actor(largest_unit or units[0])),
                                   samples, warm),
        "list_supervisor": timed(listing(body_actor), samples, warm),
        # the workbench's ledger pages (one call each): deadline order, overdue, stalled
        "list_county_due": timed(listing(lambda: county, sort="due"), samples, warm),
        "list_supervisor_due": timed(listing(body_actor, sort="due"), samples, warm),
        "list_county_overdue": timed(listing(lambda: county, overdue=True, sort="due"),
                                     samples, warm),
        "list_county_stalled": timed(listing(lambda: county, stalled=True, sort="progress"),
                                     samples, warm),
        "rollup_supervisor": timed(lambda: handlers.rollup(uow(), campaign, actor=body_actor()),
                                   samples, warm),
        "rollup_county": timed(lambda: handlers.rollup(uow(), campaign, actor=county),
                               samples, warm),
    }
    figures["act_dispatch"] = measure_dispatch(engine, uow, campaign)
    t0 = time.perf_counter()
    verdict = handlers.verify_chain(uow())
    figures["verify_chain"] = {"seconds": round(time.perf_counter() - t0, 2),
                               "ok": verdict["ok"], "checked": verdict["checked"],
                               "problems_checked": verdict["problems_checked"],
                               "problem": verdict["problem"]}
    engine.dispose()
    return figures


def measure_dispatch(engine, uow, campaign, n: int = 50, warmup: int = 5) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, unit FROM problems WHERE state = 'registered' AND unit IS NOT NULL "
            "AND merged_into IS NULL ORDER BY registered_at DESC LIMIT :n"),
            {"n": n + warmup}).all()
    seconds = []
    for i, (pid, unit) in enumerate(rows):
        code = handlers.supervisor_code(campaign, unit)
        actor = (Actor("county", "county_office", "org_county_office")
                 if code == "org_county_office"
                 else Actor(f"supervisor-{code[4:]}", "supervisor", code))
        t0 = time.perf_counter()
        handlers.act(uow(), campaign, problem_id=pid, action="dispatch", actor=actor,
                     args={"respond_days": 5})
        if i >= min(warmup, len(rows) - 1):
            seconds.append(time.perf_counter() - t0)
    if not seconds:
        return {"p50_ms": None, "n": 0}
    return {"p50_ms": round(percentile(seconds, 0.5) * 1000, 2), "n": len(seconds)}


BUSY_LIMIT = 1.4   # cores: the client and one PostgreSQL backend take turns, about one core


class CpuMeter:
    """Average busy cores of the whole machine since creation (Linux /proc/stat), to notice
    another process competing with the measurements on a small machine."""

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def busy_cores(self) -> float | None:
        end = self._read()
        if self.start is None or end is None or end[0] == self.start[0]:
            return None
        total, idle = end[0] - self.start[0], end[1] - self.start[1]
        return round((total - idle) / total * _cores(), 2)


# ---------------------------------------------------------------------------------------------
# databases
class Database:
    """A throw-away store: a PostgreSQL database or a SQLite file, removed by drop()."""

    def __init__(self, backend: str, pg_url: str, folder: Path):
        self.backend = backend
        self.name = f"bench_ledger_{uuid.uuid4().hex[:10]}"
        if backend == "postgresql":
            self.admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = make_url(pg_url).set(database=self.name).render_as_string(
                hide_password=False)
        else:
            self.path = folder / f"{self.name}.db"
            self.url = f"sqlite:///{self.path}"

    def drop(self) -> None:
        if self.backend == "postgresql":
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)


def run_size(args, campaign, units, weights, n: int, folder: Path) -> dict:
    db = Database(args.backend, args.pg_url, folder)
    try:
        version = args.code
        upgrade(ROOT / "services" / "ledger", db.url)
        print(f"[{n:,} problems] loading into {db.name} (code {version}) ...", flush=True)
        loaded = load(db.url, campaign, units, weights, n=n,
                      entries_per_problem=args.entries_per_problem, seed=args.seed)
        print(f"[{n:,} problems] loaded {loaded['problems']:,} problems, "
              f"{loaded['entries']:,} history entries ({loaded['actions']:,} actions) in "
              f"{loaded['seconds']:.1f} s (generate+write {loaded['generate_and_write_s']:.1f} s,"
              f" analyze {loaded['analyze_s']:.1f} s)", flush=True)
        shape = describe(db.url)
        print(f"[{n:,} problems] states {shape['states']}; open {shape['open']:,}, overdue "
              f"{shape['overdue_open']:,}; unit sizes {shape['unit_sizes']}", flush=True)
        shape["rollup_checks"] = check_rollups(db.url, campaign)
        print(f"[{n:,} problems] roll-ups agree with the problems table "
              f"({shape['rollup_checks']} counts compared)", flush=True)
        print(f"[{n:,} problems] measuring ({args.samples} samples each) ...", flush=True)
        cpu = CpuMeter()
        figures = measure(db.url, campaign, units, shape["largest_unit"], samples=args.samples,
                          seed=args.seed)
        figures["machine_busy_cores"] = cpu.busy_cores()
        if (figures["machine_busy_cores"] or 0) > BUSY_LIMIT:
            print(f"[{n:,} problems] WARNING: {figures['machine_busy_cores']:.2f} of {_cores()} "
                  "cores were busy while measuring (this benchmark alone keeps about one busy): "
                  "something else ran, figures are inflated", flush=True)
        if not figures["verify_chain"]["ok"]:
            raise SystemExit(f"the loaded chain does not verify: {figures['verify_chain']}")
        return {"problems": n, "database": db.name, "code": version, "load": loaded,
                "shape": shape, "figures": figures}
    finally:
        db.drop()


# ---------------------------------------------------------------------------------------------
# 4./5. report
ROWS = [  # (label, key, field, unit)
    ("load (s)", "load", "seconds", "s"),
    ("history entries", "verify_chain", "checked", ""),
    ("problems' rows checked", "verify_chain", "problems_checked", ""),
    ("list, unit handler p50", "list_unit", "p50_ms", "ms"),
    ("list, unit handler p99", "list_unit", "p99_ms", "ms"),
    ("list, largest unit p50 (info)", "list_largest_unit", "p50_ms", "ms"),
    ("list, largest unit p99 (info)", "list_largest_unit", "p99_ms", "ms"),
    ("list, supervising body p50", "list_supervisor", "p50_ms", "ms"),
    ("list, supervising body p99", "list_supervisor", "p99_ms", "ms"),
    ("due order, county p99 (info)", "list_county_due", "p99_ms", "ms"),
    ("due order, system p99 (info)", "list_supervisor_due", "p99_ms", "ms"),
    ("overdue, county p99 (info)", "list_county_overdue", "p99_ms", "ms"),
    ("stalled, county p99 (info)", "list_county_stalled", "p99_ms", "ms"),
    ("rollup, supervising body p50", "rollup_supervisor", "p50_ms", "ms"),
    ("rollup, supervising body p99", "rollup_supervisor", "p99_ms", "ms"),
    ("rollup, county office p50", "rollup_county", "p50_ms", "ms"),
    ("rollup, county office p99", "rollup_county", "p99_ms", "ms"),
    ("verify chain, whole history (s)", "verify_chain", "seconds", "s"),
    ("act dispatch p50", "act_dispatch", "p50_ms", "ms"),
]


def value(run: dict, key: str, field: str):
    if key == "load":
        return run["load"][field]
    return run["figures"][key].get(field)


def targets(full: dict) -> dict:
    out = {}
    for key, limit in TARGETS_MS.items():
        got = full["figures"][key]["p99_ms"]
        out[f"{key}_p99"] = {"target": f"< {limit:.0f} ms", "value": got,
                             "pass": got is not None and got < limit}
    entries = full["figures"]["verify_chain"]["checked"]
    limit = VERIFY_TARGET_S_PER_MILLION * entries / 1_000_000
    got = full["figures"]["verify_chain"]["seconds"]
    out["verify_chain"] = {"target": f"< {limit:.1f} s ({VERIFY_TARGET_S_PER_MILLION:.0f} s per "
                                     f"1M entries)", "value": got, "pass": got < limit}
    return out


def print_table(args, runs: list[dict], verdicts: dict) -> None:
    tenth, full = runs
    target_of = {"list_unit": "list_unit_p99", "list_supervisor": "list_supervisor_p99",
                 "rollup_supervisor": "rollup_supervisor_p99",
                 "rollup_county": "rollup_county_p99"}
    print()
    print(f"Ledger benchmark · {args.backend} · code {runs[1]['code']} · "
          f"{args.units} units (Zipf s={ZIPF_S}) · "
          f"~{args.entries_per_problem:g} history entries/problem · {args.samples} samples · "
          f"{_cores()} cores")
    head = (f"{'':34}{'tenth':>14}{'full':>14}{'growth':>9}   {'target (full size)':<42}"
            f"{'verdict':<7}")
    print(head)
    print(f"{'problems':34}{tenth['problems']:>14,}{full['problems']:>14,}"
          f"{full['problems'] / tenth['problems']:>8.1f}x")
    print("-" * len(head))
    for label, key, field, unit in ROWS:
        a, b = value(tenth, key, field), value(full, key, field)
        growth = f"{b / a:>8.1f}x" if a and b else f"{'':>9}"
        fmt = (lambda v: f"{v:,}" if isinstance(v, int) else "-" if v is None
               else f"{v:,.2f}")
        verdict_key = (target_of.get(key) if field == "p99_ms"
                       else "verify_chain" if (key, field) == ("verify_chain", "seconds")
                       else None)
        tgt, verdict = "", ""
        if verdict_key:
            tgt = verdicts[verdict_key]["target"]
            verdict = "PASS" if verdicts[verdict_key]["pass"] else "FAIL"
        print(f"{label + (' (' + unit + ')' if unit == 'ms' else ''):34}{fmt(a):>14}"
              f"{fmt(b):>14}{growth}   {tgt:<42}{verdict:<7}")
    print()
    note = ("targets are set for 100,000 problems on PostgreSQL" if
            (args.backend, full["problems"]) != ("postgresql", 100_000) else
            "targets: list and roll-up p99 < 100 ms at 100,000 problems on PostgreSQL; "
            "verification of 1,000,000 entries, every problem's state bound, < 15 s")
    print(f"note: {note}; dispatch timed over n={full['figures']['act_dispatch']['n']}; "
          "machine busy cores while measuring: " + ", ".join(
              f"{r['problems']:,}: {r['figures']['machine_busy_cores']}" for r in runs)
          + f" of {_cores()} (about 1 is this benchmark alone)")


def code_version() -> str:
    """The commit measured, marked dirty when the ledger's code has uncommitted changes."""
    import subprocess

    def git(*argv) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "services/ledger", "kit", "contracts")
    return commit + ("+dirty" if dirty else "")


def _cores() -> int:
    return os.cpu_count() or 1


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--entries-per-problem", type=float, default=10.0)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2017)
    args = parser.parse_args(argv)
    args.code = code_version()   # the code imported a moment ago
    if args.units < 5:
        parser.error("--units must be at least 5 (one per unit type)")

    # A background job started without job control ignores SIGINT: let SIGTERM and SIGINT both
    # unwind through the finally clauses, so the throw-away databases are always dropped.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupted)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench_ledger_") as tmp:
        folder = Path(tmp)
        path, years = write_campaign(folder, args.units, rng)
        campaign = load_campaign(path)
        units = [o.code for o in campaign.organizations if o.type in UNIT_TYPES]
        weights = zipf_weights(len(units), rng)
        print(f"campaign {path.name}: {len(units)} units, dates moved by {years} years "
              f"({campaign.campaign.start} .. {campaign.campaign.end})", flush=True)
        runs = [run_size(args, campaign, units, weights, max(1, args.problems // 10), folder),
                run_size(args, campaign, units, weights, args.problems, folder)]
    verdicts = targets(runs[1])
    print_table(args, runs, verdicts)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"ledger-{stamp}.json"
    out.write_text(json.dumps({
        "when": datetime.now(timezone.utc).isoformat(), "backend": args.backend,
        "units": args.units, "entries_per_problem": args.entries_per_problem,
        "samples": args.samples, "seed": args.seed, "zipf_s": ZIPF_S, "cores": _cores(),
        "campaign_years_moved": years, "code": args.code, "runs": runs, "targets": verdicts,
        "growth": {f"{key}.{field}": (round(value(runs[1], key, field)
                                            / value(runs[0], key, field), 2)
                                      if value(runs[0], key, field) else None)
                   for _, key, field, _ in ROWS},
    }, ensure_ascii=False, indent=2, default=str))
    print(f"figures written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
