"""The restore drill (恢复演练): a backup taken while clues keep coming is restored into empty
stores on a broker that lost everything; the ledger's chain verifies against the head
published before the backup, and every clue the client got a receipt for is in the
restored platform exactly once: re-driven by ``python -m infra.backup reconcile`` where the
backup was taken before it, never silently missing.

Run on SQLite (the default stores) and on PostgreSQL (a database per service, pg_dump).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from kit.settings import SERVICES
from tests.support.infra import Databases, broker_vhost, postgres_server
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

BEFORE = 30       # clues registered before the head is published
STORES = (*SERVICES, "gateway")


class Client:
    """A partner platform's client: submits keyed clues and keeps every receipt it got."""

    def __init__(self, base_url: str, receipts: Path):
        self.base_url, self.receipts = base_url, receipts
        self.accepted: dict[str, str] = {}   # clue id -> idempotency key
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, number: int) -> None:
        key = f"drill-{uuid.uuid4()}"
        body = {"channel": "public_report_platform", "title": f"恢复演练线索 {number}",
                "description": "备份进行时仍在提交的线索", "subject_unit": "org_gd_public_security"}
        with httpx.Client(base_url=self.base_url, timeout=15) as http:
            for _attempt in range(100):
                try:
                    reply = http.post("/api/v1/clues", json=body,
                                      headers={"Idempotency-Key": key})
                    if reply.status_code == 202:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            else:
                raise AssertionError(f"clue {number} was never accepted")
        answer = reply.json()
        with self._lock:
            self.accepted[answer["clue_id"]] = key
            with open(self.receipts, "a", encoding="utf-8") as f:
                f.write(json.dumps({"idempotency_key": key, "clue_id": answer["clue_id"],
                                    "body": body, "receipt_code": answer["receipt_code"]},
                                   ensure_ascii=False) + "\n")

    def keep_submitting(self) -> None:
        def run():
            number = 10_000
            while not self._stop.is_set():
                number += 1
                self.submit(number)
                time.sleep(0.02)
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def stack_env(stack: Stack) -> dict[str, str]:
    return {**stack.env, "PYTHONPATH": str(ROOT)}


