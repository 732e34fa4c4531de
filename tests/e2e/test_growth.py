"""Growth (issue 13): ``make run`` takes a worker count per service ({SERVICE}_WORKERS), and
two processes of each service compete on the same queues without double effects, under
load, on PostgreSQL: every accepted clue is one problem, every dispatch one notice per
handler, and both processes of the ledger and of notify consume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from kit.settings import SERVICES
from services.notify.adapters.orm import notices
from tests.e2e.test_ledger_flow import PASSWORDS
from tests.support.infra import broker_vhost
from tests.support.notify_sinks import wait_for
from tests.support.stack import ROOT, free_port

pytestmark = pytest.mark.e2e
CLUES, DISPATCHES, WORKERS = 600, 40, 2
SCHOOL = "org_sch_yanshan_high"


def children(pid: int) -> dict[int, str]:
    """The processes ``make run`` started: pid → command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            if int(stat[1]) == pid:
                found[int(entry)] = open(f"/proc/{entry}/cmdline").read().replace("\0", " ")
        except OSError:
            continue
    return found


def cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def consumers(vhost: str, queue: str) -> int:
    out = subprocess.run(["rabbitmqctl", "-q", "list_consumers", "-p", vhost, "queue_name"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return sum(1 for line in out.splitlines() if line.strip() == queue)


@pytest.fixture(scope="module")
def running(pg_databases, tmp_path_factory):
    """``python -m infra.run`` (what ``make run`` execs) with two workers a service."""
    data = tmp_path_factory.mktemp("growth")
    urls = {name: pg_databases.create(name) for name in (*SERVICES, "gateway")}
    port = free_port()
    with broker_vhost() as amqp:
        env = {**os.environ, "AMQP_URI": amqp, "DATA_DIR": str(data), "GATEWAY_PORT": str(port),
               "PYTHONPATH": str(ROOT), "ENVIRONMENT": "development", "DEMO_ACCOUNTS": "1",
               "LOGIN_RATE_PER_CLIENT": "100000/minute",
               **{f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()},
               **{f"{s.upper()}_WORKERS": str(WORKERS) for s in SERVICES}}
        log = open(data / "run.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "infra.run"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: b"Ready." in (data / "run.log").read_bytes(), timeout=120)
            yield {"base": f"http://127.0.0.1:{port}", "proc": proc, "urls": urls,
                   "vhost": unquote(urlsplit(amqp).path[1:]), "log": data / "run.log"}
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
            log.close()


def test_two_workers_of_each_service_compete_without_double_effects(running):
    base = running["base"]
    procs = children(running["proc"].pid)
    for name in SERVICES:  # make run started two of each, and says so in its output
        assert sum(f"kit.run {name}" in cmd for cmd in procs.values()) == WORKERS, procs
    assert b"ledger-2 |" in running["log"].read_bytes()
    assert consumers(running["vhost"], "evt-intake-clue_accepted--ledger.on_clue_accepted") == 2
    assert consumers(running["vhost"], "evt-ledger-problem.any--notify.on_problem_transitioned") == 2
    workers = {pid: cmd.split("kit.run ")[1].strip() for pid, cmd in procs.items()
               if "kit.run " in cmd}
    before = {pid: cpu(pid) for pid in workers}

    def clue(i):
        reply = httpx.post(f"{base}/api/v1/clues", timeout=60, headers={
            "Idempotency-Key": f"growth-{i}"}, json={
            "channel": "public_report_platform", "title": f"学校乱收费 {i}",
            "description": f"盐山中学违规收取资料费,家长多次反映 {i}", "subject_unit": SCHOOL,
            "category": "c7_livelihood_services", "kind": "misconduct"})
        assert reply.status_code == 202, reply.text
        return reply.json()["clue_id"]

    with ThreadPoolExecutor(16) as pool:
        accepted = set(pool.map(clue, range(CLUES)))
    assert len(accepted) == CLUES
    ledger = create_engine(running["urls"]["ledger"])

    def registered():
        with ledger.connect() as conn:
            return conn.execute(text("SELECT clue_id, count(*) FROM problems GROUP BY clue_id")
                                ).all()
    wait_for(lambda: len(registered()) >= CLUES, timeout=180)
    rows = registered()
    assert {cid for cid, _ in rows} == accepted and all(n == 1 for _, n in rows)

    token = httpx.post(f"{base}/api/v1/auth/token", json={
        "username": "county", "password": PASSWORDS["county"]}).json()["access_token"]
    with ledger.connect() as conn:
        chosen = list(conn.execute(text("SELECT id FROM problems ORDER BY id LIMIT :n"),
                                   {"n": DISPATCHES}).scalars())

    def dispatch(pid):
        reply = httpx.post(f"{base}/api/v1/problems/{pid}/dispatch", timeout=60,
                           headers={"Authorization": f"Bearer {token}"}, json={"respond_days": 5})
        assert reply.status_code == 200, reply.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(dispatch, chosen))
    notify = create_engine(running["urls"]["notify"])

    def dispatch_notices():
        with notify.connect() as conn:
            return conn.execute(select(notices.c.problem_id, notices.c.account_id,
                                       func.count()).where(notices.c.name == "dispatched")
                                .group_by(notices.c.problem_id, notices.c.account_id)).all()
    with notify.connect() as conn:
        handlers = set(conn.execute(text(
            "SELECT account_id FROM directory WHERE org_code = :org AND role = 'unit_handler' "
            "AND active"), {"org": SCHOOL}).scalars())
    assert handlers
    wait_for(lambda: len(dispatch_notices()) >= DISPATCHES * len(handlers), timeout=120)
    time.sleep(2)  # anything doubled would have arrived by now
    found = dispatch_notices()
    assert {(p, a) for p, a, _ in found} == {(p, a) for p in chosen for a in handlers}
    assert all(n == 1 for _, _, n in found)
    with ledger.connect() as conn:  # each dispatch applied once in the ledger's history
        assert conn.execute(text(
            "SELECT count(*) FROM history WHERE action = 'dispatch'")).scalar() == DISPATCHES

    used = {pid: cpu(pid) - t for pid, t in before.items()}
    for name in ("ledger", "notify"):  # both processes shared the work
        mine = [used[p] for p, n in workers.items() if n == name]
        assert len(mine) == 2 and min(mine) >= 0.15 * sum(mine), (name, mine)
    ledger.dispose()
    notify.dispose()
