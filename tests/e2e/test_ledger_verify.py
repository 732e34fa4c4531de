"""Verification through the gateway over the real processes: each way of tampering with the
ledger's store behind its back is named by ``GET /api/v1/ledger/verify``; the head is a
signed checkpoint anyone can check offline."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.e2e.test_ledger_flow import Client, new_problem
from tests.support import tamper
from tests.support.stack import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


@pytest.fixture
def store(stack):
    """The ledger's SQLite store; whatever a test does to it is put back afterwards."""
    url = f"sqlite:///{stack.data_dir.resolve() / 'ledger.db'}"
    saved = tamper.snapshot(url)
    yield url
    tamper.restore(url, saved)


def verify(client, **published) -> dict:
    reply = client.call("ops", "GET", "/api/v1/ledger/verify", params=published)
    assert reply.status_code == 200, reply.text
    return reply.json()


def head(stack) -> dict:
    reply = httpx.get(f"{stack.base_url}/api/v1/ledger/head", timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def cli(stack, *args) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "services.ledger.verify", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "DATA_DIR": str(stack.data_dir)})
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module", autouse=True)
def ops_account(client, stack):
    client.tokens["ops"] = stack.token("ops", "dev-ops-2017!")


def test_a_state_edited_in_the_store_is_served_but_named_by_verify(stack, client, store):
    first, _ = new_problem(stack, client)
    second, _ = new_problem(stack, client)
    client.act("supervisor-edu", first, "dispatch", respond_days=5)
    assert verify(client)["ok"] is True
    tamper.close_as_rectified(store, first)
    tamper.close_as_rectified(store, second)
    shown = client.call("county", "GET", f"/api/v1/problems/{first}").json()
    assert (shown["state"], shown["outcome"]) == ("closed", "rectified")
    verdict = verify(client)
    assert verdict["ok"] is False
    assert {d["problem_id"] for d in verdict["disagreeing"]} == {first, second}
    assert "edited" in verdict["problem"]


def test_a_history_row_moved_to_another_problem_is_named_by_verify(stack, client, store):
    first, _ = new_problem(stack, client)
    second, _ = new_problem(stack, client)
    moved = client.act("supervisor-edu", first, "dispatch", respond_days=5)
    timeline = client.call("county", "GET", f"/api/v1/problems/{first}").json()["timeline"]
    seq = timeline[-1]["seq"]
    assert moved["version"] == 1 and timeline[-1]["action"] == "dispatch"
    tamper.move_entry(store, seq, second)
    verdict = verify(client)
    assert verdict["ok"] is False and [m["seq"] for m in verdict["misfiled"]] == [seq]
    assert verdict["misfiled"][0]["hashed_for"] == first
    assert verdict["problem"] == (f"entry {seq}: filed under problem {second} but hashed for "
                                  f"{first} (moved)")


def test_a_truncation_below_a_published_head_is_named_by_verify(stack, client, store):
    pid, _ = new_problem(stack, client)
    client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    published = head(stack)
    tamper.truncate(store, keep_through=published["seq"] - 1)
    verdict = verify(client, seq=published["seq"], head=published["hash"])
    assert verdict["ok"] is False and verdict["first_broken_seq"] == published["seq"]
    assert "truncated" in verdict["problem"]
    assert verdict["published"]["extended"] is False


def test_a_consistent_rewrite_after_a_published_head_is_named_by_verify(stack, client, store):
    pid, _ = new_problem(stack, client)
    client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    published = head(stack)
    client.act("supervisor-edu", pid, "suspend", reason="等待司法鉴定结果")
    dispatched = client.call("county", "GET", f"/api/v1/problems/{pid}").json()["timeline"][1]
    assert dispatched["action"] == "dispatch" and dispatched["seq"] <= published["seq"]
    tamper.rewrite_from(store, dispatched["seq"], "supervisor-edu", "county")
    assert verify(client)["ok"] is True          # consistent in itself
    verdict = verify(client, seq=published["seq"], head=published["hash"])
    assert verdict["ok"] is False and verdict["first_broken_seq"] == published["seq"]
    assert "rewritten after publication" in verdict["problem"]


def test_todays_chain_extends_a_head_published_earlier(stack, client):
    published = head(stack)
    pid, _ = new_problem(stack, client)
    verdict = verify(client, seq=published["seq"], head=published["hash"])
    assert verdict["ok"] is True
    assert verdict["published"] == {"seq": published["seq"], "hash": published["hash"],
                                    "extended": True}
    assert verdict["checked"] > published["seq"]


@pytest.mark.parametrize(("params", "field"), [
    ({"seq": "abc", "head": "0" * 64}, "seq"), ({"seq": "-1", "head": "0" * 64}, "seq"),
    ({"head": "0" * 64}, "seq"), ({"seq": "3"}, "head"), ({"seq": "3", "head": "A" * 64}, "head"),
    ({"seq": "3", "head": "0" * 63}, "head")])
def test_a_malformed_published_head_gets_a_bilingual_422(client, params, field):
    reply = client.call("ops", "GET", "/api/v1/ledger/verify", params=params)
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert detail["code"] == f"invalid_{field}" and detail["field"] == field
    assert detail["message"].startswith(field) and "应为" in detail["message_zh"]


def test_the_head_is_a_signed_checkpoint_anyone_can_check_offline(stack, tmp_path):
    checkpoint = head(stack)
    assert {"seq", "hash", "at", "signature", "key_id", "public_key"} <= set(checkpoint)
    saved = tmp_path / "checkpoint.json"
    saved.write_text(json.dumps(checkpoint))
    key = checkpoint["public_key"]
    code, answer = cli(stack, "--checkpoint", str(saved), "--public-key", key, "--offline")
    assert code == 0 and answer["seq"] == checkpoint["seq"]
    code, answer = cli(stack, "--checkpoint", str(saved), "--public-key", key)
    assert code == 0 and answer["ok"] and answer["published"]["extended"] is True
    saved.write_text(json.dumps({**checkpoint, "seq": checkpoint["seq"] - 1}))
    code, answer = cli(stack, "--checkpoint", str(saved), "--public-key", key, "--offline")
    assert code == 1 and "signature does not hold" in answer["problem"]
    other = base64.b64encode(bytes(range(32))).decode()
    saved.write_text(json.dumps(checkpoint))
    code, answer = cli(stack, "--checkpoint", str(saved), "--public-key", other, "--offline")
    assert code == 1 and answer["checkpoint_signature_ok"] is False