def backup_cli(env: dict[str, str], *args: str) -> tuple[int, dict, str]:
    done = subprocess.run([sys.executable, "-m", "infra.backup", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def store_urls(stack: Stack) -> dict[str, str]:
    urls = {}
    for store in STORES:
        given = stack.env.get(f"{store.upper()}_DATABASE_URL")
        urls[store] = given or f"sqlite:///{(stack.data_dir / f'{store}.db').resolve()}"
    return urls


def rows(url: str, sql: str) -> list:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def wait_until(check, timeout=180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError("the platform did not get there in time")


def registered(urls: dict[str, str]) -> list[str]:
    return [r[0] for r in rows(urls["ledger"], "SELECT clue_id FROM problems")]


def head(stack: Stack) -> dict:
    reply = httpx.get(f"{stack.base_url}/api/v1/ledger/head", timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def tamper_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_urls(request):
    """Two sets of stores: the running platform's, and the empty ones the backup goes to."""
    if request.param == "sqlite":
        yield None, None
        return
    with postgres_server() as server:
        databases = Databases(server)
        try:
            yield ({s: databases.create(f"b{s[:3]}") for s in STORES},
                   {s: databases.create(f"r{s[:3]}") for s in STORES})
        finally:
            databases.drop_all()


def test_a_backup_taken_mid_flow_restores_the_chain_and_misses_no_accepted_clue(
        database_urls, tmp_path):
    before_urls, after_urls = database_urls
    backup = tmp_path / "backup"
    receipts = tmp_path / "receipts.jsonl"
    # ── the platform takes clues; a head is published; a backup is taken mid-flow ─────────
    with broker_vhost() as amqp:
        stack = Stack(amqp_uri=amqp, data_dir=tmp_path / "before", database_urls=before_urls)
        client = Client(stack.base_url, receipts)
        try:
            stack.start_all()
            for number in range(BEFORE):
                client.submit(number)
            urls = store_urls(stack)
            wait_until(lambda: len(registered(urls)) >= BEFORE)
            evidence = png(), stack.token("county", "dev-county-2017!")
            stored = upload(stack, *evidence)
            published = head(stack)
            client.keep_submitting()
            wait_until(lambda: len(client.accepted) >= BEFORE + 20)
            code, made, _ = backup_cli(stack_env(stack), "create", str(backup))
            assert code == 0, made
            at_backup = len(client.accepted)
            wait_until(lambda: len(client.accepted) >= at_backup + 20)
        finally:
            client.stop()
            stack.stop_all()
    accepted = dict(client.accepted)
    assert made["ledger_head"]["seq"] >= published["seq"]
    assert stored in {Path(f).name for f in backup_files(backup, "blobs")}
    print(f"\nbackup: {made['files']} files, {made['bytes']} bytes, {made['stores']}; "
          f"{len(accepted)} clues accepted, {at_backup} by the backup's end")

    # ── a tampered backup is refused, bilingually, and changes nothing ────────────────────
    with broker_vhost() as amqp:
        stack = Stack(amqp_uri=amqp, data_dir=tmp_path / "after", database_urls=after_urls)
        env = stack_env(stack)
        tampered = tmp_path / "tampered"
        shutil.copytree(backup, tampered)
        tamper_one_byte(tampered / made_file(made, "ledger"))
        code, refused, message = backup_cli(env, "restore", str(tampered))
        assert code == 1 and refused["ok"] is False
        assert "does not match its manifest" in message and "备份与清单不符" in message
        targets = store_urls(stack)
        assert not any(stores_tables(targets).values()), "a refused restore changed a store"
        assert not (stack.data_dir / "blobs").exists()

        # ── restored into empty stores; refused the second time (no longer empty) ────────
        code, restored, _ = backup_cli(env, "restore", str(backup))
        assert code == 0, restored
        code, again, message = backup_cli(env, "restore", str(backup))
        assert code == 1 and "目标存储非空" in message

        # ── the restored chain holds the head published before the backup, unchanged ─────
        offline = subprocess.run(
            [sys.executable, "-m", "services.ledger.verify", "--seq", str(published["seq"]),
             "--head", published["hash"]], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120)
        verdict = json.loads(offline.stdout)
        assert offline.returncode == 0 and verdict["ok"] is True, verdict
        assert verdict["published"]["extended"] is True
        restored_head = rows(store_urls(stack)["ledger"], "SELECT seq, hash FROM chain_head")
        assert [tuple(r) for r in restored_head] == [(made["ledger_head"]["seq"],
                                                      made["ledger_head"]["hash"])]

        # ── started again; reconcile re-drives what the backup missed ────────────────────
        try:
            stack.start_all()
            answers = tmp_path / "answers.jsonl"
            code, report, _ = backup_cli(env, "reconcile", "--receipts", str(receipts),
                                         "--redrive", stack.base_url, "--answers", str(answers))
            assert code == 0, report
            print(f"reconcile: {report['receipts']} receipts, {len(report['missing'])} "
                  f"missing and re-driven, requeued {report['requeued']}, "
                  f"{report['receipt_codes_changed']} receipt code(s) changed")
            assert report["missing"], "the drill took no clue after the backup"
            assert all(r["status"] == 202 and r["same_clue_id"] for r in report["redriven"])
            new_codes = [json.loads(line) for line in answers.read_text().splitlines()]
            assert sorted(a["clue_id"] for a in new_codes) == sorted(report["missing"])
            assert oct(answers.stat().st_mode & 0o777) == "0o600"
            assert all(code_of(a) not in json.dumps(report) for a in new_codes)
            followed = httpx.post(f"{stack.base_url}/api/v1/receipts/lookup", timeout=10,
                                  json={"receipt_code": new_codes[0]["receipt_code"]})
            assert followed.status_code == 200, followed.text
            restored_urls = store_urls(stack)
            wait_until(lambda: set(registered(restored_urls)) >= set(accepted))
            clues = registered(restored_urls)
            assert len(clues) == len(set(clues)) == len(accepted)
            intake = rows(restored_urls["intake"], "SELECT id, status FROM clues")
            assert sorted(r[0] for r in intake) == sorted(accepted)
            wait_until(lambda: all(r[1] == "registered" for r in rows(
                restored_urls["intake"], "SELECT id, status FROM clues")))
            # a second reconcile finds nothing left to do
            code, second, _ = backup_cli(env, "reconcile", "--receipts", str(receipts))
            assert code == 0 and second["missing"] == []
            county = stack.token("county", "dev-county-2017!")
            again = httpx.get(f"{stack.base_url}/api/v1/files/{stored}", timeout=30,
                              params={"copy": "original"},
                              headers={"Authorization": f"Bearer {county}"})
            assert again.status_code == 200 and again.content == evidence[0]
            verdict = ops_verify(stack, published)
            assert verdict["ok"] is True and verdict["published"]["extended"] is True, verdict
        finally:
            stack.stop_all()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(out, "PNG")
    return out.getvalue()


def upload(stack: Stack, content: bytes, token: str) -> str:
    reply = httpx.post(f"{stack.base_url}/api/v1/files", content=content, timeout=60,
                       headers={"X-Filename": "evidence.png",
                                "Authorization": f"Bearer {token}"})
    assert reply.status_code == 201, reply.text
    digest = hashlib.sha256(content).hexdigest()
    assert digest in reply.text
    return digest


def backup_files(backup: Path, store: str) -> list[str]:
    manifest = json.loads((backup / "manifest.json").read_text())
    return [f["path"] for f in manifest["files"] if f["store"] == store]


def code_of(answer: dict) -> str:
    return answer["receipt_code"]


def made_file(made: dict, store: str) -> str:
    return f"{store}.db" if made["stores"][store] == "sqlite" else f"{store}.dump"


def stores_tables(urls: dict[str, str]) -> dict[str, int]:
    from infra.backup.stores import tables_in

    return {store: len(tables_in(url)) for store, url in urls.items()}


def ops_verify(stack: Stack, published: dict) -> dict:
    token = stack.token("ops", "dev-ops-2017!")
    reply = httpx.get(f"{stack.base_url}/api/v1/ledger/verify", timeout=180,  # gateway: 120
                      params={"seq": published["seq"], "head": published["hash"]},
                      headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    return reply.json()
